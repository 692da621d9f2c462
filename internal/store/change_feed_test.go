package store_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// feedChange is one change as a consumer reads it.
type feedChange struct {
	Seq        int64
	ProviderID string
	Change     string
}

// feedAsReader reads one page of reporting.transaction_changes_since as
// the reader role.
func feedAsReader(t *testing.T, pool *pgxpool.Pool, ref string, after int64, maxRows int) []feedChange {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, tx.Rollback(ctx)) }()
	_, err = tx.Exec(ctx, "SET LOCAL ROLE pfm_reader")
	require.NoError(t, err)
	rows, err := tx.Query(ctx, `SELECT seq, provider_transaction_id, change FROM reporting.transaction_changes_since($1, $2, $3)`, ref, after, maxRows)
	require.NoError(t, err)
	defer rows.Close()
	var out []feedChange
	for rows.Next() {
		var c feedChange
		require.NoError(t, rows.Scan(&c.Seq, &c.ProviderID, &c.Change))
		out = append(out, c)
	}
	require.NoError(t, rows.Err())
	return out
}

// scopeFixture creates an account of link and returns the feed scope of
// its writes.
func scopeFixture(t *testing.T, s *store.Store, link pfm.Link, providerID string) store.FeedScope {
	t.Helper()
	return store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: accountFixture(t, s, link.ID, providerID, "Deposit").ID}
}

// upsert writes in to scope's account in one transaction (one feed page).
func upsert(t *testing.T, s *store.Store, scope store.FeedScope, in ...store.TransactionInput) error {
	t.Helper()
	ctx := context.Background()
	return s.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.UpsertTransactions(ctx, scope, in)
		return err
	})
}

// writePage writes the transactions named by prefix and the indexes in
// [from, to) to the account in one transaction (one feed page), with the
// given amount.
func writePage(t *testing.T, s *store.Store, scope store.FeedScope, prefix string, from, to int, amount string) {
	t.Helper()
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	var in []store.TransactionInput
	for i := from; i < to; i++ {
		in = append(in, txn(fmt.Sprintf("%s-%03d", prefix, i), amount, day, false))
	}
	require.NoError(t, upsert(t, s, scope, in...))
}

// transactionRowsRead returns how many rows of transactions tx has read
// so far, by scans and by index fetches.
func transactionRowsRead(t *testing.T, tx pgx.Tx) int64 {
	t.Helper()
	var n int64
	require.NoError(t, tx.QueryRow(context.Background(), `
		SELECT coalesce(sum(seq_tup_read), 0) + coalesce(sum(idx_tup_fetch), 0)
		FROM pg_stat_xact_user_tables WHERE relname = 'transactions'`).Scan(&n))
	return n
}

// The feed is stored a page at a time but read a change at a time: every
// page of reporting.transaction_changes_since, from every cursor and for
// page sizes below, at and above the stored pages' sizes, is the next run
// of the app user's changes in seq order, across pages of several
// accounts, of other app users written in between, of modifications and
// of removals.
func TestChangeFeedPagesReadAsChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, bundle := setup(t)
	link := linkFixture(t, s, "u1")
	other := linkFixture(t, s, "u2")
	a, b, o := scopeFixture(t, s, link, "acc-a"), scopeFixture(t, s, link, "acc-b"), scopeFixture(t, s, other, "acc-o")

	writePage(t, s, a, "a", 0, 7, "-1.00")
	writePage(t, s, o, "o", 0, 20, "-1.00")
	writePage(t, s, b, "b", 0, 1, "-1.00")
	writePage(t, s, a, "a", 7, 37, "-1.00")
	writePage(t, s, o, "o", 20, 25, "-1.00")
	writePage(t, s, b, "b", 1, 13, "-1.00")
	writePage(t, s, a, "a", 3, 9, "-2.00") // a-003…a-006 modified, a-007, a-008 modified
	writePage(t, s, a, "a", 3, 9, "-2.00") // unchanged: no page
	require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.RemoveTransactions(ctx, b, []string{"b-000", "b-005", "b-012", "b-404"}, time.Now())
		return err
	}))
	writePage(t, s, o, "o", 25, 26, "-1.00")

	pages := queryColumn[int](t, s, `SELECT entries FROM transaction_change_pages WHERE app_user_ref = 'u1' ORDER BY last_seq`)
	require.Equal(t, []int{7, 1, 30, 12, 6, 3}, pages, "one page per write that changed something")
	var interleaved int
	require.NoError(t, bundle.pool.QueryRow(ctx, `
		SELECT count(*) FROM transaction_change_pages p JOIN transaction_change_pages q
			ON p.app_user_ref = q.app_user_ref AND p.last_seq < q.last_seq AND p.last_seq >= q.first_seq`).Scan(&interleaved))
	require.Zero(t, interleaved, "an app user's pages never interleave")

	// Every change of u1 in seq order, as the one-row-per-change view has it.
	var all []feedChange
	rows, err := bundle.pool.Query(ctx, `SELECT seq, provider_transaction_id, change FROM transaction_changes WHERE app_user_ref = 'u1' ORDER BY seq`)
	require.NoError(t, err)
	for rows.Next() {
		var c feedChange
		require.NoError(t, rows.Scan(&c.Seq, &c.ProviderID, &c.Change))
		all = append(all, c)
	}
	require.NoError(t, rows.Err())
	require.Len(t, all, 59)
	require.Equal(t, feedChange{all[0].Seq, "a-000", "added"}, all[0])
	require.Equal(t, "modified", all[50].Change)
	require.Equal(t, []feedChange{{all[56].Seq, "b-000", "removed"}, {all[57].Seq, "b-005", "removed"}, {all[58].Seq, "b-012", "removed"}}, all[56:])
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].Seq, all[i].Seq)
	}

	cursors := []int64{0, all[0].Seq - 1}
	for _, c := range all {
		cursors = append(cursors, c.Seq)
	}
	for _, maxRows := range []int{1, 2, 5, 8, 31, 59, 500} {
		for _, cursor := range cursors {
			var want []feedChange
			for _, c := range all {
				if c.Seq > cursor && len(want) < maxRows {
					want = append(want, c)
				}
			}
			require.Equal(t, want, feedAsReader(t, bundle.pool, "u1", cursor, maxRows), "cursor %d, max_rows %d", cursor, maxRows)
		}
	}

	// Reading the whole feed page by page yields every change once.
	var read []feedChange
	for cursor := int64(0); ; {
		page := feedAsReader(t, bundle.pool, "u1", cursor, 4)
		if len(page) == 0 {
			break
		}
		read = append(read, page...)
		cursor = page[len(page)-1].Seq
	}
	require.Equal(t, all, read)

	var head int64
	require.NoError(t, bundle.pool.QueryRow(ctx, `SELECT reporting.transaction_changes_head('u1')`).Scan(&head))
	require.Equal(t, all[len(all)-1].Seq, head)
	require.Len(t, feedAsReader(t, bundle.pool, "u2", 0, 500), 26)
}

// Migration 000103 moves every stored change into pages with its seq, and
// new changes number on from above them; going back down restores the
// rows.
func TestChangeFeedPagesMigrationKeepsEveryChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewEmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, migrateTo(pool, 102))

	s := store.New(pool, nil)
	link := linkFixture(t, s, "u1")
	scope := scopeFixture(t, s, link, "acc-a")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	// The 000102 schema's feed, written as its writer did.
	for i, change := range []string{"added", "added", "modified", "removed"} {
		id := fmt.Sprintf("t-%d", i/2)
		_, err := pool.Exec(ctx, `INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending, raw)
			VALUES ($1, $2, -1, -1, $3, false, '{}') ON CONFLICT DO NOTHING`, scope.AccountID, id, day)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO transaction_changes (app_user_ref, link_id, account_id, transaction_id, provider_transaction_id, change)
			SELECT 'u1', $1, account_id, id, provider_transaction_id, $3 FROM transactions WHERE account_id = $2 AND provider_transaction_id = $4`,
			link.ID, scope.AccountID, change, id)
		require.NoError(t, err)
	}
	const changes = `SELECT seq || ':' || provider_transaction_id || ':' || change || ':' || changed_at FROM transaction_changes ORDER BY seq`
	before := queryColumn[string](t, s, changes)
	require.Len(t, before, 4)

	require.NoError(t, migrateTo(pool, 103))
	require.Equal(t, before, queryColumn[string](t, s, changes))
	beforeSeqs := queryColumn[int64](t, s, `SELECT seq FROM transaction_changes ORDER BY seq`)
	writePage(t, s, scope, "n", 0, 2, "-1.00")
	after := queryColumn[int64](t, s, `SELECT seq FROM transaction_changes ORDER BY seq`)
	require.Len(t, after, 6)
	require.Greater(t, after[4], beforeSeqs[3], "new changes number on above the moved ones")

	require.NoError(t, migrateTo(pool, 102))
	back := queryColumn[string](t, s, changes)
	require.Len(t, back, 6)
	require.Equal(t, before, back[:4])
	var identity bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('transaction_changes', 'seq')) > $1`, after[5]).Scan(&identity))
	require.True(t, identity, "the restored feed numbers on above every change")
}

// A page's raw JSON reaches the statement as one JSON array; a record
// that is not exactly one JSON value fails the whole write and stores
// nothing, rather than shifting another record's JSON onto a row.
func TestUpsertRefusesARecordThatIsNotOneJSONValue(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	scope := scopeFixture(t, s, link, "acc-a")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, bad := range []string{`{"id": "t-1"}, {"id": "t-9"}`, ``, `{"id": "t-1"`, `1], [2`} {
		first, second := txn("t-1", "-1.00", day, false), txn("t-2", "-2.00", day, false)
		first.Raw = []byte(bad)
		require.Error(t, upsert(t, s, scope, first, second), "raw %q", bad)
		require.Empty(t, queryColumn[string](t, s, `SELECT provider_transaction_id FROM transactions`), "raw %q", bad)
	}
	writePage(t, s, scope, "t", 0, 3, "-1.00")
	require.Equal(t, []string{`{"id": "t-000", "amount": "-1.00", "pending": false}`, `{"id": "t-001", "amount": "-1.00", "pending": false}`,
		`{"id": "t-002", "amount": "-1.00", "pending": false}`},
		queryColumn[string](t, s, `SELECT raw::text FROM transactions ORDER BY provider_transaction_id`), "each row keeps its own record")
}

// A page of the feed looks up the transactions of the changes it returns,
// not of every change in the stored pages it reads: from a cursor inside
// a 3,000-change page, five changes cost a handful of lookups.
func TestChangeFeedPageJoinsOnlyWhatItReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, bundle := setup(t)
	link := linkFixture(t, s, "u1")
	scope := scopeFixture(t, s, link, "acc-a")
	// Distinct amounts and days: the transfer flag of reporting.transactions
	// looks up transactions of the same amount around the same day.
	for _, prefix := range []string{"a", "b"} {
		var in []store.TransactionInput
		for i := range 3000 {
			day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%700)
			in = append(in, txn(fmt.Sprintf("%s-%04d", prefix, i), fmt.Sprintf("-%d.%02d", 1+i, i%100), day, false))
		}
		require.NoError(t, upsert(t, s, scope, in...))
	}
	seqs := queryColumn[int64](t, s, `SELECT seq FROM transaction_changes ORDER BY seq`)
	require.Len(t, seqs, 6000)

	tx, err := bundle.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, tx.Rollback(ctx)) }()
	before := transactionRowsRead(t, tx)
	rows, err := tx.Query(ctx, `SELECT seq FROM reporting.transaction_changes_since('u1', $1, 5)`, seqs[999])
	require.NoError(t, err)
	var got []int64
	for rows.Next() {
		var seq int64
		require.NoError(t, rows.Scan(&seq))
		got = append(got, seq)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, seqs[1000:1005], got)
	require.LessOrEqual(t, transactionRowsRead(t, tx)-before, int64(50), "transactions rows read for a 5-change page")
}

// A page's write leaves no copy of the page behind: pgx keeps the last
// statement's encoded parameters on its connection until the connection
// builds another, and the pooled connections that wrote pages held one
// each, the page's raw JSON and all, for as long as they sat idle. Not
// parallel: it reads the process's heap.
func TestPageWriteLeavesNoPageHeldByThePool(t *testing.T) {
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	scope := scopeFixture(t, s, link, "acc-a")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	filler := strings.Repeat("x", 8<<10)
	in := make([]store.TransactionInput, 500)
	rawBytes := 0
	for i := range in {
		in[i] = txn(fmt.Sprintf("t-%03d", i), "-1.00", day, false)
		in[i].Raw = fmt.Appendf(nil, `{"id": "t-%03d", "memo": "%s"}`, i, filler)
		rawBytes += len(in[i].Raw)
	}
	before := liveHeap()
	require.NoError(t, upsert(t, s, scope, in...))
	held := liveHeap() - before
	runtime.KeepAlive(in)
	require.Less(t, held, int64(rawBytes/4), "the pool holds %d bytes after writing a page of %d bytes of raw JSON", held, rawBytes)
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
