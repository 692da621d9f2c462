package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// TestTombstoneWaitsForARowBeingWritten tombstones a live transaction
// while another transaction, not yet committed, writes it: removes it, or
// changes it and leaves it live. The tombstone waits for the writer, then
// reads the row as the writer left it: a row removed meanwhile is not
// removed twice (one removed change, counted once), a row still live is
// removed.
func TestTombstoneWaitsForARowBeingWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name        string
		write       func(tx *store.Store, scope store.FeedScope) error
		wantRemoved int
	}{
		{"removed meanwhile", func(tx *store.Store, scope store.FeedScope) error {
			_, err := tx.RemoveTransactions(ctx, scope, []string{"x"}, day)
			return err
		}, 0},
		{"changed meanwhile", func(tx *store.Store, scope store.FeedScope) error {
			_, err := tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("x", "-12.00", day, false)})
			return err
		}, 1},
	} {
		acct := accountFixture(t, s, link.ID, c.name, "Deposit")
		scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("x", "-9.00", day, true)})
			return err
		}))

		wrote, release := make(chan struct{}), make(chan struct{})
		// The writer is let go however the case ends, so a failed case
		// fails instead of leaving a transaction open.
		let := sync.OnceFunc(func() { close(release) })
		t.Cleanup(let)
		writer := make(chan error, 1)
		go func() {
			defer close(wrote)
			writer <- s.Transact(ctx, func(tx *store.Store) error {
				if err := c.write(tx, scope); err != nil {
					return err
				}
				wrote <- struct{}{}
				<-release
				return nil
			})
		}()
		if _, ok := <-wrote; !ok { // closed without a write: it failed
			require.NoError(t, <-writer, "%s: the writer", c.name)
		}
		var removed store.WriteCounts
		tombstone := make(chan error, 1)
		go func() {
			tombstone <- s.Transact(ctx, func(tx *store.Store) error {
				var err error
				removed, err = tx.RemoveTransactions(ctx, scope, []string{"x"}, day.Add(time.Hour))
				return err
			})
		}()
		requireOneWaitingOn(t, s, "transactionid", c.name+": the tombstone waits for the writer")
		let()
		require.NoError(t, <-writer)
		require.NoError(t, <-tombstone)

		require.Equal(t, c.wantRemoved, removed.Removed, c.name)
		require.Equal(t, []bool{true}, queryColumn[bool](t, s, `SELECT removed_at IS NOT NULL FROM transactions WHERE account_id = $1`, acct.ID), c.name)
		require.Equal(t, []int{1}, queryColumn[int](t, s, `
			SELECT count(*)::int FROM transaction_changes WHERE account_id = $1 AND change = 'removed'`, acct.ID), c.name)
	}
}

// requireOneWaitingOn waits until exactly one session of the test's
// database waits for a lock of this kind (pg_stat_activity's wait_event:
// advisory, transactionid, ...).
func requireOneWaitingOn(t *testing.T, s *store.Store, waitEvent, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var waiting int
		err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND wait_event = $1 AND datname = current_database()`, waitEvent).Scan(&waiting)
		return err == nil && waiting == 1
	}, 30*time.Second, 10*time.Millisecond, msg)
}
