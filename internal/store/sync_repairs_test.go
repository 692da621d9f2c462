package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// TestStalePendingIDsReadOnlyPendingRows: the stale-pending question
// (asked for every account on every sync) answers from the account's live
// pending rows alone, through transactions_pending_idx, not by reading the
// account's history.
func TestStalePendingIDsReadOnlyPendingRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, bundle := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "chk", "Deposit")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-30*24*time.Hour), now.Add(-24*time.Hour)
	var rows []store.TransactionInput
	for i := range 2000 {
		rows = append(rows, txn(fmt.Sprintf("posted-%d", i), "-1.00", old.Add(-time.Duration(i)*time.Hour), false))
	}
	stale := txn("stale", "-2.00", old, true)
	fresh := txn("fresh", "-3.00", recent, true)
	updated := txn("updated", "-4.00", old, true)
	updated.ProviderUpdatedAt = &recent
	gone := txn("gone", "-5.00", old, true)
	rows = append(rows, stale, fresh, updated, gone)
	scope := store.FeedScope{AppUserRef: "u1", LinkID: link.ID, AccountID: acct.ID}
	require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
		if _, err := tx.UpsertTransactions(ctx, scope, rows); err != nil {
			return err
		}
		_, err := tx.RemoveTransactions(ctx, scope, []string{"gone"}, now)
		return err
	}))
	_, err := bundle.pool.Exec(ctx, `ANALYZE transactions`)
	require.NoError(t, err)

	// One connection, so that the scans it makes are its own to count.
	one := singleConnPool(t, bundle.pool)
	scans := func() (pending, other int64) {
		for index, n := range transactionsScans(t, one) {
			switch index {
			case "transactions_pending_idx":
				pending += n
			case "": // sequential scans
			default:
				other += n
			}
		}
		return pending, other
	}
	p0, h0 := scans()
	ids, err := store.New(one, nil).StalePendingIDs(ctx, acct.ID, now.Add(-7*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []string{"stale"}, ids, "live, pending, neither dated nor updated since the cutoff")
	p1, h1 := scans()
	require.Equal(t, int64(1), p1-p0, "read through the pending rows' index")
	require.Zero(t, h1-h0, "no other index of transactions read")
}
