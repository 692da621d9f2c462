// Package testdb gives each test its own migrated Postgres database.
//
// The first call in a test binary builds a template database holding every
// migration (named after a hash of the migration files, built once per
// schema under an advisory lock so parallel test binaries cooperate); each
// test then gets a fresh CREATE DATABASE … TEMPLATE clone, dropped when the
// test ends. Tests read TEST_DATABASE_URL, defaulting to
// postgres://postgres@127.0.0.1:5432/postgres. A database that cannot be
// reached fails the test: it is never skipped.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/migrations"
)

// EnvURL names the variable holding the administrative connection URL.
const EnvURL = "TEST_DATABASE_URL"

// DefaultURL is used when EnvURL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres"

const (
	templatePrefix = "pfmsync_tpl_"
	// keptTemplates is how many templates of other schemas survive a build.
	keptTemplates = 8
	testPrefix    = "pfmsync_test_"
)

// AdminURL returns the administrative connection URL tests use.
func AdminURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Prepare, when set, runs on every pool New returns, before the test uses
// it: a test package sets it in an init function to run its tests against
// a variant of the schema's state (for example with test-only triggers).
var Prepare func(tb testing.TB, pool *pgxpool.Pool)

// New returns a pool connected to a fresh migrated database of the test's own.
func New(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := NewURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		tb.Fatalf("testdb: parse URL: %v", err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("testdb: connect: %v", err)
	}
	tb.Cleanup(pool.Close) // runs before the database is dropped
	if Prepare != nil {
		Prepare(tb, pool)
	}
	return pool
}

// NewURL creates a fresh migrated database for the test and returns its
// connection URL, for tests that hand a URL to a process or a component that
// builds its own pool. The database is dropped when the test ends.
func NewURL(tb testing.TB) string {
	tb.Helper()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate() })
	if templateErr != nil {
		tb.Fatalf("testdb: %v", templateErr)
	}
	url, err := tryCreateDatabase(tb, templateName)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		// Another checkout's test run dropped this template as stale
		// (it keeps only the newest few): build it again and retry once.
		if _, err = ensureTemplate(); err == nil {
			url, err = tryCreateDatabase(tb, templateName)
		}
	}
	if err != nil {
		tb.Fatalf("testdb: create database from %s: %v", templateName, err)
	}
	return url
}

// NewEmptyURL creates a fresh database with no schema at all (for migration
// tests) and returns its URL. It is dropped when the test ends.
func NewEmptyURL(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, "template0")
}

func createDatabase(tb testing.TB, template string) string {
	tb.Helper()
	url, err := tryCreateDatabase(tb, template)
	if err != nil {
		tb.Fatalf("testdb: create database from %s: %v", template, err)
	}
	return url
}

// tryCreateDatabase creates a database from template, dropped when the test
// ends, and returns its URL.
func tryCreateDatabase(tb testing.TB, template string) (string, error) {
	tb.Helper()
	name := testPrefix + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", unreachable(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize()); err != nil {
		return "", err
	}
	tb.Cleanup(func() { dropDatabase(tb, name) })
	return withDatabase(AdminURL(), name), nil
}

func dropDatabase(tb testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Errorf("testdb: drop %s: %v", name, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("testdb: drop %s: %v", name, err)
	}
}

// ensureTemplate builds the migrated template for the current migration
// files unless it exists, and returns its name.
func ensureTemplate() (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := templatePrefix + hash
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", unreachable(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))

	// One builder at a time across every test binary.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext('pfmsync_testdb_template'))"); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('pfmsync_testdb_template'))") //nolint:errcheck // released on close anyway

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return name, nil
	}

	// Templates of older schemas are dropped, but the newest few are kept:
	// checkouts of several branches (each with its own schema) may be testing
	// against the same server at once, and dropping a template another test
	// binary is about to clone would fail its tests.
	rows, err := admin.Query(ctx, `
		SELECT datname FROM pg_database
		WHERE datname LIKE $1 AND datname NOT LIKE '%\_building'
		ORDER BY oid DESC OFFSET $2`, templatePrefix+"%", keptTemplates)
	if err != nil {
		return "", fmt.Errorf("list old templates: %w", err)
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("list old templates: %w", err)
	}
	for _, old := range stale {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{old}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop old template %s: %w", old, err)
		}
	}

	// Build under a temporary name and rename when complete, so a crash
	// mid-build never leaves a half-migrated template behind.
	building := name + "_building"
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	pool, err := pgxpool.New(ctx, withDatabase(AdminURL(), building))
	if err != nil {
		return "", fmt.Errorf("connect to template: %w", err)
	}
	_, migErr := store.Migrate(pool, nil)
	pool.Close()
	if migErr != nil {
		return "", fmt.Errorf("migrate template: %w", migErr)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

// migrationsHash names the schema: it changes whenever a migration does.
func migrationsHash() (string, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return "", fmt.Errorf("read migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", fmt.Errorf("read migration %s: %w", n, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func unreachable(err error) error {
	return fmt.Errorf("postgres is not reachable at %s (%v): start it or set %s; `make test` finds or starts one", config.RedactURL(AdminURL()), err, EnvURL)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
