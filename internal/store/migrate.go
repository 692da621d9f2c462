package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/pfmsync/pfmsync/migrations"
)

// ErrDirtySchema means an earlier migration failed midway. pfmsync refuses to
// start rather than guess: an operator must repair the schema by hand and
// then mark the version clean.
var ErrDirtySchema = errors.New("database schema is dirty")

// ErrSchemaTooNew means the database was migrated by a newer pfmsync than
// the one running.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// migrateLockTimeout bounds the wait for another process's migration run.
const migrateLockTimeout = 5 * time.Minute

// MigrationResult says what Migrate did.
type MigrationResult struct {
	From, To uint // schema versions before and after; 0 means empty
}

// Migrate applies every pending migration to the database behind pool, under
// golang-migrate's advisory lock, so that several processes starting at once
// migrate exactly once. A dirty schema stops it with ErrDirtySchema and a
// message saying how to repair; it never forces a version by itself.
func Migrate(pool *pgxpool.Pool, logger *slog.Logger) (MigrationResult, error) {
	return MigrateFS(pool, migrations.FS, logger)
}

// LatestMigration returns the highest migration version pfmsync ships.
func LatestMigration() (uint, error) { return latestVersion(migrations.FS) }

// MigrateFS is Migrate with another set of migration files (tests use it to
// exercise failure handling).
func MigrateFS(pool *pgxpool.Pool, files fs.FS, logger *slog.Logger) (MigrationResult, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	latest, err := latestVersion(files)
	if err != nil {
		return MigrationResult{}, err
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		return MigrationResult{}, fmt.Errorf("open embedded migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool) // closing it leaves the pool open
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		_ = db.Close()
		return MigrationResult{}, fmt.Errorf("prepare migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		_ = driver.Close()
		return MigrationResult{}, fmt.Errorf("prepare migrations: %w", err)
	}
	defer m.Close()
	m.LockTimeout = migrateLockTimeout
	m.Log = migrateLogger{logger}

	// The version read here is outside golang-migrate's lock: another
	// process may be migrating right now, so a dirty flag seen here is not
	// trusted (Up re-checks under the lock). A version beyond this binary's
	// is final, because versions only grow.
	from, _, err := m.Version()
	switch {
	case errors.Is(err, migrate.ErrNilVersion):
		from = 0
	case err != nil:
		return MigrationResult{}, fmt.Errorf("read schema version: %w", err)
	case from > latest:
		return MigrationResult{From: from, To: from}, fmt.Errorf("%w: database is at version %d, this binary knows up to %d; run the newer pfmsync or roll the database back", ErrSchemaTooNew, from, latest)
	}

	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		var dirty migrate.ErrDirty
		if errors.As(err, &dirty) {
			return MigrationResult{From: from, To: uint(dirty.Version)}, dirtyError(uint(dirty.Version))
		}
		to, dirtyNow, verr := m.Version()
		if verr == nil && dirtyNow {
			return MigrationResult{From: from, To: to}, fmt.Errorf("apply migrations: %w; %w", err, dirtyError(to))
		}
		return MigrationResult{From: from, To: to}, fmt.Errorf("apply migrations: %w", err)
	}
	to, _, err := m.Version()
	if err != nil {
		return MigrationResult{From: from}, fmt.Errorf("read schema version: %w", err)
	}
	if to != from {
		logger.Info("database migrated", "from_version", from, "to_version", to)
	}
	return MigrationResult{From: from, To: to}, nil
}

func dirtyError(version uint) error {
	return fmt.Errorf("%w at version %d: a migration failed midway; repair the schema by hand, then run `UPDATE schema_migrations SET dirty = false` with the version that now matches, and start again", ErrDirtySchema, version)
}

// latestVersion finds the highest version among the migration files.
func latestVersion(files fs.FS) (uint, error) {
	src, err := iofs.New(files, ".")
	if err != nil {
		return 0, fmt.Errorf("open embedded migrations: %w", err)
	}
	defer src.Close()
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("read embedded migrations: %w", err)
	}
	for {
		next, err := src.Next(v)
		if errors.Is(err, fs.ErrNotExist) {
			return v, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read embedded migrations: %w", err)
		}
		v = next
	}
}

// migrateLogger adapts slog to golang-migrate's logger.
type migrateLogger struct{ logger *slog.Logger }

func (l migrateLogger) Printf(format string, v ...any) {
	l.logger.Debug(fmt.Sprintf(format, v...), "component", "migrate")
}

func (l migrateLogger) Verbose() bool { return false }
