package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// BenchmarkRemoveListedAgain measures what a sync pays for a bank that
// repeats, on every incremental query, a long inactivated list of
// transactions the datastore already holds as removed: each sync's first
// page tombstones them all again (RemoveTransactions in statements of
// 1,000 ids, as the sync sends them), and none is written. Baseline in
// the same run: the same number of ids the datastore never held (a
// first sync's list). The table is analyzed first, as autovacuum would
// have done: a connection's cached generic plan made while the table was
// small scans the table (see docs/benchmarks.md). Reported: microseconds
// an id for each, and their ratio (again_x_unknown; 1.0 = a removed row
// costs what a missing one does).
func BenchmarkRemoveListedAgain(b *testing.B) {
	const n, batch = 30_000, 1000
	ctx := context.Background()
	rows := benchRows(n)
	ids := make([]string, n)
	unknown := make([]string, n)
	for i, r := range rows {
		ids[i] = r.ProviderID
		unknown[i] = fmt.Sprintf("never-stored-%d", i)
	}
	s, bundle := setupBench(b)
	link := linkFixtureTB(b, s, "bench-user")
	acct := accountFixtureTB(b, s, link.ID, "acc-1", "Deposit")
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
	upsertPages(b, s, scope, rows, 500)
	_, err := bundle.pool.Exec(ctx, `ANALYZE transactions`)
	require.NoError(b, err)
	remove := func(ids []string) (time.Duration, int) {
		start := time.Now()
		removed := 0
		for off := 0; off < len(ids); off += batch {
			require.NoError(b, s.Transact(ctx, func(tx *store.Store) error {
				c, err := tx.RemoveTransactions(ctx, scope, ids[off:min(off+batch, len(ids))], time.Now())
				removed += c.Removed
				return err
			}))
		}
		return time.Since(start), removed
	}
	_, removed := remove(ids)
	require.Equal(b, n, removed, "the first listing removes every row")

	var again, missing time.Duration
	b.ResetTimer()
	for range b.N {
		d, removed := remove(ids)
		require.Zero(b, removed, "rows already removed are not written")
		again += d
		d, removed = remove(unknown)
		require.Zero(b, removed)
		missing += d
	}
	per := float64(b.N * n)
	b.ReportMetric(float64(again.Microseconds())/per, "again_µs/id")
	b.ReportMetric(float64(missing.Microseconds())/per, "unknown_µs/id")
	b.ReportMetric(again.Seconds()/missing.Seconds(), "again_x_unknown")
}
