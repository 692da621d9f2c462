package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func adminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

func TestNormalizeDropsWhatVariesBetweenReleases(t *testing.T) {
	dump := `--
-- PostgreSQL database dump
--

\restrict TvukurUMDdeBjCUQ58rKaMw

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
SET row_security = off;

CREATE SCHEMA reporting;



SET default_table_access_method = heap;

CREATE TABLE public.links (
    id bigint NOT NULL
);

ALTER DEFAULT PRIVILEGES FOR ROLE migrator IN SCHEMA reporting GRANT SELECT ON TABLES  TO pfm_reader;

\unrestrict TvukurUMDdeBjCUQ58rKaMw
`
	want := `--
-- PostgreSQL database dump
--

CREATE SCHEMA reporting;

CREATE TABLE public.links (
    id bigint NOT NULL
);

ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES  TO pfm_reader;
`
	if got := normalize(dump); got != want {
		t.Fatalf("normalize:\n%s\nwant:\n%s", got, want)
	}
}

// TestDumpSchema builds the schema from the migrations on the real server
// and checks that the dump holds each kind of object, and that the scratch
// database is gone afterwards.
func TestDumpSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var scratch string
	schema, err := dumpSchema(ctx, adminURL(), "", func(name string) { scratch = name })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-- pfmsync schema after migration ",
		"CREATE TABLE public.links (",
		"CREATE TABLE public.river_job (",
		"CREATE VIEW reporting.accounts AS",
		"CREATE FUNCTION reporting.transaction_changes_since(",
		"CREATE UNIQUE INDEX ",
		"COMMENT ON SCHEMA reporting IS ",
		"GRANT SELECT ON TABLE reporting.accounts TO pfm_reader;",
		"REVOKE ALL ON FUNCTION reporting.transaction_changes_since(",
		"ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES  TO pfm_reader;",
	} {
		if !strings.Contains(schema, want) {
			t.Errorf("the dump lacks %q", want)
		}
	}
	for _, never := range []string{"\\restrict", "\nSET ", "Dumped by pg_dump", "FOR ROLE", "\n\n\n"} {
		if strings.Contains(schema, never) {
			t.Errorf("the dump still holds %q", never)
		}
	}

	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var left bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", scratch).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if scratch == "" || left {
		t.Fatalf("scratch database %q was not dropped", scratch)
	}
}

// TestCheckFailsOnAStaleFile writes the file, checks it, edits it, and
// expects the check to name the difference and the regenerate command.
func TestCheckFailsOnAStaleFile(t *testing.T) {
	ctx := context.Background()
	getenv := func(k string) string {
		if k == "TEST_DATABASE_URL" {
			return adminURL()
		}
		return ""
	}
	out := filepath.Join(t.TempDir(), "schema.sql")
	var stdout, stderr bytes.Buffer

	err := run(ctx, []string{"-out", out, "-check"}, getenv, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "is missing; run make generate") {
		t.Fatalf("a missing file should fail with the regenerate command, got %v", err)
	}
	if err := run(ctx, []string{"-out", out}, getenv, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"-out", out, "-check"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("a freshly written file fails the check: %v", err)
	}

	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), "CREATE TABLE public.links (", "CREATE TABLE public.links_renamed (", 1)
	if err := os.WriteFile(out, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"-out", out, "-check"}, getenv, &stdout, &stderr)
	if err == nil {
		t.Fatal("an edited file passed the check")
	}
	for _, want := range []string{`"CREATE TABLE public.links_renamed ("`, `the migrations give "CREATE TABLE public.links ("`, "run make generate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check error %q lacks %q", err, want)
		}
	}
}

func TestFindPGDumpRefusesAnotherMajorVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var num int
	if err := admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		t.Fatal(err)
	}
	found, err := findPGDump("", num/10000)
	if err != nil {
		t.Fatalf("no pg_dump for the test server: %v", err)
	}
	if v, err := pgDumpMajor(found); err != nil || v != num/10000 {
		t.Fatalf("%s is version %d (%v), the server %d", found, v, err, num/10000)
	}
	_, err = findPGDump(found, num/10000+1)
	if err == nil || !strings.Contains(err.Error(), "install postgresql-client-") {
		t.Fatalf("a pg_dump of another major version was accepted: %v", err)
	}
}
