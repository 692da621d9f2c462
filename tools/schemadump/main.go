// Command schemadump writes docs/schema.sql: the database schema exactly as
// pfmsync's migrations leave it, for reading and reviewing.
//
// It creates a scratch database next to the one in TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/postgres), applies every
// migration with golang-migrate (store.Migrate), dumps the schema with the
// pg_dump of the server's major version (--schema-only --no-owner), drops the
// scratch database, and normalizes the dump so it is stable across pg_dump
// minor releases and connecting roles. River's tables are included: the
// migrations own them too.
//
//	go run ./tools/schemadump -out docs/schema.sql          # write (make generate)
//	go run ./tools/schemadump -out docs/schema.sql -check   # fail if it differs (make test)
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "schemadump:", err)
		os.Exit(1)
	}
}
