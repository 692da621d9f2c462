#!/usr/bin/env bash
# Every test: generated files (River migrations, docs/schema.sql, the package
# graph in docs/architecture.md) are current, the import rules hold, vet is
# clean, and the whole suite passes with the race detector against real
# PostgreSQL (see with-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== generated River migrations are current"
go run ./tools/rivermigrations -dir migrations -check
echo "== docs/schema.sql is current"
go run ./tools/schemadump -out docs/schema.sql -check
echo "== import rules and the documented package graph"
go run ./tools/archcheck
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./... "$@"
