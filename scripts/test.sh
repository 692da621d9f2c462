#!/usr/bin/env bash
# Every test: generated files are current, vet is clean, and the whole suite
# passes with the race detector against real PostgreSQL (see with-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== generated River migrations are current"
go run ./tools/rivermigrations -dir migrations -check
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./... "$@"
