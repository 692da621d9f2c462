package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// storedVerdictsTest is the test that runs the reporting tests again with
// every transfer verdict stored: its subtests' databases get triggers that
// fill the verdicts after every statement, so every read the reporting
// tests make goes through stored verdicts (and the invalidation triggers
// must have kept them exact through every write before it).
const storedVerdictsTest = "TestReportingWithStoredVerdicts"

// storedVerdictsSeen sums the verdicts the subtests' databases held at
// their end: the run must have stored some.
var storedVerdictsSeen atomic.Int64

func init() {
	testdb.Prepare = func(tb testing.TB, pool *pgxpool.Pool) {
		if !strings.HasPrefix(tb.Name(), storedVerdictsTest+"/") {
			return
		}
		ctx := context.Background()
		_, err := pool.Exec(ctx, `
			CREATE FUNCTION test_fill_transfer_verdicts() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
			    PERFORM fill_transfer_verdicts(u.r, 1000000) FROM (SELECT DISTINCT app_user_ref AS r FROM links) u;
			    RETURN NULL;
			END
			$$;
			CREATE TRIGGER zz_test_fill_transfer_verdicts AFTER INSERT OR UPDATE OR DELETE ON transactions
			    FOR EACH STATEMENT EXECUTE FUNCTION test_fill_transfer_verdicts();
			CREATE TRIGGER zz_test_fill_transfer_verdicts AFTER INSERT OR UPDATE OR DELETE ON accounts
			    FOR EACH STATEMENT EXECUTE FUNCTION test_fill_transfer_verdicts();
			CREATE TRIGGER zz_test_fill_transfer_verdicts AFTER INSERT OR UPDATE OR DELETE ON links
			    FOR EACH STATEMENT EXECUTE FUNCTION test_fill_transfer_verdicts();`)
		require.NoError(tb, err)
		tb.Cleanup(func() { // runs before the pool closes
			var n int64
			require.NoError(tb, pool.QueryRow(ctx, `SELECT count(*) FROM transaction_transfer_verdicts`).Scan(&n))
			storedVerdictsSeen.Add(n)
		})
	}
}

// TestReportingWithStoredVerdicts runs the reporting tests, unchanged, with
// every verdict stored as soon as a statement leaves it missing.
func TestReportingWithStoredVerdicts(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   func(*testing.T)
		}{
			{"TestReporting", TestReporting},
			{"TestReportingTransferNeedsATransferLikeCounterpart", TestReportingTransferNeedsATransferLikeCounterpart},
			{"TestReportingRecurring", TestReportingRecurring},
			{"TestReportingBalanceHistory", TestReportingBalanceHistory},
			{"TestChangeFeedRetentionMovesTheHorizon", TestChangeFeedRetentionMovesTheHorizon},
		} {
			t.Run(tc.name, tc.fn)
		}
	})
	require.Positive(t, storedVerdictsSeen.Load(), "the reporting tests stored transfer verdicts")
}

// transferRows reads every row of reporting.transactions as
// "account/provider id" -> is_transfer.
func transferRows(t *testing.T, q querier) map[string]bool {
	t.Helper()
	return queryMap[string, bool](t, q, `SELECT account_id::text || '/' || provider_transaction_id, is_transfer FROM reporting.transactions`)
}

// freshTransfers computes every row's verdict from scratch: the stored
// verdicts are deleted in a transaction that is rolled back.
func freshTransfers(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // read-only use; rolled back on purpose
	_, err = tx.Exec(ctx, `DELETE FROM transaction_transfer_verdicts`)
	require.NoError(t, err)
	return transferRows(t, tx)
}

// storedVerdicts reads the stored verdicts of rows reporting.transactions
// shows.
func storedVerdicts(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	return queryMap[string, bool](t, pool, `
		SELECT v.account_id::text || '/' || v.provider_transaction_id, v.is_transfer
		FROM transaction_transfer_verdicts v
		JOIN reporting.transactions t ON t.account_id = v.account_id AND t.provider_transaction_id = v.provider_transaction_id`)
}

// TestTransferVerdictsStayExact applies random sequences of writes (new
// transactions, modified amounts, dates, categories, types and memos,
// removals and their undoing, deletions, masked number changes, an account
// moved to another app user's link) for two app users, filling verdicts
// now and then, and checks after every commit that every stored verdict
// equals a fresh computation and that the views read the same either way.
func TestTransferVerdictsStayExact(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			runVerdictScenario(t, seed, 120)
		})
	}
}

func runVerdictScenario(t *testing.T, seed uint64, steps int) {
	ctx := context.Background()
	s, _ := setup(t)
	pool := s.Pool()
	rng := rand.New(rand.NewPCG(seed, 7))

	type acct struct {
		id, link, user string
	}
	var accts []acct
	links := map[string]string{}
	for _, u := range []string{"ua", "ub"} {
		l := linkFixture(t, s, u)
		links[u] = l.ID
		for _, kind := range []string{"chk", "sav", "card"} {
			typ := "Deposit"
			if kind == "card" {
				typ = "Line of Credit"
			}
			a := accountFixture(t, s, l.ID, u+"-"+kind, typ)
			accts = append(accts, acct{id: a.ID, link: l.ID, user: u})
		}
	}
	masks := []string{"*1234", "*5678", "*4321", "x9876", "", "*12345"}
	for _, a := range accts {
		_, err := pool.Exec(ctx, `UPDATE accounts SET masked_number = $2 WHERE id = $1`, a.id, masks[rng.IntN(len(masks))])
		require.NoError(t, err)
	}
	amounts := []string{"100.00", "-100.00", "250.00", "-250.00", "0", "-42.17"}
	categories := []string{"transfer", "payment", "", "uncategorized", "groceries", "income", " Transfer "}
	types := []string{"TRANSFER", "POS", "ONLINE", "transfer"}
	memos := []string{"", "to *1234", "ref 98765", "xfer 4321", "PAYMENT *5678 THANKS", "*12345"}
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	// Instants near UTC midnight test the window's date boundaries.
	posted := func() time.Time {
		return day0.Add(time.Duration(rng.IntN(10))*24*time.Hour + []time.Duration{30 * time.Minute, 12 * time.Hour, 23*time.Hour + 50*time.Minute}[rng.IntN(3)])
	}
	type row struct {
		account acct
		id      string
	}
	var rows []row
	n := 0
	upsert := func(a acct, id string) {
		in := txn(id, amounts[rng.IntN(len(amounts))], posted(), rng.IntN(5) == 0)
		in.Category, in.Type, in.Memo = categories[rng.IntN(len(categories))], types[rng.IntN(len(types))], memos[rng.IntN(len(memos))]
		in.Raw = []byte(fmt.Sprintf(`{"id": %q, "v": %d}`, id, rng.Int()))
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, store.FeedScope{AppUserRef: a.user, LinkID: a.link, AccountID: a.id}, []store.TransactionInput{in})
			return err
		}))
	}
	fill := func(user string) {
		_, err := s.FillTransferVerdicts(ctx, user, 1+rng.IntN(8))
		require.NoError(t, err)
	}
	filled := 0
	for step := 0; step < steps; step++ {
		switch op := rng.IntN(12); {
		case op < 4 || len(rows) == 0: // a new transaction (several in one statement now and then)
			a := accts[rng.IntN(len(accts))]
			k := 1 + rng.IntN(3)
			for range k {
				n++
				id := fmt.Sprint("t", n)
				upsert(a, id)
				rows = append(rows, row{a, id})
			}
		case op < 6: // the bank reports a row again with other values (also undoes a removal)
			r := rows[rng.IntN(len(rows))]
			upsert(r.account, r.id)
		case op == 6: // one column changed in place
			r := rows[rng.IntN(len(rows))]
			col := []string{
				`signed_amount = -signed_amount`,
				`posted_at = posted_at + interval '2 days'`,
				`category = 'transfer'`,
				`category = 'groceries'`,
				`type = 'POS'`,
				`memo = 'to *4321'`,
			}[rng.IntN(6)]
			_, err := pool.Exec(ctx, `UPDATE transactions SET `+col+` WHERE account_id = $1 AND provider_transaction_id = $2`, r.account.id, r.id)
			require.NoError(t, err)
		case op == 7: // removal
			r := rows[rng.IntN(len(rows))]
			require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
				_, err := tx.RemoveTransactions(ctx, store.FeedScope{AppUserRef: r.account.user, LinkID: r.account.link, AccountID: r.account.id}, []string{r.id}, time.Now())
				return err
			}))
		case op == 8: // masked number change
			a := accts[rng.IntN(len(accts))]
			_, err := pool.Exec(ctx, `UPDATE accounts SET masked_number = $2 WHERE id = $1`, a.id, masks[rng.IntN(len(masks))])
			require.NoError(t, err)
		case op == 9: // hard deletion of a row
			i := rng.IntN(len(rows))
			r := rows[i]
			_, err := pool.Exec(ctx, `DELETE FROM transactions WHERE account_id = $1 AND provider_transaction_id = $2`, r.account.id, r.id)
			require.NoError(t, err)
			rows = append(rows[:i], rows[i+1:]...)
		case op == 10 && rng.IntN(4) == 0: // an account moves to the other app user's link
			i := rng.IntN(len(accts))
			other := "ua"
			if accts[i].user == "ua" {
				other = "ub"
			}
			_, err := pool.Exec(ctx, `UPDATE accounts SET link_id = $2 WHERE id = $1`, accts[i].id, links[other])
			require.NoError(t, err)
			accts[i].user, accts[i].link = other, links[other]
			for j := range rows {
				if rows[j].account.id == accts[i].id {
					rows[j].account = accts[i]
				}
			}
		default:
			fill([]string{"ua", "ub"}[rng.IntN(2)])
		}
		if rng.IntN(3) == 0 {
			fill("ua")
			fill("ub")
		}
		stored := storedVerdicts(t, pool)
		fresh := freshTransfers(t, pool)
		for k, v := range stored {
			require.Equal(t, fresh[k], v, "step %d: the stored verdict of %s", step, k)
		}
		require.Equal(t, fresh, transferRows(t, pool), "step %d: reporting.transactions with stored verdicts", step)
		filled += len(stored)
	}
	require.Positive(t, filled, "verdicts were stored along the way")
	fill("ua")
	fill("ub")
	for _, u := range []string{"ua", "ub"} {
		missing, err := s.MissingTransferVerdicts(ctx, u)
		require.NoError(t, err)
		require.Zero(t, missing, "after a fill, no verdict of %s is missing", u)
	}
	// Every stored verdict belongs to a transaction.
	var orphans int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM transaction_transfer_verdicts v
		WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.account_id = v.account_id AND t.provider_transaction_id = v.provider_transaction_id)`).Scan(&orphans))
	require.Zero(t, orphans)
}

// TestTransferVerdictsAreUsedWhenStored checks with EXPLAIN ANALYZE that
// a stored verdict skips the counterpart searches, and that deleting an
// account (the only way to lose a counterpart besides its transactions)
// forgets its app user's verdicts.
func TestTransferVerdictsAreUsedWhenStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, link, chk, sav, day := twoAccountUser(t)
	for _, w := range []struct {
		acct   store.StoredAccount
		id     string
		amount string
	}{{chk, "out", "-500.00"}, {sav, "in", "500.00"}} {
		in := txn(w.id, w.amount, day, false)
		in.Category, in.Type = "transfer", "TRANSFER"
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, store.FeedScope{AppUserRef: "u1", LinkID: link.ID, AccountID: w.acct.ID}, []store.TransactionInput{in})
			return err
		}))
	}
	// searches counts the scans of the app user's other accounts that the
	// counterpart and memo searches ran (aliases ca and oa in the view).
	searches := func() int {
		var plan []byte
		require.NoError(t, pool.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) SELECT is_transfer FROM reporting.transactions WHERE app_user_ref = 'u1'`).Scan(&plan))
		var doc []struct {
			Plan map[string]any
		}
		require.NoError(t, json.Unmarshal(plan, &doc))
		loops := 0
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			alias, _ := n["Alias"].(string)
			if strings.HasPrefix(alias, "ca") || strings.HasPrefix(alias, "oa") {
				l, _ := n["Actual Loops"].(float64)
				loops += int(l)
			}
			children, _ := n["Plans"].([]any)
			for _, c := range children {
				if m, ok := c.(map[string]any); ok {
					walk(m)
				}
			}
		}
		require.Len(t, doc, 1)
		walk(doc[0].Plan)
		return loops
	}
	require.Positive(t, searches(), "without verdicts the searches run")
	stored, err := s.FillTransferVerdicts(ctx, "u1", 0)
	require.NoError(t, err)
	require.Equal(t, 2, stored)
	require.Zero(t, searches(), "with verdicts no search runs")
	require.Equal(t, map[string]bool{chk.ID + "/out": true, sav.ID + "/in": true}, transferRows(t, pool))

	_, err = pool.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, sav.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{chk.ID + "/out": false}, transferRows(t, pool))
	missing, err := s.MissingTransferVerdicts(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, 1, missing)
}

// TestTransferVerdictFillWaitsForNoWriter: a fill never waits for a write
// that can change the app user's verdicts; it reports it busy, and a
// verdict the write changes is never stored stale.
func TestTransferVerdictFillWaitsForNoWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, link, chk, sav, day := twoAccountUser(t)
	out := txn("out", "-500.00", day, false)
	out.Category = "transfer"
	require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.UpsertTransactions(ctx, store.FeedScope{AppUserRef: "u1", LinkID: link.ID, AccountID: chk.ID}, []store.TransactionInput{out})
		return err
	}))

	// A sync writes the counterpart and has not committed yet.
	writer, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer writer.Rollback(ctx) //nolint:errcheck // committed below
	_, err = writer.Exec(ctx, `
		INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending, category, raw)
		VALUES ($1, 'in', 500, 500, $2, false, 'transfer', '{}')`, sav.ID, day)
	require.NoError(t, err)

	// Were the fill to wait for the writer, it would wait until this
	// context ends.
	bounded, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = s.FillTransferVerdicts(bounded, "u1", 0)
	require.ErrorIs(t, err, store.ErrTransferVerdictsBusy, "the fill does not wait for the writer")
	// Another app user is not held up.
	_, err = s.FillTransferVerdicts(ctx, "u2", 0)
	require.NoError(t, err)

	require.NoError(t, writer.Commit(ctx))
	n, err := s.FillTransferVerdicts(ctx, "u1", 0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, map[string]bool{chk.ID + "/out": true, sav.ID + "/in": true}, storedVerdicts(t, pool))
}

// TestTransactionWritesSearchOnlyWhenVerdictsAreStored: a write to an app
// user's transactions searches for the verdicts it can change only when
// the app user has stored verdicts. An app user's first sync (its fill is
// queued when the sync ends) writes transfer-like rows without scanning
// its other accounts; once a fill has stored verdicts, the same write
// searches and forgets the verdicts it changes.
func TestTransactionWritesSearchOnlyWhenVerdictsAreStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _, chk, sav, day := twoAccountUser(t)

	// The writes go through one connection, so that the scans they make
	// are its own to count. Only the trigger's searches scan transactions
	// in these writes.
	conn := singleConnPool(t, pool)
	scans := func() (n int64) {
		for _, k := range transactionsScans(t, conn) {
			n += k
		}
		return n
	}
	write := func(account, id string, amount string, posted time.Time) int64 {
		before := scans()
		_, err := conn.Exec(ctx, `
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending, category, type, raw)
			VALUES ($1, $2, abs($3::numeric), $3::numeric, $4, false, 'transfer', 'TRANSFER', '{}')`, account, id, amount, posted)
		require.NoError(t, err)
		return scans() - before
	}

	require.Zero(t, write(chk.ID, "out", "-500.00", day), "no verdict stored: no search")
	require.Zero(t, write(sav.ID, "in", "500.00", day), "no verdict stored: no search")
	n, err := s.FillTransferVerdicts(ctx, "u1", 0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, map[string]bool{chk.ID + "/out": true, sav.ID + "/in": true}, storedVerdicts(t, pool))

	// A second outflow a day later can pair with the inflow too: the write
	// searches the other account and forgets the inflow's verdict.
	require.Positive(t, write(chk.ID, "out2", "-500.00", day.Add(24*time.Hour)), "verdicts stored: the write searches")
	require.Equal(t, map[string]bool{chk.ID + "/out": true}, storedVerdicts(t, pool))
	require.Equal(t, freshTransfers(t, pool), transferRows(t, pool))

	// Another app user's verdicts do not make this app user's writes search.
	other := linkFixture(t, s, "u2")
	ochk := accountFixture(t, s, other.ID, "ochk", "Deposit")
	osav := accountFixture(t, s, other.ID, "osav", "Deposit")
	require.Zero(t, write(ochk.ID, "o-out", "-75.00", day), "u2 has no verdict stored")
	require.Zero(t, write(osav.ID, "o-in", "75.00", day), "u2 has no verdict stored")
}

// twoAccountUser sets up a store with app user u1's link of two deposit
// accounts, chk and sav, and a day to post on.
func twoAccountUser(t *testing.T) (s *store.Store, pool *pgxpool.Pool, link pfm.Link, chk, sav store.StoredAccount, day time.Time) {
	t.Helper()
	s, _ = setup(t)
	link = linkFixture(t, s, "u1")
	return s, s.Pool(), link, accountFixture(t, s, link.ID, "chk", "Deposit"), accountFixture(t, s, link.ID, "sav", "Deposit"),
		time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
}
