#!/usr/bin/env bash
# Builds and runs the demo (cmd/demo): the sandbox institution, the link
# server, the worker (and the reference dashboard when the tree has it), a
# few demo users linked through the real consent flow, a summary, then
# running until Ctrl-C. The demo checks its ports before building the rest.
# RESET=1 drops the demo database and its keys first.
# Run it through scripts/with-postgres.sh (as `make run` does).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building the demo into bin/ (the first build takes a few minutes)"
go build -o bin/ ./cmd/demo
args=(-bin bin -build)
if [ -n "${RESET:-}" ] && [ "${RESET}" != 0 ]; then args+=(-reset); fi
exec bin/demo "${args[@]}" "$@"
