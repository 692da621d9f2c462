package dashboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/reporting"
	"github.com/pfmsync/pfmsync/internal/reporting/reportingtest"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// fixture is a hand-made app user "alice": a checking account, a savings
// account and a credit card at one institution (synced), and an auto loan
// at another whose link needs re-consent; fourteen months of paychecks,
// rent, a subscription, groceries, dining, card and loan payments (own
// transfers), and a pending purchase.
type fixture struct {
	admin    *pgxpool.Pool // the owner, to seed
	reader   *pgxpool.Pool // a pfm_reader login role, as the dashboard connects
	links    map[string]string
	accounts map[string]string
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dbURL := testdb.NewURL(t)
	admin, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	readerURL := reportingtest.ReaderURL(t, dbURL)
	reader, err := pgxpool.New(ctx, readerURL)
	require.NoError(t, err)
	t.Cleanup(reader.Close)
	f := &fixture{admin: admin, reader: reader, links: map[string]string{}, accounts: map[string]string{}, now: time.Now().UTC()}

	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := admin.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	var garden, orchard int64
	require.NoError(t, admin.QueryRow(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ('garden', 'Garden Financial', 'https://garden.example/oidc', 'https://garden.example/api', 'c1') RETURNING id`).Scan(&garden))
	require.NoError(t, admin.QueryRow(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ('orchard', 'Orchard Credit Union', 'https://orchard.example/oidc', 'https://orchard.example/api', 'c2') RETURNING id`).Scan(&orchard))
	for key, row := range map[string]struct {
		inst   int64
		status string
		synced time.Time
	}{
		"garden":  {garden, "active", f.now.Add(-2 * time.Hour)},
		"orchard": {orchard, "reauth_required", f.now.Add(-5 * 24 * time.Hour)},
	} {
		var id string
		require.NoError(t, admin.QueryRow(ctx, `
			INSERT INTO links (institution_id, app_user_ref, banno_user_id, status, last_success_at)
			VALUES ($1, 'alice', $2, $3, $4) RETURNING id`, row.inst, "banno-"+key, row.status, row.synced).Scan(&id))
		f.links[key] = id
	}
	for _, a := range []struct{ key, link, name, mask, typ, sub, balance string }{
		{"chk", "garden", "Everyday Checking", "*1234", "Deposit", "Checking", "4210.55"},
		{"sav", "garden", "Rainy Day Savings", "*5678", "Deposit", "Savings", "15000.00"},
		{"card", "garden", "Cash Rewards Card", "*4321", "Line of Credit", "Credit Card", "1234.56"},
		{"loan", "orchard", "Auto Loan", "*9012", "Debt", "Auto Loan", "18250.00"},
	} {
		asOf := f.now.Add(-2 * time.Hour)
		if a.link == "orchard" {
			asOf = f.now.Add(-5 * 24 * time.Hour)
		}
		var id string
		require.NoError(t, admin.QueryRow(ctx, `
			INSERT INTO accounts (link_id, provider_account_id, name, masked_number, account_type, account_subtype,
			                      balance, balance_as_of, raw)
			VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, '{}') RETURNING id`,
			f.links[a.link], a.key, a.name, a.mask, a.typ, a.sub, a.balance, asOf).Scan(&id))
		f.accounts[a.key] = id
		exec(`INSERT INTO balance_snapshots (account_id, day, balance, as_of)
		      VALUES ($1, ($2::timestamptz AT TIME ZONE 'UTC')::date, $3::numeric, $2)`, id, asOf, a.balance)
	}

	n := 0
	add := func(acct, signed string, at time.Time, category, typ, merchant string, pending bool) {
		if !at.Before(f.now.Add(-time.Hour)) {
			return
		}
		n++
		exec(`
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending,
			                          type, merchant_name, description, category, raw)
			SELECT a.id, $2, CASE WHEN a.is_liability THEN -$3::numeric ELSE $3::numeric END, $3::numeric, $4, $5,
			       $6, $7, $7, $8, '{}'
			FROM accounts a WHERE a.id = $1`,
			f.accounts[acct], fmt.Sprint("t", n), signed, at, pending, typ, merchant, category)
	}
	month0 := time.Date(f.now.Year(), f.now.Month(), 1, 12, 0, 0, 0, time.UTC)
	// The monthly history ends before the balances' as-of time (two hours
	// ago): a transaction after it would move today's net worth, whatever
	// the time of day the test runs at.
	history := func(acct, signed string, at time.Time, category, typ, merchant string) {
		if at.Before(f.now.Add(-2 * time.Hour)) {
			add(acct, signed, at, category, typ, merchant, false)
		}
	}
	for m := 13; m >= 0; m-- {
		mo := month0.AddDate(0, -m, 0)
		day := func(d int) time.Time { return mo.AddDate(0, 0, d-1) }
		history("chk", "3250.00", day(1), "income", "ACH", "Acme Corp Payroll")
		history("chk", "3250.00", day(15), "income", "ACH", "Acme Corp Payroll")
		history("chk", "-1850.00", day(3), "home", "ACH", "Parkview Apartments")
		history("card", "-15.49", day(9), "entertainment", "POS", "Streamflix")
		history("card", fmt.Sprintf("-%d.%02d", 80+m*3, (m*17)%100), day(12), "groceries", "POS", "Fresh Market")
		history("card", fmt.Sprintf("-%d.50", 42+m), day(20), "diningout", "POS", "Luigi's Trattoria")
		history("chk", "-500.00", day(25), "payment", "TRANSFER", "Card payment")
		history("card", "500.00", day(25), "payment", "TRANSFER", "Payment thank you")
		history("chk", "-410.00", day(27), "payment", "TRANSFER", "Auto loan payment")
		history("loan", "410.00", day(27), "payment", "TRANSFER", "Payment received")
	}
	add("card", "-23.45", f.now.Add(-90*time.Minute), "diningout", "POS", "Corner Bistro", true)
	add("chk", "-64.20", f.now.Add(-2*time.Hour), "groceries", "POS", "Green Grocer", false)
	return f
}

// readerRows runs a query as the reader role and returns its rows as text.
func (f *fixture) readerRows(t *testing.T, sql string, args ...any) [][]string {
	t.Helper()
	rows, err := f.reader.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

func (f *fixture) readerAPI() *reporting.Reader { return reporting.New(f.reader) }
