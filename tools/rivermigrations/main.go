// Command rivermigrations writes River's schema migrations into pfmsync's
// migrations folder as golang-migrate files, one file pair per River
// migration version, so that golang-migrate alone owns the schema.
//
// Each generated up file is River's SQL with the schema template removed
// (objects land in the search_path schema) followed by the row River's own
// migrator would write to river_migration, so River's tooling still sees the
// true version. Versions already present are checked byte for byte; new River
// versions get the next free golang-migrate number.
//
//	go run ./tools/rivermigrations -dir migrations          # write missing files
//	go run ./tools/rivermigrations -dir migrations -check   # fail if any file differs
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rivermigrations:", err)
		os.Exit(1)
	}
}

// run is main without the exit, for tests.
func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return generate(opts, stdout)
}
