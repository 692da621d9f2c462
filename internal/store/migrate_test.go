package store_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/migrations"
)

func emptyPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.NewEmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("FromEmptyThenNoChange", func(t *testing.T) {
		t.Parallel()
		pool := emptyPool(t)
		latest, err := store.LatestMigration()
		require.NoError(t, err)

		res, err := store.Migrate(pool, nil)
		require.NoError(t, err)
		require.Equal(t, store.MigrationResult{From: 0, To: latest}, res)

		res, err = store.Migrate(pool, nil)
		require.NoError(t, err)
		require.Equal(t, store.MigrationResult{From: latest, To: latest}, res)

		// River's bookkeeping agrees with the files golang-migrate applied.
		var riverVersions int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM river_migration WHERE line = 'main'").Scan(&riverVersions))
		require.Equal(t, 8, riverVersions)
	})

	t.Run("ConcurrentStartsMigrateOnce", func(t *testing.T) {
		t.Parallel()
		pool := emptyPool(t)
		latest, err := store.LatestMigration()
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = store.Migrate(pool, nil) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		var version int
		var dirty bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations").Scan(&version, &dirty))
		require.Equal(t, int(latest), version)
		require.False(t, dirty)
	})

	t.Run("DirtyStopsStart", func(t *testing.T) {
		t.Parallel()
		pool := emptyPool(t)
		files := fstest.MapFS{
			"000001_ok.up.sql":    {Data: []byte("CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1);")},
			"000001_ok.down.sql":  {Data: []byte("DROP TABLE keep_me;")},
			"000002_bad.up.sql":   {Data: []byte("CREATE TABLE half (id int); SELECT no_such_function();")},
			"000002_bad.down.sql": {Data: []byte("DROP TABLE half;")},
		}
		_, err := store.MigrateFS(pool, files, nil)
		require.ErrorIs(t, err, store.ErrDirtySchema)
		require.Contains(t, err.Error(), "version 2")

		// A second start refuses too, and nothing already stored is lost.
		_, err = store.MigrateFS(pool, files, nil)
		require.ErrorIs(t, err, store.ErrDirtySchema)
		var n int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM keep_me").Scan(&n))
		require.Equal(t, 1, n)
	})

	t.Run("SchemaTooNew", func(t *testing.T) {
		t.Parallel()
		pool := emptyPool(t)
		_, err := store.Migrate(pool, nil)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, "UPDATE schema_migrations SET version = 999999")
		require.NoError(t, err)
		_, err = store.Migrate(pool, nil)
		require.ErrorIs(t, err, store.ErrSchemaTooNew)
	})

	t.Run("DownAndUpAgain", func(t *testing.T) {
		t.Parallel()
		// Every down file must undo its up file: golang-migrate down to zero
		// and up again leaves a working schema.
		pool := emptyPool(t)
		_, err := store.Migrate(pool, nil)
		require.NoError(t, err)
		require.NoError(t, migrateDownAll(pool))
		var tables int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'").Scan(&tables))
		require.Zero(t, tables)
		_, err = store.Migrate(pool, nil)
		require.NoError(t, err)
	})
}

// newMigrator returns a golang-migrate instance over the embedded
// migrations for pool.
func newMigrator(pool *pgxpool.Pool) (*migrate.Migrate, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	driver, err := migratepgx.WithInstance(stdlib.OpenDBFromPool(pool), &migratepgx.Config{})
	if err != nil {
		return nil, err
	}
	return migrate.NewWithInstance("iofs", src, "pgx5", driver)
}

// migrateDownAll runs every down migration.
func migrateDownAll(pool *pgxpool.Pool) error {
	m, err := newMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Down()
}

// migrateTo moves the schema to the given version.
func migrateTo(pool *pgxpool.Pool, version uint) error {
	m, err := newMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Migrate(version)
}
