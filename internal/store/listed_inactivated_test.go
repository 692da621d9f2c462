package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// upsertUnlisted writes a page of a sync as the sync does: the
// transactions the sync recorded under listing are looked up and left
// out, the others upserted.
func upsertUnlisted(ctx context.Context, tx *store.Store, scope store.FeedScope, listing int64, in []store.TransactionInput) (store.WriteCounts, error) {
	ids := make([]string, len(in))
	for i, t := range in {
		ids[i] = t.ProviderID
	}
	listed, err := tx.ListedTransactionIDs(ctx, scope.AccountID, listing, ids)
	if err != nil {
		return store.WriteCounts{}, err
	}
	return tx.UpsertTransactions(ctx, scope, slices.DeleteFunc(in, func(t store.TransactionInput) bool { return slices.Contains(listed, t.ProviderID) }))
}

// TestListedTransactionsStayRemovedInTheirSync: ids recorded as listed
// inactivated under a sync's listing are tombstoned where stored and
// found by ListedTransactionIDs for that listing only, so the sync's
// pages (the one that lists them or any later one) leave them out;
// another listing writes them as before; recording the same ids again
// tombstones nothing; a sync's record is forgotten when it ends.
func TestListedTransactionsStayRemovedInTheirSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Deposit")
	other := accountFixture(t, s, link.ID, "acc-2", "Deposit")
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	const listing, nextSync = 7, 8
	page := func(fn func(tx *store.Store) (store.WriteCounts, error)) store.WriteCounts {
		t.Helper()
		var c store.WriteCounts
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			if err := tx.LockAccountSync(ctx, acct.ID); err != nil {
				return err
			}
			var err error
			c, err = fn(tx)
			return err
		}))
		return c
	}
	live := func(id string) bool {
		t.Helper()
		return len(queryColumn[string](t, s, `SELECT provider_transaction_id FROM transactions
			WHERE account_id = $1 AND provider_transaction_id = $2 AND removed_at IS NULL`, acct.ID, id)) == 1
	}

	c := page(func(tx *store.Store) (store.WriteCounts, error) {
		return upsertUnlisted(ctx, tx, scope, listing, []store.TransactionInput{txn("stored", "-1.00", day, true), txn("kept", "2.00", day, false)})
	})
	require.Equal(t, store.WriteCounts{Added: 2}, c)

	// A page lists "stored" and "ahead" (never stored) and serves "ahead"
	// live: the listed ids come first, so the page's own upsert leaves
	// "ahead" out.
	c = page(func(tx *store.Store) (store.WriteCounts, error) {
		rm, err := tx.RemoveListedTransactions(ctx, scope, listing, []string{"stored", "ahead", "ahead"}, day)
		if err != nil {
			return rm, err
		}
		up, err := upsertUnlisted(ctx, tx, scope, listing, []store.TransactionInput{txn("ahead", "3.00", day, false), txn("new", "4.00", day, false)})
		rm.Add(up)
		return rm, err
	})
	require.Equal(t, store.WriteCounts{Added: 1, Removed: 1}, c, "new added, stored removed, ahead left out")
	require.False(t, live("stored"))
	require.Zero(t, len(queryColumn[string](t, s, `SELECT provider_transaction_id FROM transactions WHERE provider_transaction_id = 'ahead'`)))

	// A later page of the sync serves both again (a stale read): left out.
	c = page(func(tx *store.Store) (store.WriteCounts, error) {
		return upsertUnlisted(ctx, tx, scope, listing, []store.TransactionInput{txn("stored", "-1.00", day, false), txn("ahead", "3.00", day, false)})
	})
	require.Equal(t, store.WriteCounts{}, c)
	require.False(t, live("stored"))

	// Recording the same ids again changes nothing.
	c = page(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.RemoveListedTransactions(ctx, scope, listing, []string{"stored", "ahead"}, day)
	})
	require.Equal(t, store.WriteCounts{}, c)

	// The listing is the account's: another account's page writes the
	// same provider id.
	otherScope := scope
	otherScope.AccountID = other.ID
	require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
		c, err := upsertUnlisted(ctx, tx, otherScope, listing, []store.TransactionInput{txn("ahead", "3.00", day, false)})
		require.Equal(t, store.WriteCounts{Added: 1}, c)
		return err
	}))

	// The next sync no longer lists them: the bank's word now is the
	// page, and both are live.
	c = page(func(tx *store.Store) (store.WriteCounts, error) {
		return upsertUnlisted(ctx, tx, scope, nextSync, []store.TransactionInput{txn("stored", "-1.00", day, false), txn("ahead", "3.00", day, false)})
	})
	require.Equal(t, store.WriteCounts{Added: 1, Modified: 1}, c)
	require.True(t, live("stored"))
	require.True(t, live("ahead"))

	// The next sync lists one again: its own record, its own tombstone.
	c = page(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.RemoveListedTransactions(ctx, scope, nextSync, []string{"ahead"}, day)
	})
	require.Equal(t, store.WriteCounts{Removed: 1}, c)
	listings := func() []int64 {
		t.Helper()
		return queryColumn[int64](t, s, `SELECT listing FROM listed_inactivated_transactions WHERE account_id = $1 ORDER BY listing`, acct.ID)
	}
	require.Equal(t, []int64{listing, listing, nextSync}, listings(), "a row per statement")

	// A sync forgets its own record when it ends; another sync's stays
	// until it is a day old (a sync that failed before forgetting).
	require.NoError(t, s.ForgetListedTransactions(ctx, acct.ID, nextSync))
	require.Equal(t, []int64{listing, listing}, listings())
	_, err := s.Pool().Exec(ctx, `UPDATE listed_inactivated_transactions SET recorded_at = now() - interval '25 hours'
		WHERE account_id = $1`, acct.ID)
	require.NoError(t, err)
	require.NoError(t, s.ForgetListedTransactions(ctx, acct.ID, nextSync))
	require.Empty(t, listings())
	c = page(func(tx *store.Store) (store.WriteCounts, error) {
		return upsertUnlisted(ctx, tx, scope, listing, []store.TransactionInput{txn("ahead", "3.00", day, false)})
	})
	require.Equal(t, store.WriteCounts{Modified: 1}, c, "forgotten: no longer left out")

	require.Error(t, s.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.RemoveListedTransactions(ctx, scope, 0, []string{"x"}, day)
		return err
	}), "a listing is never 0")
	require.Error(t, s.LockAccountSync(ctx, acct.ID), "the lock lasts a transaction")
}

// TestListedTransactionsStandWhicheverPageCommitsFirst: two readers'
// pages of one sync, one serving a transaction live (read before the bank
// inactivated it) and one listing it, commit in either order, one at a
// time under LockAccountSync: the transaction ends removed both ways.
func TestListedTransactionsStandWhicheverPageCommitsFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	const listing = 11
	for _, listerFirst := range []bool{false, true} {
		acct := accountFixture(t, s, link.ID, map[bool]string{false: "server-first", true: "lister-first"}[listerFirst], "Deposit")
		scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
		serve := func(tx *store.Store) error {
			_, err := upsertUnlisted(ctx, tx, scope, listing, []store.TransactionInput{txn("x", "-9.00", day, true), txn("y", "1.00", day, false)})
			return err
		}
		list := func(tx *store.Store) error {
			_, err := tx.RemoveListedTransactions(ctx, scope, listing, []string{"x"}, day)
			return err
		}
		first, second := serve, list
		if listerFirst {
			first, second = list, serve
		}
		// The first page holds the lock; the second starts meanwhile and
		// waits for it, then sees what the first committed.
		holding, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Transact(ctx, func(tx *store.Store) error {
				if err := tx.LockAccountSync(ctx, acct.ID); err != nil {
					return err
				}
				close(holding)
				<-release
				return first(tx)
			})
		}()
		<-holding
		secondDone := make(chan error, 1)
		go func() {
			secondDone <- s.Transact(ctx, func(tx *store.Store) error {
				if err := tx.LockAccountSync(ctx, acct.ID); err != nil {
					return err
				}
				return second(tx)
			})
		}()
		requireOneWaitingOn(t, s, "advisory", "the second page waits for the first")
		close(release)
		require.NoError(t, <-done)
		require.NoError(t, <-secondDone)

		rows := queryColumn[string](t, s, `SELECT provider_transaction_id || ':' || (removed_at IS NULL)::text FROM transactions
			WHERE account_id = $1 ORDER BY 1`, acct.ID)
		if listerFirst {
			require.Equal(t, []string{"y:true"}, rows, "x was left out")
		} else {
			require.Equal(t, []string{"x:false", "y:true"}, rows, "x was tombstoned")
		}
	}
}
