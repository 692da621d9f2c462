#!/usr/bin/env bash
# Builds pfmsync's binaries and runs the demo (cmd/demo): the sandbox
# institution, the link server and the worker, a few demo users linked
# through the real consent flow, a summary, then running until Ctrl-C.
# Run it through scripts/with-postgres.sh (as `make run` does).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building binaries into bin/"
go build -o bin/ ./cmd/sandbox ./cmd/linkserver ./cmd/worker ./cmd/demo
exec bin/demo -bin bin "$@"
