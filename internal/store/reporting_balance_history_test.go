package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testdb"
)

// TestReportingBalanceHistory checks the reconstruction of daily balances
// before the first snapshot (backwards through the posted transactions),
// the runningBalance check, and that pending and removed rows never count.
func TestReportingBalanceHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	var inst int64
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ('garden', 'Garden Financial', 'https://garden.example/oidc', 'https://garden.example/api', 'c')
		RETURNING id`).Scan(&inst))
	var link string
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO links (institution_id, app_user_ref, banno_user_id) VALUES ($1, 'h1', 'b-h1') RETURNING id`, inst).Scan(&link))
	var chk, card string
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO accounts (link_id, provider_account_id, name, account_type, balance, raw)
		VALUES ($1, 'chk', 'Checking', 'Deposit', '1000.00', '{}') RETURNING id`, link).Scan(&chk))
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO accounts (link_id, provider_account_id, name, account_type, balance, raw)
		VALUES ($1, 'card', 'Card', 'Line of Credit', '250.00', '{}') RETURNING id`, link).Scan(&card))

	// Checking, linked on 2026-06-10 at 12:00 with 1000.00 (t5 is in it,
	// t6 is after it). Closing balances:
	//   06-10  1000.00 - 40.00 (t6) = 960.00, the snapshot's day
	//   06-09  1000.00 + 25.00 (t5) = 1025.00 (the pending and the removed rows never count)
	//   06-08  1025.00, and t4's runningBalance agrees: observed
	//   06-07  1025.00 + 100.00 - 2000.00 + 100.00 = -775.00, derived (no transaction)
	//   06-05  -775.00, t1's runningBalance agrees: observed
	// t6's runningBalance (999.99) disagrees with the snapshot: not used.
	for _, tx := range []struct {
		id, amount, at string
		running        any
		pending        bool
		removed        bool
	}{
		{"t1", "-50.00", "2026-06-05T15:00:00Z", "-775.00", false, false},
		{"t2", "-100.00", "2026-06-08T10:00:00Z", "-875.00", false, false},
		{"t3", "2000.00", "2026-06-08T11:00:00Z", "1125.00", false, false},
		{"t4", "-100.00", "2026-06-08T16:00:00Z", "1025.00", false, false},
		{"pend", "-999.00", "2026-06-09T10:00:00Z", nil, true, false},
		{"gone", "-555.00", "2026-06-09T11:00:00Z", "470.00", false, true},
		{"t5", "-25.00", "2026-06-10T09:00:00Z", "1000.00", false, false},
		{"t6", "-40.00", "2026-06-10T14:00:00Z", "999.99", false, false}, // wrong runningBalance: derived
	} {
		_, err := pool.Exec(ctx, `
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending,
			                          running_balance, removed_at, raw)
			VALUES ($1, $2, $3::numeric, $3::numeric, $4, $5, $6::numeric, CASE WHEN $7 THEN now() END, '{}')`,
			chk, tx.id, tx.amount, tx.at, tx.pending, tx.running, tx.removed)
		require.NoError(t, err)
	}
	// The card (bank convention: a purchase raises what is owed), linked
	// on 06-09 owing 250.00; a purchase of 80.00 on 06-07 and a payment of
	// 300.00 on 06-08.
	for _, tx := range []struct{ id, amount, at string }{
		{"c1", "80.00", "2026-06-07T18:00:00Z"},
		{"c2", "-300.00", "2026-06-08T09:00:00Z"},
	} {
		_, err := pool.Exec(ctx, `
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending, raw)
			VALUES ($1, $2, $3::numeric, -$3::numeric, $4, false, '{}')`, card, tx.id, tx.amount, tx.at)
		require.NoError(t, err)
	}
	_, err := pool.Exec(ctx, `
		INSERT INTO balance_snapshots (account_id, day, balance, available_balance, as_of) VALUES
		($1, '2026-06-10', '1000.00', '990.00', '2026-06-10T12:00:00Z'),
		($2, '2026-06-09', '250.00', NULL, '2026-06-09T12:00:00Z')`, chk, card)
	require.NoError(t, err)

	got := rowsText(t, pool, `
		SELECT day::text, balance::text, coalesce(snapshot_day::text, 'NULL'), carried_forward, source, observed,
		       coalesce(available_balance::text, 'NULL')
		FROM reporting.daily_balances WHERE account_id = $1 AND day <= '2026-06-11' ORDER BY day`, chk)
	require.Equal(t, [][]string{
		{"2026-06-05", "-775.00", "NULL", "false", "running_balance", "true", "NULL"},
		{"2026-06-06", "-775.00", "NULL", "false", "derived", "false", "NULL"},
		{"2026-06-07", "-775.00", "NULL", "false", "derived", "false", "NULL"},
		{"2026-06-08", "1025.00", "NULL", "false", "running_balance", "true", "NULL"},
		{"2026-06-09", "1025.00", "NULL", "false", "derived", "false", "NULL"},
		{"2026-06-10", "960.00", "2026-06-10", "false", "snapshot", "true", "990.00"},
		{"2026-06-11", "960.00", "2026-06-10", "true", "derived", "false", "990.00"},
	}, got)

	got = rowsText(t, pool, `
		SELECT day::text, balance::text, balance_signed::text, source
		FROM reporting.daily_balances WHERE account_id = $1 AND day <= '2026-06-10' ORDER BY day`, card)
	require.Equal(t, [][]string{
		{"2026-06-07", "550.00", "-550.00", "derived"},
		{"2026-06-08", "250.00", "-250.00", "derived"},
		{"2026-06-09", "250.00", "-250.00", "snapshot"},
		{"2026-06-10", "250.00", "-250.00", "derived"},
	}, got)

	// Net worth covers the reconstructed days; observed only when every
	// account was.
	got = rowsText(t, pool, `
		SELECT day::text, assets::text, debts::text, net_worth::text, accounts, observed
		FROM reporting.net_worth_daily WHERE app_user_ref = 'h1' AND day BETWEEN '2026-06-05' AND '2026-06-10' ORDER BY day`)
	require.Equal(t, [][]string{
		{"2026-06-05", "-775.00", "0", "-775.00", "1", "true"},
		{"2026-06-06", "-775.00", "0", "-775.00", "1", "false"},
		{"2026-06-07", "-775.00", "550.00", "-1325.00", "2", "false"},
		{"2026-06-08", "1025.00", "250.00", "775.00", "2", "false"},
		{"2026-06-09", "1025.00", "250.00", "775.00", "2", "false"},
		{"2026-06-10", "960.00", "250.00", "710.00", "2", "false"},
	}, got)
}
