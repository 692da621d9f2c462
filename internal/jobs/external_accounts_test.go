package jobs_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// One app user links two bank logins (sandbox users 1 and 2 of the
// aggregator profile) that both list the same account held at another
// institution. reporting.accounts labels that account with its own
// institution, not the linking bank, and flags the second copy as a
// duplicate of the first; reporting.net_worth_daily counts it once, so the
// app user's net worth is the sum of the distinct accounts at the bank.
func TestExternalAccountLabelledAndCountedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, withProfile(t, "aggregator"))
	s := b.syncer(t, jobs.SyncConfig{}, 4)
	first := b.consent(t, 1)
	second := b.consent(t, 2)
	// Both logins belong to the same app user.
	_, err := b.Pool.Exec(ctx, `UPDATE links SET app_user_ref = $1 WHERE id = $2`, synctest.AppUserRef(1), second.ID)
	require.NoError(t, err)
	require.NoError(t, s.Sync(ctx, jobs.SyncArgs{LinkID: first.ID, Trigger: jobs.TriggerLink}, 0, 1))
	require.NoError(t, s.Sync(ctx, jobs.SyncArgs{LinkID: second.ID, Trigger: jobs.TriggerLink}, 0, 1))

	// The sandbox's truth: both users' accounts, the external one in
	// both lists.
	truth1, ok := b.Sandbox.Truth(b.Sandbox.Bank().UserID(1))
	require.True(t, ok)
	truth2, ok := b.Sandbox.Truth(b.Sandbox.Bank().UserID(2))
	require.True(t, ok)
	type acct struct {
		balance      decimal.Decimal
		liability    bool
		institution  string
		contributing bool
	}
	distinct := map[string]acct{}
	home := ""
	externalID := ""
	for _, list := range [][]sandbox.Truth{{truth1}, {truth2}} {
		for _, a := range list[0].Accounts {
			bal, err := decimal.NewFromString(a.Balance.String())
			require.NoError(t, err)
			liability := a.AccountType == "Debt" || a.AccountType == "Line of Credit"
			if _, seen := distinct[a.ID]; seen {
				externalID = a.ID
			}
			distinct[a.ID] = acct{balance: bal, liability: liability, institution: a.Institution.Name, contributing: a.ContributesToAggregateTotals}
		}
	}
	require.NotEmpty(t, externalID, "the two logins share one account")
	for id, a := range distinct {
		if id != externalID {
			home = a.institution
		}
	}
	require.NotEqual(t, home, distinct[externalID].institution)

	rows, err := b.Pool.Query(ctx, `
		SELECT a.provider_account_id, r.account_institution_name, r.external, r.duplicate_of IS NOT NULL
		FROM reporting.accounts r JOIN accounts a ON a.id = r.account_id
		WHERE r.app_user_ref = $1 AND NOT r.inactive ORDER BY a.first_seen_at, a.id`, synctest.AppUserRef(1))
	require.NoError(t, err)
	type reported struct {
		provider, institution string
		external, duplicate   bool
	}
	var listed []reported
	for rows.Next() {
		var r reported
		require.NoError(t, rows.Scan(&r.provider, &r.institution, &r.external, &r.duplicate))
		listed = append(listed, r)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	copies, duplicates := 0, 0
	for _, r := range listed {
		if r.provider == externalID {
			copies++
			require.True(t, r.external, "the shared account is external")
			require.Equal(t, distinct[externalID].institution, r.institution, "labelled with its own institution")
			if r.duplicate {
				duplicates++
			}
			continue
		}
		require.False(t, r.external, "account %s (%s) is the linking bank's", r.provider, r.institution)
		require.False(t, r.duplicate, "account %s is reported once", r.provider)
		require.NotEqual(t, distinct[externalID].institution, r.institution)
	}
	require.Equal(t, 2, copies, "both links store the external account")
	require.Equal(t, 1, duplicates, "the later copy is flagged as a duplicate")

	// Net worth on the bank's current day: each distinct account once.
	want := decimal.Zero
	for _, a := range distinct {
		if !a.contributing {
			continue
		}
		if a.liability {
			want = want.Sub(a.balance)
		} else {
			want = want.Add(a.balance)
		}
	}
	var got decimal.Decimal
	var counted int
	day := b.Sandbox.Clock().Now().UTC().Format("2006-01-02")
	require.NoError(t, b.Pool.QueryRow(ctx, `SELECT net_worth, accounts FROM reporting.net_worth_daily WHERE app_user_ref = $1 AND day = $2::date`,
		synctest.AppUserRef(1), day).Scan(&got, &counted))
	require.True(t, want.Equal(got), "net worth %s, want %s", got, want)
	n := 0
	for _, a := range distinct {
		if a.contributing {
			n++
		}
	}
	require.Equal(t, n, counted, "accounts counted in net worth")
}
