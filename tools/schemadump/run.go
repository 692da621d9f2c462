package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// defaultURL is the administrative database used when TEST_DATABASE_URL is unset.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres"

// regenerate is the command that rewrites the file, shown when the check fails.
const regenerate = "make generate (or: scripts/with-postgres.sh go run ./tools/schemadump -out docs/schema.sql)"

// run is main without the exit, for tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schemadump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "docs/schema.sql", "file to write or check")
	check := fs.Bool("check", false, "only verify that the file matches the migrations")
	pgDump := fs.String("pg-dump", "", "pg_dump to use (default: the one matching the server's major version)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	adminURL := getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = defaultURL
	}

	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	schema, err := dumpSchema(ctx, adminURL, *pgDump, nil)
	if err != nil {
		return err
	}

	if !*check {
		if err := os.WriteFile(*out, []byte(schema), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
		fmt.Fprintln(stdout, "wrote", *out)
		return nil
	}
	got, err := os.ReadFile(*out)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing; run %s", *out, regenerate)
	} else if err != nil {
		return fmt.Errorf("read %s: %w", *out, err)
	}
	if bytes.Equal(got, []byte(schema)) {
		fmt.Fprintln(stdout, *out, "matches the migrations")
		return nil
	}
	return fmt.Errorf("%s differs from the schema the migrations build (%s); run %s and review the diff (git diff %s)",
		*out, firstDifference(string(got), schema), regenerate, *out)
}

// firstDifference describes the first line where have and want differ.
func firstDifference(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(h), len(w)); i++ {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl || i >= len(h) || i >= len(w) {
			return fmt.Sprintf("line %d is %q, the migrations give %q", i+1, hl, wl)
		}
	}
	return "identical lines"
}
