# pfmsync developer commands. `make test` is the one CI runs.
GO ?= go

.PHONY: run test test-run sandbox lint fmt bench bench-reporting generate build

## run: the whole system against the sandbox institution, until Ctrl-C
##      (RESET=1 drops the demo database and its keys first; ARGS='…' passes
##      demo flags, see `go run ./cmd/demo -h`)
run:
	RESET=$(RESET) scripts/with-postgres.sh scripts/run.sh $(ARGS)

## test-run: check the run command end to end (start, summary, views, Ctrl-C)
test-run:
	scripts/test-run.sh

## test: vet and run every test with the race detector against real PostgreSQL
test:
	scripts/with-postgres.sh scripts/test.sh

## sandbox: run the sandbox institution on 127.0.0.1:8080 (docs/sandbox.md)
sandbox:
	$(GO) run ./cmd/sandbox

## lint: gofmt, go vet and staticcheck
lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## fmt: format the code
fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: run the benchmarks (see docs/benchmarks.md)
bench:
	scripts/with-postgres.sh $(GO) test -run '^$$' -bench . -benchmem ./...

## bench-reporting: the reporting views at 5,000 app users (docs/benchmarks.md,
## "Dashboard at scale"); e.g. make bench-reporting ARGS='-users 1000 -regenerate'
bench-reporting:
	scripts/with-postgres.sh $(GO) run ./tools/benchreporting $(ARGS)

## generate: regenerate River's migration files, docs/schema.sql and the package graph in docs/architecture.md
generate:
	$(GO) generate ./migrations
	scripts/with-postgres.sh $(GO) run ./tools/schemadump -out docs/schema.sql
	$(GO) run ./tools/archcheck -write

## build: build every binary into ./bin
build:
	$(GO) build -o bin/ ./cmd/...
