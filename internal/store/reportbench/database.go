package reportbench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/pfmsync/pfmsync/migrations"
)

// Scale is the size of the generated datastore.
type Scale struct {
	Users     int   // app users
	TxPerUser int   // transactions per app user (approximate: ±1%)
	Seed      int64 // makes the data reproducible
}

func (s Scale) validate() error {
	if s.Users < 10 || s.Users > 1_000_000 {
		return fmt.Errorf("users must be between 10 and 1000000, got %d", s.Users)
	}
	if s.TxPerUser < 100 || s.TxPerUser > 100_000 {
		return fmt.Errorf("transactions per user must be between 100 and 100000, got %d", s.TxPerUser)
	}
	return nil
}

// DatabaseURL returns adminURL with its database replaced by name.
func DatabaseURL(adminURL, name string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// withUser returns dbURL with its user replaced (no password: the reader
// logs in the way the cluster's pg_hba.conf allows for it).
func withUser(dbURL, user string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.User = url.User(user)
	return u.String(), nil
}

// EnsureDatabase creates the database name on the cluster behind adminURL
// unless it exists.
func EnsureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops the database name (to regenerate from scratch).
func DropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// MigrateTo moves the schema to version (0: the latest shipped), up or
// down, with golang-migrate, and returns the version reached and whether
// it moved.
func MigrateTo(pool *pgxpool.Pool, version uint, logger *slog.Logger) (uint, bool, error) {
	if version == 0 {
		v, err := latestVersion(migrations.FS)
		if err != nil {
			return 0, false, err
		}
		version = v
	}
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return 0, false, fmt.Errorf("open embedded migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		_ = db.Close()
		return 0, false, fmt.Errorf("prepare migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		_ = driver.Close()
		return 0, false, fmt.Errorf("prepare migrations: %w", err)
	}
	defer m.Close()
	from, _, err := m.Version()
	if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	if err := m.Migrate(version); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return 0, false, fmt.Errorf("migrate to version %d: %w", version, err)
	}
	if from == version {
		return version, false, nil
	}
	logger.Info("benchmark database migrated", "from_version", from, "to_version", version)
	return version, true, nil
}

// dataSchemaHash hashes the migration files up to version: data generated
// at one version is reused only while those files are unchanged (later
// migrations, such as replaced views, apply on top of it).
func dataSchemaHash(version uint) (string, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n, ok := migrationNumber(e.Name())
		if ok && n <= version && strings.HasSuffix(e.Name(), ".up.sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", fmt.Errorf("read migration %s: %w", n, err)
		}
		fmt.Fprintf(h, "%s\n%d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func latestVersion(files fs.FS) (uint, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return 0, fmt.Errorf("list migrations: %w", err)
	}
	var latest uint
	for _, e := range entries {
		if n, ok := migrationNumber(e.Name()); ok && n > latest {
			latest = n
		}
	}
	if latest == 0 {
		return 0, errors.New("no migrations found")
	}
	return latest, nil
}

func migrationNumber(name string) (uint, bool) {
	prefix, _, ok := strings.Cut(name, "_")
	if !ok || !strings.HasSuffix(name, ".sql") {
		return 0, false
	}
	n, err := strconv.ParseUint(prefix, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint(n), true
}

// meta is what a generated datastore records about itself.
type meta struct {
	Scale
	Version    uint
	SchemaHash string
}

const metaDDL = `CREATE TABLE IF NOT EXISTS bench_reporting_meta (
    users          integer NOT NULL,
    tx_per_user    integer NOT NULL,
    seed           bigint NOT NULL,
    data_version   integer NOT NULL,
    schema_hash    text NOT NULL,
    transactions   bigint NOT NULL,
    generated_at   timestamptz NOT NULL DEFAULT now()
)`

// readMeta returns the recorded generation, or false when there is none.
func readMeta(ctx context.Context, pool *pgxpool.Pool) (meta, bool, error) {
	var m meta
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('public.bench_reporting_meta') IS NOT NULL`).Scan(&exists); err != nil {
		return m, false, fmt.Errorf("look for generation record: %w", err)
	}
	if !exists {
		return m, false, nil
	}
	var version int
	err := pool.QueryRow(ctx, `SELECT users, tx_per_user, seed, data_version, schema_hash FROM bench_reporting_meta`).
		Scan(&m.Users, &m.TxPerUser, &m.Seed, &version, &m.SchemaHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read generation record: %w", err)
	}
	m.Version = uint(version)
	return m, true, nil
}

func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "database"
	}
	return u.Redacted()
}
