package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

type testBundle struct {
	pool  *pgxpool.Pool
	store *store.Store
}

func setup(t *testing.T) (*store.Store, *testBundle) {
	t.Helper()
	return setupTB(t)
}

func setupTB(t testing.TB) (*store.Store, *testBundle) {
	t.Helper()
	pool := testdb.New(t)
	s := store.New(pool, nil)
	return s, &testBundle{pool: pool, store: s}
}

// singleConnPool returns a pool of one connection to pool's database: the
// statistics its statements leave are one backend's, which
// transactionsScans flushes before it reads them.
func singleConnPool(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pool.Config().ConnString())
	require.NoError(t, err)
	cfg.MaxConns = 1
	one, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(one.Close)
	return one
}

// transactionsScans flushes the statistics of one's connection and
// returns the scans of transactions so far: by index name, and "" for
// sequential scans.
func transactionsScans(t *testing.T, one *pgxpool.Pool) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	_, err := one.Exec(ctx, `SELECT pg_stat_force_next_flush()`)
	require.NoError(t, err)
	return queryMap[string, int64](t, one, `
		SELECT indexrelname::text, coalesce(idx_scan, 0) FROM pg_stat_user_indexes WHERE relid = 'transactions'::regclass
		UNION ALL
		SELECT '', coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE relid = 'transactions'::regclass`)
}

// querier is what queryMap reads through: a pool or a transaction.
type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

// queryMap runs sql, which selects a key and a value, and returns its rows
// as a map.
func queryMap[K comparable, V any](t *testing.T, q querier, sql string, args ...any) map[K]V {
	t.Helper()
	rows, err := q.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	out := map[K]V{}
	for rows.Next() {
		var k K
		var v V
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

func sampleInstitution(slug string) pfm.Institution {
	return pfm.Institution{
		Slug:        slug,
		DisplayName: "Garden Financial",
		IssuerURL:   "https://digital.garden-fi.com/a/consumer/api/v0/oidc",
		APIBaseURL:  "https://digital.garden-fi.com/a/consumer/api/v0",
		ClientID:    "client-1",
	}
}

func TestTransact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CommitsOnNil", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		err := s.Transact(ctx, func(tx *store.Store) error {
			require.True(t, tx.InTx())
			require.NotNil(t, tx.Tx())
			_, err := tx.UpsertInstitution(ctx, sampleInstitution("garden"))
			return err
		})
		require.NoError(t, err)
		got, err := s.Institution(ctx, "garden")
		require.NoError(t, err)
		require.Equal(t, "Garden Financial", got.DisplayName)
	})

	t.Run("RollsBackOnError", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		boom := errors.New("boom")
		err := s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertInstitution(ctx, sampleInstitution("garden"))
			require.NoError(t, err)
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.Institution(ctx, "garden")
		require.ErrorIs(t, err, pfm.ErrNotFound)
	})

	t.Run("RollsBackAndRepanicsOnPanic", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		require.PanicsWithValue(t, "kaboom", func() {
			_ = s.Transact(ctx, func(tx *store.Store) error {
				_, err := tx.UpsertInstitution(ctx, sampleInstitution("garden"))
				require.NoError(t, err)
				panic("kaboom")
			})
		})
		_, err := s.Institution(ctx, "garden")
		require.ErrorIs(t, err, pfm.ErrNotFound)
	})

	t.Run("NestedUsesSavepoint", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		err := s.Transact(ctx, func(tx *store.Store) error {
			if _, err := tx.UpsertInstitution(ctx, sampleInstitution("outer")); err != nil {
				return err
			}
			inner := tx.Transact(ctx, func(tx2 *store.Store) error {
				if _, err := tx2.UpsertInstitution(ctx, sampleInstitution("inner")); err != nil {
					return err
				}
				return errors.New("undo inner only")
			})
			require.Error(t, inner)
			return nil
		})
		require.NoError(t, err)
		_, err = s.Institution(ctx, "outer")
		require.NoError(t, err)
		_, err = s.Institution(ctx, "inner")
		require.ErrorIs(t, err, pfm.ErrNotFound)
	})

	t.Run("CancelledContextStillRollsBack", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		err := s.Transact(cctx, func(tx *store.Store) error {
			_, err := tx.UpsertInstitution(cctx, sampleInstitution("garden"))
			require.NoError(t, err)
			cancel()
			return cctx.Err()
		})
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.Institution(ctx, "garden")
		require.ErrorIs(t, err, pfm.ErrNotFound)
		// No connection is left stuck in a transaction.
		require.Eventually(t, func() bool { return b.pool.Stat().AcquiredConns() == 0 }, 5*time.Second, 10*time.Millisecond)
	})
}

func TestInstitutions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("UpsertIsIdempotentAndUpdates", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		first, err := s.UpsertInstitution(ctx, sampleInstitution("garden"))
		require.NoError(t, err)
		again, err := s.UpsertInstitution(ctx, sampleInstitution("garden"))
		require.NoError(t, err)
		require.Equal(t, first.UpdatedAt, again.UpdatedAt, "an unchanged upsert does not touch updated_at")

		changed := sampleInstitution("garden")
		changed.ClientID = "client-2"
		updated, err := s.UpsertInstitution(ctx, changed)
		require.NoError(t, err)
		require.Equal(t, "client-2", updated.ClientID)
		require.Equal(t, first.CreatedAt, updated.CreatedAt)

		all, err := s.Institutions(ctx)
		require.NoError(t, err)
		require.Len(t, all, 1)
	})

	t.Run("CheckViolationIsInvalid", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		bad := sampleInstitution("Not A Slug")
		_, err := s.UpsertInstitution(ctx, bad)
		require.ErrorIs(t, err, pfm.ErrInvalid)
		require.Contains(t, err.Error(), "institutions_slug_check")
	})

	t.Run("MissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		_, err := s.Institution(ctx, "nope")
		require.ErrorIs(t, err, pfm.ErrNotFound)
	})
}
