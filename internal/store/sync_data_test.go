package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// queryColumn runs a query returning one column and returns its values.
func queryColumn[T any](t *testing.T, s *store.Store, sql string, args ...any) []T {
	t.Helper()
	rows, err := s.Pool().Query(context.Background(), sql, args...)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	require.NoError(t, err)
	return out
}

// linkFixture creates an institution and a link for app user ref.
func linkFixture(t *testing.T, s *store.Store, ref string) pfm.Link {
	t.Helper()
	return linkFixtureTB(t, s, ref)
}

func linkFixtureTB(t testing.TB, s *store.Store, ref string) pfm.Link {
	t.Helper()
	ctx := context.Background()
	in, err := s.UpsertInstitution(ctx, sampleInstitution("garden"))
	require.NoError(t, err)
	l, _, err := s.UpsertLinkConsent(ctx, store.LinkConsent{InstitutionID: in.ID, AppUserRef: ref, BannoUserID: "banno-" + ref, NextSyncAt: time.Now()})
	require.NoError(t, err)
	return l
}

func strp(s string) *string { return &s }

func accountFixture(t *testing.T, s *store.Store, linkID, providerID, typ string) store.StoredAccount {
	t.Helper()
	return accountFixtureTB(t, s, linkID, providerID, typ)
}

func accountFixtureTB(t testing.TB, s *store.Store, linkID, providerID, typ string) store.StoredAccount {
	t.Helper()
	asOf := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	accts, err := s.UpsertAccounts(context.Background(), linkID, []store.AccountInput{{
		ProviderID: providerID, Name: "Checking", Type: typ, Balance: strp("100.00"), BalanceAsOf: &asOf,
		Raw: []byte(fmt.Sprintf(`{"id": %q, "balance": "100.00"}`, providerID)),
	}})
	require.NoError(t, err)
	return accts[providerID]
}

func txn(id, amount string, posted time.Time, pending bool) store.TransactionInput {
	return store.TransactionInput{
		ProviderID: id, Amount: amount, SignedAmount: amount, PostedAt: posted, Pending: pending,
		Description: "Corner Cafe", Raw: []byte(fmt.Sprintf(`{"id": %q, "amount": %q, "pending": %t}`, id, amount, pending)),
	}
}

func TestUpsertTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Deposit")
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	write := func(fn func(tx *store.Store) (store.WriteCounts, error)) store.WriteCounts {
		var c store.WriteCounts
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			var err error
			c, err = fn(tx)
			return err
		}))
		return c
	}

	c := write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.UpsertTransactions(ctx, scope, []store.TransactionInput{
			txn("t1", "-4.50", day, true), txn("t2", "1.2345", day, false), txn("t1", "-4.75", day, true), // t1 twice: the last wins
		})
	})
	require.Equal(t, store.WriteCounts{Added: 2}, c)
	var amount string
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT amount::text FROM transactions WHERE provider_transaction_id = 't1'`).Scan(&amount))
	require.Equal(t, "-4.75", amount)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT amount::text FROM transactions WHERE provider_transaction_id = 't2'`).Scan(&amount))
	require.Equal(t, "1.2345", amount, "sub-cent amounts are kept exactly")

	// The same report again writes nothing.
	c = write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("t1", "-4.75", day, true), txn("t2", "1.2345", day, false)})
	})
	require.Equal(t, store.WriteCounts{}, c)

	// The pending one posts under the same id: modified in place.
	c = write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("t1", "-5.75", day.Add(48*time.Hour), false)})
	})
	require.Equal(t, store.WriteCounts{Modified: 1}, c)

	// Removal is a tombstone; removing again or an unknown id does nothing.
	c = write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.RemoveTransactions(ctx, scope, []string{"t2", "never-seen"}, day)
	})
	require.Equal(t, store.WriteCounts{Removed: 1}, c)
	c = write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.RemoveTransactions(ctx, scope, []string{"t2"}, day)
	})
	require.Equal(t, store.WriteCounts{}, c)
	var rows, live int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE removed_at IS NULL) FROM transactions`).Scan(&rows, &live))
	require.Equal(t, 2, rows)
	require.Equal(t, 1, live)

	// Reported again after a removal: live again, as a modification.
	c = write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("t2", "1.2345", day, false)})
	})
	require.Equal(t, store.WriteCounts{Modified: 1}, c)

	// The feed lists every change in order.
	got := queryColumn[string](t, s, `SELECT provider_transaction_id || ':' || change FROM transaction_changes ORDER BY seq`)
	require.ElementsMatch(t, []string{"t1:added", "t2:added"}, got[:2])
	require.Equal(t, []string{"t1:modified", "t2:removed", "t2:modified"}, got[2:])

	// A page mixing stored and new ids: the new one is added, the changed
	// one modified, the unchanged one left alone.
	c = write(func(tx *store.Store) (store.WriteCounts, error) {
		return tx.UpsertTransactions(ctx, scope, []store.TransactionInput{
			txn("t4", "7.00", day, false), txn("t2", "1.2345", day, false), txn("t1", "-6.75", day.Add(48*time.Hour), false),
		})
	})
	require.Equal(t, store.WriteCounts{Added: 1, Modified: 1}, c)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM transactions`).Scan(&rows))
	require.Equal(t, 3, rows)
	tail := queryColumn[string](t, s, `SELECT provider_transaction_id || ':' || change FROM transaction_changes ORDER BY seq OFFSET 5`)
	require.Equal(t, []string{"t1:modified", "t4:added"}, tail, "feed rows follow transaction ids")

	// Feed writes need a transaction.
	_, err := s.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("t3", "1.00", day, false)})
	require.Error(t, err)
}

func TestChangeFeedCommitsInSequenceOrderPerUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Deposit")
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

	// A slow writer holds the user's feed; a second writer waits for it, so
	// the sequence numbers become visible in order.
	release := holdFeedWrite(t, s, scope, txn("slow", "1.00", day, false))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("fast", "2.00", day, false)})
			return err
		})
	}()
	select {
	case <-done:
		t.Fatal("a second writer of the same user's feed did not wait")
	case <-time.After(300 * time.Millisecond):
	}
	release()
	<-done
	var first string
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT provider_transaction_id FROM transaction_changes ORDER BY seq LIMIT 1`).Scan(&first))
	require.Equal(t, "slow", first)
}

// holdFeedWrite writes in as a change-feed writer of scope and keeps its
// transaction open (holding what a feed writer holds) until the returned
// release is called; release commits and waits for it. The test's end
// releases it too, so a failed check never leaves it open.
func holdFeedWrite(t *testing.T, s *store.Store, scope store.FeedScope, in ...store.TransactionInput) (release func()) {
	t.Helper()
	ctx := context.Background()
	holding, hold := make(chan error, 1), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, scope, in)
			holding <- err
			if err != nil {
				return err
			}
			<-hold
			return nil
		})
	})
	require.NoError(t, <-holding)
	release = sync.OnceFunc(func() {
		close(hold)
		wg.Wait()
	})
	t.Cleanup(release)
	return release
}

// TestAccountsOfAUserWriteSideBySide checks that a second writer of the
// same app user, on another account, writes its transactions while the
// first holds the feed, and waits only to number its feed rows: it waits
// on the feed's order lock, not its scope lock.
func TestAccountsOfAUserWriteSideBySide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	a, b := scopeFixture(t, s, link, "acc-a"), scopeFixture(t, s, link, "acc-b")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

	release := holdFeedWrite(t, s, a, txn("a1", "1.00", day, false))
	var second store.WriteCounts
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.Transact(ctx, func(tx *store.Store) error {
			var err error
			second, err = tx.UpsertTransactions(ctx, b, []store.TransactionInput{txn("b1", "2.00", day, false), txn("b2", "3.00", day, false)})
			return err
		})
	})
	// The second writer's upsert ran: it waits on the order lock, which is
	// taken only after every written row was read.
	waitingOn := func() string {
		var name string
		err := s.Pool().QueryRow(ctx, `
			SELECT CASE l.classid::bigint << 32 | l.objid::bigint
				WHEN hashtextextended('pfmsync.change_feed_order:' || $1, 0) THEN 'order'
				WHEN hashtextextended('pfmsync.change_feed:' || $1, 0) THEN 'scope'
				ELSE 'other' END
			FROM pg_locks l WHERE l.locktype = 'advisory' AND NOT l.granted`, link.AppUserRef).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return ""
		}
		require.NoError(t, err)
		return name
	}
	require.Eventually(t, func() bool { return waitingOn() != "" }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, "order", waitingOn())
	release()
	wg.Wait()
	require.Equal(t, store.WriteCounts{Added: 2}, second)
	order := queryColumn[string](t, s, `SELECT provider_transaction_id FROM transaction_changes ORDER BY seq`)
	require.Equal(t, []string{"a1", "b1", "b2"}, order, "the feed is in commit order")
}

// TestChangeFeedCursorNeverSkipsUnderConcurrentAccounts writes several
// accounts of one app user at once, in many small transactions (some of
// them rolled back), while a consumer follows the feed with a cursor: the
// consumer must read every committed change exactly once.
func TestChangeFeedCursorNeverSkipsUnderConcurrentAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	const accounts, writes = 4, 25
	var wg sync.WaitGroup
	for i := range accounts {
		scope := scopeFixture(t, s, link, fmt.Sprintf("acc-%d", i))
		wg.Go(func() {
			for w := range writes {
				err := s.Transact(ctx, func(tx *store.Store) error {
					id := fmt.Sprintf("t%d-%d", i, w)
					if _, err := tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn(id, "1.00", day, false), txn(fmt.Sprintf("t%d-%d", i, w/2), "2.00", day, false)}); err != nil {
						return err
					}
					if w%3 == 2 {
						if _, err := tx.RemoveTransactions(ctx, scope, []string{fmt.Sprintf("t%d-%d", i, w-1)}, day); err != nil {
							return err
						}
					}
					if w%5 == 4 {
						return errRollback
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	seen := map[int64]int{}
	var cursor int64
	read := func() {
		for _, q := range queryColumn[int64](t, s, `SELECT seq FROM reporting.transaction_changes_since($1, $2, 10000)`, link.AppUserRef, cursor) {
			seen[q]++
			cursor = q
		}
	}
	for done := false; !done; {
		select {
		case <-writersDone:
			done = true
		default:
		}
		read()
	}
	read()
	all := queryColumn[int64](t, s, `SELECT seq FROM transaction_changes WHERE app_user_ref = $1 ORDER BY seq`, link.AppUserRef)
	require.NotEmpty(t, all)
	for _, q := range all {
		require.Equal(t, 1, seen[q], "change %d read once by the cursor", q)
	}
	require.Len(t, seen, len(all))
}

var errRollback = errors.New("roll back")

// TestTombstonesProbeTheKeyPerID checks that tombstoning a chunk of ids,
// most of them never stored (a first sync's inactivated ids), reads only
// the rows it tombstones, by one key probe per id, even on a table whose
// statistics were never gathered (a new datastore's first syncs); and that
// it tombstones exactly the live ones.
func TestTombstonesProbeTheKeyPerID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	a, b := scopeFixture(t, s, link, "acc-a"), scopeFixture(t, s, link, "acc-b")
	for _, acct := range []string{a.AccountID, b.AccountID} {
		_, err := s.Pool().Exec(ctx, `
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending, type, category, raw)
			SELECT $1, 'tx-' || g, -1.50, -1.50, timestamptz '2026-01-01' + g * interval '10 minutes', false, 'POS', 'groceries', '{}'
			FROM generate_series(1, 20000) g`, acct)
		// Purchases: the transfer verdicts' trigger has no counterparts to
		// look up, so the rows read are the tombstones' own.
		require.NoError(t, err)
	}
	ids := make([]string, 0, 1000)
	for i := range 990 {
		ids = append(ids, fmt.Sprintf("never-%d", i))
	}
	for i := 1; i <= 10; i++ {
		ids = append(ids, fmt.Sprintf("tx-%d", i), fmt.Sprintf("tx-%d", i)) // duplicates count once
	}
	for _, remove := range []func(tx *store.Store, ids []string) (store.WriteCounts, error){
		func(tx *store.Store, ids []string) (store.WriteCounts, error) {
			return tx.RemoveTransactions(ctx, a, ids, time.Now())
		},
		func(tx *store.Store, ids []string) (store.WriteCounts, error) {
			return tx.TombstoneTransactions(ctx, a, ids, time.Now(), store.RemovalReconciled)
		},
	} {
		var c store.WriteCounts
		var rowsRead int64
		require.ErrorIs(t, s.Transact(ctx, func(tx *store.Store) error {
			var err error
			if c, err = remove(tx, ids); err != nil {
				return err
			}
			rowsRead = transactionRowsRead(t, tx.Tx())
			return errRollback // each variant starts from the same rows
		}), errRollback)
		require.Equal(t, store.WriteCounts{Removed: 10}, c)
		// 10 live rows, each read by its probe and by its update.
		require.LessOrEqual(t, rowsRead, int64(100), "tombstoning read more than the rows it tombstones")
	}
}

// TestChangeFeedScope covers the change feed's link reference: checked
// once per write (an account of another link is refused before anything is
// written) and cascaded when links are deleted.
func TestChangeFeedScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Deposit")
	other := linkFixture(t, s, "u2")
	otherAcct := accountFixture(t, s, other.ID, "acc-2", "Deposit")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	counts := func() (txs, feed int) {
		require.NoError(t, s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM transaction_changes)`).Scan(&txs, &feed))
		return txs, feed
	}

	for name, scope := range map[string]store.FeedScope{
		"account of another link": {AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: otherAcct.ID},
		"unknown link":            {AppUserRef: link.AppUserRef, LinkID: "00000000-0000-4000-8000-000000000001", AccountID: acct.ID},
		"unknown account":         {AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: "00000000-0000-4000-8000-000000000002"},
		"another app user":        {AppUserRef: other.AppUserRef, LinkID: link.ID, AccountID: acct.ID},
	} {
		for op, write := range map[string]func(tx *store.Store) (store.WriteCounts, error){
			"upsert": func(tx *store.Store) (store.WriteCounts, error) {
				return tx.UpsertTransactions(ctx, scope, []store.TransactionInput{txn("t1", "-4.50", day, false)})
			},
			"remove": func(tx *store.Store) (store.WriteCounts, error) {
				return tx.RemoveTransactions(ctx, scope, []string{"t1"}, day)
			},
			"tombstone": func(tx *store.Store) (store.WriteCounts, error) {
				return tx.TombstoneTransactions(ctx, scope, []string{"t1"}, day, store.RemovalReconciled)
			},
		} {
			err := s.Transact(ctx, func(tx *store.Store) error {
				_, err := write(tx)
				return err
			})
			require.ErrorIs(t, err, pfm.ErrNotFound, "%s: %s", name, op)
			txs, feed := counts()
			require.Zero(t, txs+feed, "%s: %s wrote rows", name, op)
		}
	}

	// Deleting a link deletes its feed rows, and only those.
	for _, sc := range []store.FeedScope{
		{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID},
		{AppUserRef: other.AppUserRef, LinkID: other.ID, AccountID: otherAcct.ID},
	} {
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			c, err := tx.UpsertTransactions(ctx, sc, []store.TransactionInput{txn("t1", "-4.50", day, false), txn("t2", "3.00", day, false)})
			require.Equal(t, store.WriteCounts{Added: 2}, c)
			return err
		}))
	}
	require.NoError(t, s.DeleteLink(ctx, link.ID))
	left := queryColumn[string](t, s, `SELECT link_id::text FROM transaction_changes ORDER BY seq`)
	require.Equal(t, []string{other.ID, other.ID}, left)
}

func TestAccountsAndBalances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Line of Credit")
	require.True(t, acct.IsLiability)

	n, err := s.InactivateAccounts(ctx, link.ID, []string{"acc-1", "unknown"}, time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	again := accountFixture(t, s, link.ID, "acc-1", "Line of Credit")
	require.Nil(t, again.InactiveAt, "an account listed again is active again")
	require.Equal(t, acct.ID, again.ID)

	noon := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	require.NoError(t, s.SaveBalanceSnapshots(ctx, []store.BalanceSnapshot{
		{AccountID: acct.ID, Balance: "10.00", AsOf: noon},
		{AccountID: acct.ID, Balance: "12.00", AsOf: noon.Add(2 * time.Hour)},
	}))
	require.NoError(t, s.SaveBalanceSnapshots(ctx, []store.BalanceSnapshot{{AccountID: acct.ID, Balance: "9.00", AsOf: noon.Add(time.Hour)}}))
	require.NoError(t, s.SaveBalanceSnapshots(ctx, []store.BalanceSnapshot{{AccountID: acct.ID, Balance: "20.00", AsOf: noon.Add(24 * time.Hour)}}))
	got := queryColumn[string](t, s, `SELECT day::text || '=' || balance::text FROM balance_snapshots ORDER BY day`)
	require.Equal(t, []string{"2026-01-15=12.00", "2026-01-16=20.00"}, got, "the latest observation of a day wins")
}

func TestSyncStateProgressNeverMovesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Deposit")
	st, err := s.AccountSyncState(ctx, acct.ID)
	require.NoError(t, err)
	require.Equal(t, store.SyncState{AccountID: acct.ID}, st)

	t2 := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	t1 := t2.Add(-time.Hour)
	require.NoError(t, s.SaveSyncState(ctx, store.SyncState{AccountID: acct.ID, Watermark: &t2, BackfillBefore: &t1}))
	require.NoError(t, s.SaveSyncState(ctx, store.SyncState{AccountID: acct.ID, Watermark: &t1, BackfillBefore: &t1, BackfillComplete: true}))
	st, err = s.AccountSyncState(ctx, acct.ID)
	require.NoError(t, err)
	require.True(t, st.Watermark.Equal(t2))
	require.True(t, st.BackfillComplete)

	// A save that lands late, naming less progress, changes nothing.
	require.NoError(t, s.SaveSyncState(ctx, store.SyncState{AccountID: acct.ID, Watermark: &t1, BackfillBefore: &t2}))
	st, err = s.AccountSyncState(ctx, acct.ID)
	require.NoError(t, err)
	require.True(t, st.BackfillBefore.Equal(t1), "backfill_before never moves to a later instant")
	require.True(t, st.BackfillComplete, "a complete backfill stays complete")
	require.True(t, st.Watermark.Equal(t2))

	n, err := s.ResetSyncState(ctx, link.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

func TestClaimDueLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	in, err := s.UpsertInstitution(ctx, sampleInstitution("garden"))
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 30 {
		_, _, err := s.UpsertLinkConsent(ctx, store.LinkConsent{
			InstitutionID: in.ID, AppUserRef: fmt.Sprintf("u%d", i), BannoUserID: fmt.Sprintf("b%d", i),
			NextSyncAt: now.Add(time.Duration(i-20) * time.Minute), // 21 due (i <= 20), 9 not yet
		})
		require.NoError(t, err)
	}
	disabled, err := s.LinksByAppUser(ctx, "u0")
	require.NoError(t, err)
	require.NoError(t, s.SetLinkStatus(ctx, disabled[0].ID, pfm.LinkDisabled, "", ""))

	noJitter := func(time.Duration) time.Duration { return 0 }
	// Two schedulers at once never claim the same link.
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			for {
				var got []store.DueLink
				if err := s.Transact(ctx, func(tx *store.Store) error {
					var err error
					got, err = tx.ClaimDueLinks(ctx, now, 4, noJitter)
					time.Sleep(20 * time.Millisecond)
					return err
				}); err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, claimed, 20, "21 due links minus the disabled one")
	for id, n := range claimed {
		require.Equal(t, 1, n, id)
		l, err := s.Link(ctx, id)
		require.NoError(t, err)
		require.True(t, l.NextSyncAt.Equal(now.Add(6*time.Hour)), "moved by its interval: %s", l.NextSyncAt)
	}

	// A rolled-back claim leaves links due.
	var rolled []store.DueLink
	_ = s.Transact(ctx, func(tx *store.Store) error {
		rolled, _ = tx.ClaimDueLinks(ctx, now.Add(30*time.Minute), 100, noJitter)
		return fmt.Errorf("insert failed")
	})
	require.Len(t, rolled, 9)
	var due int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM links WHERE next_sync_at <= $1 AND status = 'active'`, now.Add(30*time.Minute)).Scan(&due))
	require.Equal(t, 9, due)
}

func TestLinkStatusRaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")

	// A sync that started from an older consent cannot mark a newer one
	// reauth_required.
	changed, err := s.MarkReauthRequired(ctx, link.ID, link.ConsentedAt.Add(-time.Second), "consent_revoked", "refused")
	require.NoError(t, err)
	require.False(t, changed)
	got, err := s.Link(ctx, link.ID)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkActive, got.Status)

	changed, err = s.MarkReauthRequired(ctx, link.ID, link.ConsentedAt, "consent_revoked", "refused")
	require.NoError(t, err)
	require.True(t, changed)
	got, err = s.Link(ctx, link.ID)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkReauthRequired, got.Status)
	require.Nil(t, got.NextSyncAt)

	// An operator's disable survives the user connecting again.
	require.NoError(t, s.SetLinkStatus(ctx, link.ID, pfm.LinkDisabled, "", ""))
	again, created, err := s.UpsertLinkConsent(ctx, store.LinkConsent{InstitutionID: link.InstitutionID, AppUserRef: "u1", BannoUserID: link.BannoUserID, NextSyncAt: time.Now()})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, link.ID, again.ID)
	require.Equal(t, pfm.LinkDisabled, again.Status)
	require.Nil(t, again.NextSyncAt)
}

func TestDeleteSyncRunsBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	for range 5 {
		_, err := s.StartSyncRun(ctx, link.ID, 1, 1, "scheduled")
		require.NoError(t, err)
	}
	_, err := s.Pool().Exec(ctx, `UPDATE sync_runs SET started_at = now() - interval '100 days' WHERE id IN (SELECT id FROM sync_runs ORDER BY id LIMIT 3)`)
	require.NoError(t, err)
	n, err := s.DeleteSyncRunsBefore(ctx, time.Now().Add(-90*24*time.Hour), 2)
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "bounded batch")
	n, err = s.DeleteSyncRunsBefore(ctx, time.Now().Add(-90*24*time.Hour), 2)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	runs, err := s.SyncRuns(ctx, link.ID, 10)
	require.NoError(t, err)
	require.Len(t, runs, 2, "recent runs are kept")
}
