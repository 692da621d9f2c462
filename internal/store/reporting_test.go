package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// reportingViews lists every view of the reporting schema.
var reportingViews = []string{
	"accounts",
	"daily_balances",
	"event_horizons",
	"events",
	"link_status",
	"monthly_cash_flow",
	"net_worth_daily",
	"recurring",
	"spending_by_category",
	"spending_by_merchant",
	"transaction_change_horizons",
	"transaction_changes",
	"transactions",
}

// reportingFixture is a hand-made data set with known sums. App user u1 has
// a checking, a savings, a credit card (Line of Credit), an auto loan
// (Debt), an inactive checking and a savings club that does not contribute
// to totals; app user u2 has a checking and a savings whose numbers must
// never leak into u1's.
type reportingFixture struct {
	pool     *pgxpool.Pool
	link1    string            // u1's link
	link2    string            // u2's link
	accounts map[string]string // fixture key -> accounts.id
	txns     map[string]int64  // fixture key -> transactions.id
}

type fixtureAccount struct {
	key, link, name, masked, typ, subtype string
	balance, available, creditLimit       any // numeric as a string, or nil
	availableCredit, inactiveAt           any
	contributes                           bool
}

// fixtureTxn is one transaction; signed is the user-perspective amount
// (the bank's amount is derived: inverted on liabilities).
type fixtureTxn struct {
	key, account, signed, postedAt       string
	pending                              bool
	category, typ, memo, merchant, descr string
	replaces                             string // fixture key of the replaced pending transaction
	removed                              bool
}

func newReportingFixture(t *testing.T) *reportingFixture {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	f := &reportingFixture{pool: pool, accounts: map[string]string{}, txns: map[string]int64{}}

	var inst int64
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ('garden', 'Garden Financial', 'https://garden.example/a/consumer/api/v0/oidc', 'https://garden.example/a/consumer/api/v0', 'client-1')
		RETURNING id`).Scan(&inst))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO links (institution_id, app_user_ref, banno_user_id, granted_scopes, missing_scopes,
		                   next_sync_at, last_attempt_at, last_success_at, last_error_class)
		VALUES ($1, 'u1', 'banno-u1', '{openid,accounts.readonly,transactions.detail.readonly}', '{user.profile.readonly}',
		        '2026-11-20T12:00:00Z', '2026-11-20T06:00:00Z', '2026-11-20T06:00:00Z', 'transient')
		RETURNING id`, inst).Scan(&f.link1))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO links (institution_id, app_user_ref, banno_user_id, status, granted_scopes,
		                   last_error_class, consecutive_failures)
		VALUES ($1, 'u2', 'banno-u2', 'reauth_required', '{openid,accounts.readonly}', 'consent_revoked', 3)
		RETURNING id`, inst).Scan(&f.link2))
	_, err := pool.Exec(ctx, `INSERT INTO link_tokens (link_id, sealed, key_id) VALUES ($1, '\x00ff', 'k1')`, f.link1)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `
		INSERT INTO consent_requests (state_hash, nonce, sealed_verifier, institution_id, app_user_ref, expires_at)
		VALUES ('\x01', 'nonce', '\x02', $1, 'u1', now() + interval '10 minutes')`, inst)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `
		INSERT INTO sync_runs (link_id, trigger, started_at, finished_at, outcome, error_class) VALUES
		($1, 'schedule', '2026-11-20T00:00:00Z', '2026-11-20T00:01:00Z', 'failed', 'transient'),
		($1, 'schedule', '2026-11-20T06:00:00Z', '2026-11-20T06:02:00Z', 'success', NULL)`, f.link1)
	require.NoError(t, err)

	for _, a := range []fixtureAccount{
		{key: "chk", link: f.link1, name: "  Everyday Checking ", masked: "*1234", typ: "Deposit", subtype: "Checking", balance: "2500.00", available: "2400.00", contributes: true},
		{key: "sav", link: f.link1, name: "Rainy Day Savings", masked: "*5678", typ: "Deposit", subtype: "Savings", balance: "10000.00", available: "10000.00", contributes: true},
		{key: "card", link: f.link1, name: "Rewards Card", masked: "*4321", typ: "Line of Credit", subtype: "Credit Card", balance: "750.00", creditLimit: "5000.00", availableCredit: "4250.00", contributes: true},
		{key: "loan", link: f.link1, name: "Auto Loan", masked: "*9012", typ: "Debt", subtype: "Auto Loan", balance: "15000.00", contributes: true},
		{key: "old", link: f.link1, name: "Old Checking", masked: "*1111", typ: "Deposit", subtype: "Checking", balance: "0.00", inactiveAt: "2026-09-04T15:00:00Z", contributes: true},
		{key: "xmas", link: f.link1, name: "Holiday Club", masked: "*3333", typ: "Deposit", subtype: "Savings", balance: "300.00", contributes: false},
		{key: "u2chk", link: f.link2, name: "U2 Checking", masked: "*1234", typ: "Deposit", subtype: "Checking", balance: "99999.00", contributes: true},
		{key: "u2sav", link: f.link2, name: "U2 Savings", masked: "*9999", typ: "Deposit", subtype: "Savings", balance: "1.00", contributes: true},
	} {
		var id string
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO accounts (link_id, provider_account_id, name, masked_number, account_type, account_subtype,
			                      balance, available_balance, credit_limit, available_credit, balance_as_of,
			                      contributes_to_totals, inactive_at, raw)
			VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9::numeric, $10::numeric, '2026-11-20T06:00:00Z',
			        $11, $12::timestamptz, '{}')
			RETURNING id`,
			a.link, "prov-"+a.key, a.name, a.masked, a.typ, a.subtype,
			a.balance, a.available, a.creditLimit, a.availableCredit, a.contributes, a.inactiveAt).Scan(&id))
		f.accounts[a.key] = id
	}

	// u1, September 2026 (UTC posted dates):
	//   income   pay1 3000.00
	//   spending groceries 120.50 (groc1) + 30.00 (dnew) + 25.00 (corner) - 25.00 (refund) = 150.50, 4 rows
	//            diningout 45.00 (inplace) + 64.00 (pnew) = 109.00
	//            clothing 89.99; transfer 200.00 (ext: to an account that is not linked)
	//            total 549.49; net 3000.00 - 549.49 = 2450.51; 9 rows counted
	//   transfers xfer_out/xfer_in (counterpart), cardpay_out (memo and counterpart),
	//            cardpay_in (counterpart of a payment), loanpay_out (counterpart): 5
	//   left out tomb (removed), pold (removed), dold (pending replaced by dnew, still live)
	// u1, October 2026:
	//   income   pay2 3000.00 (income is never a transfer, memo or not) + cash 50.00 + interest 1.23 = 3051.23
	//   spending diningout 15.00 (tacos: 23:30 in Chicago on Sept 30 is Oct 1 UTC), groceries 80.00,
	//            fees 35.00, personal 10.00 (near: *56789 does not name *5678) = 140.00; net 2911.23; 7 rows
	//   transfers loanpay_in (counterpart), memo_only (memo names *3333): 2
	//   pending  pend -33.00 (not in the totals)
	for _, tx := range []fixtureTxn{
		{key: "pay1", account: "chk", signed: "3000.00", postedAt: "2026-09-01T12:00:00Z", category: "income", typ: "ONLINE", memo: "ACME PAYROLL", descr: "ACME Corp Payroll"},
		{key: "groc1", account: "chk", signed: "-120.50", postedAt: "2026-09-03T12:00:00Z", category: "groceries", typ: "POS", merchant: "Fresh Market", descr: "FRESH MARKET #12"},
		{key: "xfer_out", account: "chk", signed: "-500.00", postedAt: "2026-09-05T12:00:00Z", category: "transfer", typ: "TRANSFER", memo: "Internet transfer", descr: "Transfer to savings"},
		{key: "xfer_in", account: "sav", signed: "500.00", postedAt: "2026-09-06T12:00:00Z", category: "transfer", typ: "TRANSFER", memo: "Internet transfer", descr: "Transfer from checking"},
		{key: "cardpay_out", account: "chk", signed: "-300.00", postedAt: "2026-09-10T12:00:00Z", category: "payment", typ: "ONLINE", memo: "CARD PAYMENT *4321", descr: "Rewards Card payment"},
		{key: "cardpay_in", account: "card", signed: "300.00", postedAt: "2026-09-12T12:00:00Z", typ: "ONLINE", memo: "PAYMENT THANK YOU", descr: "Payment - thank you"},
		{key: "ext", account: "chk", signed: "-200.00", postedAt: "2026-09-15T12:00:00Z", category: "transfer", typ: "TRANSFER", memo: "Transfer to *9999", descr: "Transfer to external"},
		{key: "tomb", account: "chk", signed: "-75.00", postedAt: "2026-09-20T12:00:00Z", category: "diningout", typ: "POS", merchant: "Steakhouse", removed: true},
		{key: "inplace", account: "chk", signed: "-45.00", postedAt: "2026-09-22T12:00:00Z", category: "diningout", typ: "POS", merchant: "Cafe Rio"},
		{key: "pold", account: "card", signed: "-60.00", postedAt: "2026-09-25T12:00:00Z", pending: true, category: "diningout", typ: "POS", merchant: "Bistro", removed: true},
		{key: "pnew", account: "card", signed: "-64.00", postedAt: "2026-09-26T12:00:00Z", category: "diningout", typ: "POS", merchant: "Bistro", replaces: "pold"},
		{key: "dold", account: "card", signed: "-30.00", postedAt: "2026-09-27T12:00:00Z", pending: true, category: "groceries", typ: "POS", merchant: "Green Grocer"},
		{key: "dnew", account: "card", signed: "-30.00", postedAt: "2026-09-28T12:00:00Z", category: "groceries", typ: "POS", merchant: "Green Grocer", replaces: "dold"},
		{key: "refund", account: "card", signed: "25.00", postedAt: "2026-09-28T12:00:00Z", category: "groceries", typ: "POS", merchant: "Fresh Market"},
		{key: "corner", account: "chk", signed: "-25.00", postedAt: "2026-09-29T12:00:00Z", category: "groceries", typ: "POS", merchant: "Corner Store"},
		{key: "clothes", account: "card", signed: "-89.99", postedAt: "2026-09-14T12:00:00Z", category: "clothing", typ: "POS", merchant: "Outfitters"},
		{key: "loanpay_out", account: "chk", signed: "-400.00", postedAt: "2026-09-30T12:00:00Z", category: "payment", typ: "TRANSFER", memo: "LOAN PMT", descr: "Auto loan payment"},
		{key: "loanpay_in", account: "loan", signed: "400.00", postedAt: "2026-10-01T12:00:00Z", category: "payment", typ: "ONLINE", descr: "Payment received"},
		{key: "tacos", account: "chk", signed: "-15.00", postedAt: "2026-09-30T23:30:00-05:00", category: "diningout", typ: "POS", merchant: "Late Night Tacos"},
		{key: "pay2", account: "chk", signed: "3000.00", postedAt: "2026-10-01T12:00:00Z", category: "income", typ: "TRANSFER", memo: "ACME PAYROLL *5678", descr: "ACME Corp Payroll"},
		{key: "groc2", account: "chk", signed: "-80.00", postedAt: "2026-10-03T12:00:00Z", category: "groceries", typ: "POS", merchant: "Fresh Market"},
		{key: "pend", account: "chk", signed: "-33.00", postedAt: "2026-10-05T12:00:00Z", pending: true, category: "groceries", typ: "POS", merchant: "Fresh Market"},
		{key: "cash", account: "chk", signed: "50.00", postedAt: "2026-10-07T12:00:00Z", typ: "UNKNOWN", descr: "Mobile deposit"},
		{key: "fee", account: "card", signed: "-35.00", postedAt: "2026-10-10T12:00:00Z", category: "fees", typ: "FEE", descr: "LATE FEE"},
		{key: "memo_only", account: "sav", signed: "-100.00", postedAt: "2026-10-15T12:00:00Z", category: "savings", typ: "ONLINE", memo: "To Holiday Club *3333", descr: "Holiday club deposit"},
		{key: "near", account: "chk", signed: "-10.00", postedAt: "2026-10-16T12:00:00Z", category: "personal", typ: "ONLINE", memo: "REF *56789"},
		{key: "interest", account: "sav", signed: "1.23", postedAt: "2026-10-31T12:00:00Z", typ: "INTEREST", descr: "Interest paid"},

		// u2, September: income 200.00 + 500.00 (transfers in from accounts
		// that are not linked), spending 999.00 + 100.00 (its memo names u1's
		// card, not one of u2's accounts) = 1099.00.
		{key: "u2a", account: "u2chk", signed: "200.00", postedAt: "2026-09-15T12:00:00Z", category: "transfer", typ: "TRANSFER", descr: "From external"},
		{key: "u2b", account: "u2chk", signed: "-999.00", postedAt: "2026-09-03T12:00:00Z", category: "groceries", typ: "POS", merchant: "Fresh Market"},
		{key: "u2c", account: "u2chk", signed: "-100.00", postedAt: "2026-09-10T12:00:00Z", category: "transfer", typ: "TRANSFER", memo: "to *4321", descr: "Transfer out"},
		{key: "u2d", account: "u2chk", signed: "500.00", postedAt: "2026-09-05T12:00:00Z", category: "transfer", typ: "TRANSFER", descr: "From external"},
	} {
		var replaces any
		if tx.replaces != "" {
			replaces = "prov-" + tx.replaces
		}
		status := "NoReconciliation"
		if tx.pending {
			status = "InstitutionPending"
		}
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending,
			                          pending_status, type, memo, description, merchant_name, category,
			                          replaces_provider_transaction_id, removed_at, raw)
			SELECT a.id, $2, CASE WHEN a.is_liability THEN -$3::numeric ELSE $3::numeric END, $3::numeric, $4, $5,
			       $6, $7, $8, $9, $10, $11, $12, CASE WHEN $13 THEN now() END, '{}'
			FROM accounts a WHERE a.id = $1
			RETURNING id`,
			f.accounts[tx.account], "prov-"+tx.key, tx.signed, tx.postedAt, tx.pending,
			status, tx.typ, tx.memo, tx.descr, tx.merchant, tx.category, replaces, tx.removed).Scan(&id))
		f.txns[tx.key] = id
	}

	// Snapshots with gaps.
	for _, s := range []struct{ account, day, balance string }{
		{"chk", "2026-09-01", "1000.00"},
		{"chk", "2026-09-04", "1200.00"},
		{"chk", "2026-09-05", "900.00"},
		{"sav", "2026-09-03", "5000.00"},
		{"sav", "2026-09-06", "5500.00"},
		{"card", "2026-09-02", "700.00"},
		{"card", "2026-09-05", "764.00"},
		{"loan", "2026-09-01", "15400.00"},
		{"loan", "2026-10-01", "15000.00"},
		{"old", "2026-09-01", "50.00"},
		{"xmas", "2026-09-01", "300.00"},
		{"u2chk", "2026-09-01", "99999.00"},
	} {
		_, err := pool.Exec(ctx, `
			INSERT INTO balance_snapshots (account_id, day, balance, as_of)
			VALUES ($1, $2::date, $3::numeric, $2::date + time '12:00')`, f.accounts[s.account], s.day, s.balance)
		require.NoError(t, err)
	}
	return f
}

// rowsText runs a query whose columns are all text (cast them) or bool
// or integer, and returns its rows with NULL as "NULL".
func rowsText(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestReporting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Accounts", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		got := rowsText(t, f.pool, `
			SELECT name, institution_slug, masked_number, is_liability, balance::text, current_balance_signed::text,
			       coalesce(available::text, 'NULL'), inactive
			FROM reporting.accounts WHERE app_user_ref = 'u1' ORDER BY name`)
		require.Equal(t, [][]string{
			{"Auto Loan", "garden", "*9012", "true", "15000.00", "-15000.00", "NULL", "false"},
			{"Everyday Checking", "garden", "*1234", "false", "2500.00", "2500.00", "2400.00", "false"},
			{"Holiday Club", "garden", "*3333", "false", "300.00", "300.00", "NULL", "false"},
			{"Old Checking", "garden", "*1111", "false", "0.00", "0.00", "NULL", "true"},
			{"Rainy Day Savings", "garden", "*5678", "false", "10000.00", "10000.00", "10000.00", "false"},
			{"Rewards Card", "garden", "*4321", "true", "750.00", "-750.00", "4250.00", "false"},
		}, got)

		// A liability without availableCredit: credit_limit - balance.
		_, err := f.pool.Exec(ctx, `UPDATE accounts SET available_credit = NULL WHERE id = $1`, f.accounts["card"])
		require.NoError(t, err)
		got = rowsText(t, f.pool, `SELECT available::text FROM reporting.accounts WHERE account_id = $1`, f.accounts["card"])
		require.Equal(t, [][]string{{"4250.00"}}, got)

		got = rowsText(t, f.pool, `SELECT name, link_status FROM reporting.accounts WHERE app_user_ref = 'u2' ORDER BY name`)
		require.Equal(t, [][]string{{"U2 Checking", "reauth_required"}, {"U2 Savings", "reauth_required"}}, got)
	})

	t.Run("Transactions", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)

		// 27 rows for u1 minus tomb and pold (removed) and dold (a pending
		// replaced by a live posted row).
		var n int
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM reporting.transactions WHERE app_user_ref = 'u1'`).Scan(&n))
		require.Equal(t, 24, n)
		got := rowsText(t, f.pool, `
			SELECT provider_transaction_id FROM reporting.transactions
			WHERE provider_transaction_id IN ('prov-tomb', 'prov-pold', 'prov-dold')`)
		require.Empty(t, got)

		got = rowsText(t, f.pool, `
			SELECT provider_transaction_id FROM reporting.transactions
			WHERE app_user_ref = 'u1' AND is_transfer ORDER BY provider_transaction_id`)
		require.Equal(t, [][]string{
			{"prov-cardpay_in"}, {"prov-cardpay_out"}, {"prov-loanpay_in"}, {"prov-loanpay_out"},
			{"prov-memo_only"}, {"prov-xfer_in"}, {"prov-xfer_out"},
		}, got)
		got = rowsText(t, f.pool, `SELECT count(*) FROM reporting.transactions WHERE app_user_ref = 'u2' AND is_transfer`)
		require.Equal(t, [][]string{{"0"}}, got)

		got = rowsText(t, f.pool, `
			SELECT provider_transaction_id, posted_date::text, pending, amount::text, raw_amount::text,
			       merchant, category, flow
			FROM reporting.transactions
			WHERE provider_transaction_id IN ('prov-tacos', 'prov-refund', 'prov-cash', 'prov-ext', 'prov-near',
			                                  'prov-pnew', 'prov-pend', 'prov-cardpay_in', 'prov-pay2')
			ORDER BY provider_transaction_id`)
		require.Equal(t, [][]string{
			{"prov-cardpay_in", "2026-09-12", "false", "300.00", "-300.00", "Payment - thank you", "uncategorized", "transfer"},
			{"prov-cash", "2026-10-07", "false", "50.00", "50.00", "Mobile deposit", "uncategorized", "income"},
			{"prov-ext", "2026-09-15", "false", "-200.00", "-200.00", "Transfer to external", "transfer", "spending"},
			{"prov-near", "2026-10-16", "false", "-10.00", "-10.00", "unknown", "personal", "spending"},
			{"prov-pay2", "2026-10-01", "false", "3000.00", "3000.00", "ACME Corp Payroll", "income", "income"},
			{"prov-pend", "2026-10-05", "true", "-33.00", "-33.00", "Fresh Market", "groceries", "spending"},
			{"prov-pnew", "2026-09-26", "false", "-64.00", "64.00", "Bistro", "diningout", "spending"},
			{"prov-refund", "2026-09-28", "false", "25.00", "-25.00", "Fresh Market", "groceries", "refund"},
			{"prov-tacos", "2026-10-01", "false", "-15.00", "-15.00", "Late Night Tacos", "diningout", "spending"},
		}, got)

		// Once the bank inactivates the replaced pending row nothing changes;
		// a pending row updated in place to posted is one row.
		_, err := f.pool.Exec(ctx, `UPDATE transactions SET removed_at = now() WHERE id = $1`, f.txns["dold"])
		require.NoError(t, err)
		_, err = f.pool.Exec(ctx, `UPDATE transactions SET pending = false, pending_status = 'Reconciled' WHERE id = $1`, f.txns["pend"])
		require.NoError(t, err)
		got = rowsText(t, f.pool, `
			SELECT count(*), count(*) FILTER (WHERE pending) FROM reporting.transactions WHERE app_user_ref = 'u1'`)
		require.Equal(t, [][]string{{"24", "0"}}, got)

		// A transfer needs its counterpart within 3 days: moved 4 days
		// away, both sides of the checking -> savings transfer count again.
		_, err = f.pool.Exec(ctx, `UPDATE transactions SET posted_at = '2026-09-10T12:00:00Z' WHERE id = $1`, f.txns["xfer_in"])
		require.NoError(t, err)
		got = rowsText(t, f.pool, `
			SELECT provider_transaction_id, is_transfer, flow FROM reporting.transactions
			WHERE provider_transaction_id IN ('prov-xfer_in', 'prov-xfer_out') ORDER BY 1`)
		require.Equal(t, [][]string{{"prov-xfer_in", "false", "income"}, {"prov-xfer_out", "false", "spending"}}, got)
	})

	t.Run("DailyBalancesCarryForward", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		var today string
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT ((now() AT TIME ZONE 'UTC')::date)::text`).Scan(&today))

		got := rowsText(t, f.pool, `
			SELECT day::text, balance::text, balance_signed::text, snapshot_day::text, carried_forward
			FROM reporting.daily_balances WHERE account_id = $1 AND day <= '2026-09-07' ORDER BY day`, f.accounts["chk"])
		require.Equal(t, [][]string{
			{"2026-09-01", "1000.00", "1000.00", "2026-09-01", "false"},
			{"2026-09-02", "1000.00", "1000.00", "2026-09-01", "true"},
			{"2026-09-03", "879.50", "879.50", "2026-09-01", "true"}, // the snapshot, less groc1 posted since
			{"2026-09-04", "1200.00", "1200.00", "2026-09-04", "false"},
			{"2026-09-05", "900.00", "900.00", "2026-09-05", "false"},
			{"2026-09-06", "900.00", "900.00", "2026-09-05", "true"},
			{"2026-09-07", "900.00", "900.00", "2026-09-05", "true"},
		}, got)

		// Every day from the first snapshot to today, once; after the last
		// snapshot (900.00 on 09-05), the transactions posted since:
		// -300 -200 -45 -25 -400 -15 +3000 -80 +50 -10 = 2875.00.
		got = rowsText(t, f.pool, `
			SELECT count(*)::text, count(DISTINCT day)::text, min(day)::text, max(day)::text,
			       ((now() AT TIME ZONE 'UTC')::date - date '2026-09-01' + 1)::text
			FROM reporting.daily_balances WHERE account_id = $1`, f.accounts["chk"])
		require.Equal(t, got[0][4], got[0][0])
		require.Equal(t, got[0][0], got[0][1])
		require.Equal(t, []string{"2026-09-01", today}, got[0][2:4])
		got = rowsText(t, f.pool, `
			SELECT balance::text, snapshot_day::text FROM reporting.daily_balances
			WHERE account_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date`, f.accounts["chk"])
		require.Equal(t, [][]string{{"2875.00", "2026-09-05"}}, got)

		// A liability: balance as the bank gives it, signed negative.
		got = rowsText(t, f.pool, `
			SELECT day::text, balance::text, balance_signed::text
			FROM reporting.daily_balances WHERE account_id = $1 AND day <= '2026-09-06' ORDER BY day`, f.accounts["card"])
		require.Equal(t, [][]string{
			{"2026-09-02", "700.00", "-700.00"},
			{"2026-09-03", "700.00", "-700.00"},
			{"2026-09-04", "700.00", "-700.00"},
			{"2026-09-05", "764.00", "-764.00"},
			{"2026-09-06", "764.00", "-764.00"},
		}, got)

		// The inactive account stops on the day it became inactive.
		got = rowsText(t, f.pool, `
			SELECT day::text, balance::text FROM reporting.daily_balances WHERE account_id = $1 ORDER BY day`, f.accounts["old"])
		require.Equal(t, [][]string{
			{"2026-09-01", "50.00"}, {"2026-09-02", "50.00"}, {"2026-09-03", "50.00"}, {"2026-09-04", "50.00"},
		}, got)
	})

	t.Run("NetWorthDaily", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		// assets = chk + sav + old (the holiday club does not contribute);
		// debts = card + loan.
		//   09-01 chk 1000 + old 50                 ; loan 15400            -> -14350
		//   09-02 chk 1000 + old 50                 ; card 700 + loan 15400 -> -15050
		//   09-03 chk 879.50 + sav 5000 + old 50    ; 16100                 -> -10170.50
		//   09-04 chk 1200 + sav 5000 + old 50      ; 16100                 ->  -9850
		//   09-05 chk 900 + sav 5000 (old inactive) ; card 764 + loan 15400 -> -10264
		//   09-06 chk 900 + sav 5500                ; 16164                 ->  -9764
		//   09-30 chk 900 -300 -200 -45 -25 -400 = -70 + sav 5500 = 5430;
		//         card 764 +89.99 -300 +64 +30 -25 = 622.99 + loan 15400    -> -10592.99
		//   10-01 chk -70 -15 +3000 = 2915 + sav 5500 = 8415;
		//         card 622.99 + loan 15000                                  ->  -7207.99
		//   today chk 2915 -80 +50 -10 = 2875 + sav 5500 -100 +1.23 = 8276.23;
		//         card 622.99 +35 = 657.99 + loan 15000                     ->  -7381.76
		got := rowsText(t, f.pool, `
			SELECT day::text, assets::text, debts::text, net_worth::text, accounts
			FROM reporting.net_worth_daily
			WHERE app_user_ref = 'u1' AND (day <= '2026-09-07' OR day IN ('2026-09-30', '2026-10-01'))
			ORDER BY day`)
		require.Equal(t, [][]string{
			{"2026-09-01", "1050.00", "15400.00", "-14350.00", "3"},
			{"2026-09-02", "1050.00", "16100.00", "-15050.00", "4"},
			{"2026-09-03", "5929.50", "16100.00", "-10170.50", "5"},
			{"2026-09-04", "6250.00", "16100.00", "-9850.00", "5"},
			{"2026-09-05", "5900.00", "16164.00", "-10264.00", "4"},
			{"2026-09-06", "6400.00", "16164.00", "-9764.00", "4"},
			{"2026-09-07", "6400.00", "16164.00", "-9764.00", "4"},
			{"2026-09-30", "5430.00", "16022.99", "-10592.99", "4"},
			{"2026-10-01", "8415.00", "15622.99", "-7207.99", "4"},
		}, got)
		got = rowsText(t, f.pool, `
			SELECT net_worth::text FROM reporting.net_worth_daily
			WHERE app_user_ref = 'u1' AND day = (now() AT TIME ZONE 'UTC')::date`)
		require.Equal(t, [][]string{{"-7381.76"}}, got)
		got = rowsText(t, f.pool, `
			SELECT day::text, assets::text, debts::text, net_worth::text FROM reporting.net_worth_daily
			WHERE app_user_ref = 'u2' AND day = '2026-09-01'`)
		require.Equal(t, [][]string{{"2026-09-01", "99999.00", "0", "99999.00"}}, got)
	})

	t.Run("MonthlyCashFlow", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		const q = `
			SELECT app_user_ref, month::text, income::text, spending::text, refunds::text, net::text,
			       transactions, transfers_excluded, pending_count, pending_net::text
			FROM reporting.monthly_cash_flow ORDER BY app_user_ref, month`
		want := [][]string{
			{"u1", "2026-09-01", "3000.00", "549.49", "25.00", "2450.51", "9", "5", "0", "0"},
			{"u1", "2026-10-01", "3051.23", "140.00", "0", "2911.23", "7", "2", "1", "-33.00"},
			{"u2", "2026-09-01", "700.00", "1099.00", "0", "-399.00", "4", "0", "0", "0"},
		}
		require.Equal(t, want, rowsText(t, f.pool, q))

		// Dates are UTC whatever the session's time zone.
		for _, tz := range []string{"America/Chicago", "Pacific/Kiritimati"} {
			tx, err := f.pool.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, "SELECT set_config('TimeZone', $1, true)", tz)
			require.NoError(t, err)
			require.Equal(t, want, rowsText(t, tx, q), tz)
			require.NoError(t, tx.Rollback(ctx))
		}

		// Once the pending transaction posts, it counts.
		_, err := f.pool.Exec(ctx, `UPDATE transactions SET pending = false WHERE id = $1`, f.txns["pend"])
		require.NoError(t, err)
		got := rowsText(t, f.pool, `
			SELECT spending::text, net::text, pending_count FROM reporting.monthly_cash_flow
			WHERE app_user_ref = 'u1' AND month = '2026-10-01'`)
		require.Equal(t, [][]string{{"173.00", "2878.23", "0"}}, got)
	})

	t.Run("SpendingByCategoryAndMerchant", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		got := rowsText(t, f.pool, `
			SELECT month::text, category, amount::text, refunds::text, transaction_count
			FROM reporting.spending_by_category WHERE app_user_ref = 'u1' ORDER BY month, category`)
		require.Equal(t, [][]string{
			{"2026-09-01", "clothing", "89.99", "0", "1"},
			{"2026-09-01", "diningout", "109.00", "0", "2"},
			{"2026-09-01", "groceries", "150.50", "25.00", "4"},
			{"2026-09-01", "transfer", "200.00", "0", "1"},
			{"2026-10-01", "diningout", "15.00", "0", "1"},
			{"2026-10-01", "fees", "35.00", "0", "1"},
			{"2026-10-01", "groceries", "80.00", "0", "1"},
			{"2026-10-01", "personal", "10.00", "0", "1"},
		}, got)

		got = rowsText(t, f.pool, `
			SELECT month::text, merchant, amount::text, refunds::text, transaction_count
			FROM reporting.spending_by_merchant WHERE app_user_ref = 'u1' ORDER BY month, merchant`)
		require.Equal(t, [][]string{
			{"2026-09-01", "Bistro", "64.00", "0", "1"},
			{"2026-09-01", "Cafe Rio", "45.00", "0", "1"},
			{"2026-09-01", "Corner Store", "25.00", "0", "1"},
			{"2026-09-01", "Fresh Market", "95.50", "25.00", "2"},
			{"2026-09-01", "Green Grocer", "30.00", "0", "1"},
			{"2026-09-01", "Outfitters", "89.99", "0", "1"},
			{"2026-09-01", "Transfer to external", "200.00", "0", "1"},
			{"2026-10-01", "Fresh Market", "80.00", "0", "1"},
			{"2026-10-01", "LATE FEE", "35.00", "0", "1"},
			{"2026-10-01", "Late Night Tacos", "15.00", "0", "1"},
			{"2026-10-01", "unknown", "10.00", "0", "1"},
		}, got)

		// Both breakdowns add up to the cash flow's spending.
		got = rowsText(t, f.pool, `
			SELECT m.month::text, m.spending::text,
			       (SELECT sum(amount) FROM reporting.spending_by_category c WHERE c.app_user_ref = m.app_user_ref AND c.month = m.month)::text,
			       (SELECT sum(amount) FROM reporting.spending_by_merchant c WHERE c.app_user_ref = m.app_user_ref AND c.month = m.month)::text
			FROM reporting.monthly_cash_flow m ORDER BY m.app_user_ref, m.month`)
		require.Equal(t, [][]string{
			{"2026-09-01", "549.49", "549.49", "549.49"},
			{"2026-10-01", "140.00", "140.00", "140.00"},
			{"2026-09-01", "1099.00", "1099.00", "1099.00"},
		}, got)

		got = rowsText(t, f.pool, `
			SELECT category, amount::text FROM reporting.spending_by_category WHERE app_user_ref = 'u2' ORDER BY category`)
		require.Equal(t, [][]string{{"groceries", "999.00"}, {"transfer", "100.00"}}, got)
	})

	t.Run("LinkStatus", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		got := rowsText(t, f.pool, `
			SELECT app_user_ref, institution_slug, status, array_to_string(granted_scopes, ' '),
			       array_to_string(missing_scopes, ' '), coalesce(last_error_class, 'NULL'), consecutive_failures,
			       accounts, active_accounts, transactions,
			       coalesce(last_run_started_at::text, 'NULL'), coalesce(last_run_outcome, 'NULL'),
			       coalesce(last_run_error_class, 'NULL')
			FROM reporting.link_status ORDER BY app_user_ref`)
		// u1: 27 transactions, 25 live (tomb and pold are removed; dold is
		// live in storage though hidden by reporting.transactions).
		require.Equal(t, [][]string{
			{"u1", "garden", "active", "openid accounts.readonly transactions.detail.readonly", "user.profile.readonly",
				"transient", "0", "6", "5", "25", "2026-11-20 06:00:00+00", "success", "NULL"},
			{"u2", "garden", "reauth_required", "openid accounts.readonly", "", "consent_revoked", "3",
				"2", "2", "4", "NULL", "NULL", "NULL"},
		}, got)
	})

	t.Run("ChangeFeed", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		type change struct{ user, link, key, kind string }
		var seqs []int64
		for _, c := range []change{
			{"u1", f.link1, "pay1", "added"},
			{"u2", f.link2, "u2b", "added"},
			{"u1", f.link1, "pold", "added"},
			{"u1", f.link1, "pnew", "added"},
			{"u1", f.link1, "pold", "removed"},
			{"u1", f.link1, "pay1", "modified"},
			{"u1", f.link1, "tomb", "added"},
			{"u1", f.link1, "tomb", "removed"},
			{"u1", f.link1, "dold", "added"},
		} {
			var seq int64
			require.NoError(t, f.pool.QueryRow(ctx, `
				INSERT INTO transaction_change_pages (app_user_ref, link_id, account_id, first_seq, last_seq, entries, seqs, transaction_ids, changes)
				SELECT $1, $2, t.account_id, s.seq, s.seq, 1, ARRAY[s.seq], ARRAY[t.id], ARRAY[left($4, 1)::"char"]
				FROM transactions t, (SELECT nextval('transaction_change_seq') AS seq) s WHERE t.id = $3
				RETURNING last_seq`, c.user, c.link, f.txns[c.key], c.kind).Scan(&seq))
			seqs = append(seqs, seq)
		}
		const page = `
			SELECT seq, provider_transaction_id, change, present, coalesce(amount::text, 'NULL'),
			       coalesce(pending::text, 'NULL'), coalesce(category, 'NULL')
			FROM reporting.transaction_changes_since($1, $2, $3)`
		s := func(i int) string { return fmt.Sprint(seqs[i]) }
		got := rowsText(t, f.pool, page, "u1", 0, 100)
		require.Equal(t, [][]string{
			{s(0), "prov-pay1", "added", "true", "3000.00", "false", "income"},
			{s(2), "prov-pold", "added", "false", "NULL", "NULL", "NULL"}, // removed since
			{s(3), "prov-pnew", "added", "true", "-64.00", "false", "diningout"},
			{s(4), "prov-pold", "removed", "false", "NULL", "NULL", "NULL"},
			{s(5), "prov-pay1", "modified", "true", "3000.00", "false", "income"},
			{s(6), "prov-tomb", "added", "false", "NULL", "NULL", "NULL"},
			{s(7), "prov-tomb", "removed", "false", "NULL", "NULL", "NULL"},
			{s(8), "prov-dold", "added", "false", "NULL", "NULL", "NULL"}, // replaced by its posted version
		}, got)

		got = rowsText(t, f.pool, page, "u1", seqs[3], 2)
		require.Equal(t, []string{s(4), s(5)}, []string{got[0][0], got[1][0]})
		require.Len(t, got, 2)
		require.Empty(t, rowsText(t, f.pool, page, "u1", seqs[8], 100))
		got = rowsText(t, f.pool, page, "u2", 0, 100)
		require.Equal(t, [][]string{{s(1), "prov-u2b", "added", "true", "-999.00", "false", "groceries"}}, got)

		// A consumer paging with a cursor ends with the live transactions.
		mirror := map[int64]string{}
		var cursor int64
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			rows, err := f.pool.Query(ctx, `
				SELECT seq, transaction_id, present, amount::text FROM reporting.transaction_changes_since('u1', $1, 3)`, cursor)
			require.NoError(t, err)
			type feedRow struct {
				Seq, TransactionID int64
				Present            bool
				Amount             *string
			}
			page, err := pgx.CollectRows(rows, pgx.RowToStructByPos[feedRow])
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				require.Greater(t, r.Seq, cursor)
				cursor = r.Seq
				if r.Present {
					mirror[r.TransactionID] = *r.Amount
				} else {
					delete(mirror, r.TransactionID)
				}
			}
		}
		require.Equal(t, map[int64]string{f.txns["pay1"]: "3000.00", f.txns["pnew"]: "-64.00"}, mirror)
		require.Equal(t, seqs[8], cursor)
	})

	t.Run("ReaderRole", func(t *testing.T) {
		t.Parallel()
		f := newReportingFixture(t)
		asReader := func(sql string) error {
			tx, err := f.pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { require.NoError(t, tx.Rollback(ctx)) }()
			_, err = tx.Exec(ctx, "SET LOCAL ROLE pfm_reader")
			require.NoError(t, err)
			rows, err := tx.Query(ctx, sql)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			return rows.Err()
		}

		for _, v := range reportingViews {
			require.NoError(t, asReader("SELECT * FROM reporting."+v), v)
		}
		require.NoError(t, asReader("SELECT * FROM reporting.transaction_changes_since('u1', 0, 10)"))
		require.NoError(t, asReader("SELECT * FROM reporting.net_worth_daily WHERE app_user_ref = 'u1'"))

		tables := rowsText(t, f.pool, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
		require.NotEmpty(t, tables)
		for _, tbl := range tables {
			err := asReader("SELECT * FROM public." + pgx.Identifier{tbl[0]}.Sanitize() + " LIMIT 1")
			var pgErr *pgconn.PgError
			require.True(t, errors.As(err, &pgErr), "%s: %v", tbl[0], err)
			require.Equal(t, "42501", pgErr.Code, tbl[0])
		}
		for _, tbl := range []string{"link_tokens", "consent_requests", "links", "transactions"} {
			got := rowsText(t, f.pool, `SELECT has_table_privilege('pfm_reader', $1, 'SELECT')`, "public."+tbl)
			require.Equal(t, [][]string{{"false"}}, got, tbl)
		}

		// NOLOGIN until an operator enables it; reporting is read-only to it.
		got := rowsText(t, f.pool, `SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'pfm_reader'`)
		require.Equal(t, [][]string{{"false", "false"}}, got)
		for _, v := range reportingViews {
			got := rowsText(t, f.pool, `SELECT has_table_privilege('pfm_reader', $1, 'SELECT'),
				has_table_privilege('pfm_reader', $1, 'INSERT, UPDATE, DELETE, TRUNCATE')`, "reporting."+v)
			require.Equal(t, [][]string{{"true", "false"}}, got, v)
		}
	})

	t.Run("Documented", func(t *testing.T) {
		t.Parallel()
		pool := testdb.New(t)
		got := rowsText(t, pool, `
			SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class') <> '', false)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'reporting' ORDER BY c.relname`)
		want := make([][]string, 0, len(reportingViews))
		for _, v := range reportingViews {
			want = append(want, []string{v, "true"})
		}
		require.Equal(t, want, got, "every reporting view exists and has a comment")
		got = rowsText(t, pool, `
			SELECT p.proname, coalesce(obj_description(p.oid, 'pg_proc') <> '', false),
			       has_function_privilege('pfm_reader', p.oid, 'EXECUTE')
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = 'reporting' ORDER BY p.proname`)
		require.Equal(t, [][]string{{"events_head", "true", "true"}, {"events_since", "true", "true"}, {"transaction_changes_head", "true", "true"}, {"transaction_changes_since", "true", "true"}}, got)
	})

	t.Run("RoleMigrationIsConcurrencySafe", func(t *testing.T) {
		t.Parallel()
		// Three databases of one cluster migrate at once; then one goes
		// down below the reporting migration and up again. The cluster-wide
		// role survives (the others still use it) and keeps its grants.
		pools := make([]*pgxpool.Pool, 3)
		for i := range pools {
			pool, err := pgxpool.New(ctx, testdb.NewEmptyURL(t))
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			pools[i] = pool
		}
		var wg sync.WaitGroup
		errs := make([]error, len(pools))
		for i, pool := range pools {
			wg.Go(func() { _, errs[i] = store.Migrate(pool, nil) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}

		require.NoError(t, migrateTo(pools[0], 11))
		got := rowsText(t, pools[0], `SELECT count(*) FROM pg_namespace WHERE nspname = 'reporting'`)
		require.Equal(t, [][]string{{"0"}}, got)
		got = rowsText(t, pools[1], `SELECT count(*) FROM pg_roles WHERE rolname = 'pfm_reader'`)
		require.Equal(t, [][]string{{"1"}}, got)
		_, err := store.Migrate(pools[0], nil)
		require.NoError(t, err)
		for _, pool := range pools {
			got := rowsText(t, pool, `SELECT has_table_privilege('pfm_reader', 'reporting.monthly_cash_flow', 'SELECT')`)
			require.Equal(t, [][]string{{"true"}}, got)
		}
	})
}
