package reporting_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/reporting"
	"github.com/pfmsync/pfmsync/internal/reporting/reportingtest"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// Sandbox user 2 of seed 9 has a checking account, a savings account that
// closes in the 58 days after the first sync, three credit cards (one opened
// later) and an auto loan.
const (
	historySeed = 9
	historyUser = 2
)

// TestBalanceHistoryMatchesTheBank links and syncs a sandbox user and
// compares reporting.daily_balances, read as a pfm_reader login role, with
// the bank's own closing balance of every day: right after linking (the
// whole backfill reconstructed from one snapshot), and again 58 days later,
// across the closing of an account.
func TestBalanceHistoryMatchesTheBank(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Now().UTC().AddDate(0, 0, -60)
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) {
		o.Bank.Seed = historySeed
		o.Bank.Start = start
	}})
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger:       synctest.TestLogger(t),
		Store:        env.Store,
		Sealer:       env.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: env.Client, MaxConcurrentSyncs: 1}},
	})
	link := env.Consent(t, historyUser)
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1))

	readerPool, err := pgxpool.New(ctx, reportingtest.ReaderURL(t, env.DatabaseURL))
	require.NoError(t, err)
	t.Cleanup(readerPool.Close)
	reader := reporting.New(readerPool)

	kinds := compareWithBank(t, env, reader, link)
	require.Subset(t, kinds, []string{"Checking", "Savings", "Credit Card", "Auto Loan"})

	// 58 days later: new transactions, and the savings account closes.
	_, err = env.Sandbox.Clock().Advance(58 * 24 * time.Hour)
	require.NoError(t, err)
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}, 2, 1))
	env.RequireMatchesTruth(t, link, historyUser)
	require.Equal(t, 1, env.Count(t, `SELECT count(*) FROM accounts WHERE link_id = $1 AND inactive_at IS NOT NULL`, link.ID),
		"an account closed between the two syncs")
	compareWithBank(t, env, reader, link)
}

// compareWithBank checks every stored account's daily balances against the
// bank's, up to the sandbox's current day, and returns the account
// subtypes seen.
func compareWithBank(t *testing.T, env *synctest.Env, reader *reporting.Reader, link pfm.Link) []string {
	t.Helper()
	ctx := context.Background()
	b := env.Sandbox.Bank()
	now := env.Sandbox.Clock().Now()
	today := now.UTC().Truncate(24 * time.Hour)
	userID := b.UserID(historyUser)
	truth, ok := b.Truth(userID, now)
	require.True(t, ok)

	rows, err := env.Pool.Query(ctx, `SELECT id::text, provider_account_id, account_subtype FROM accounts WHERE link_id = $1`, link.ID)
	require.NoError(t, err)
	type stored struct{ id, provider, subtype string }
	var accounts []stored
	for rows.Next() {
		var a stored
		require.NoError(t, rows.Scan(&a.id, &a.provider, &a.subtype))
		accounts = append(accounts, a)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, accounts)

	var kinds []string
	for _, a := range accounts {
		kinds = append(kinds, a.subtype)
		want, ok := b.DailyBalances(userID, a.provider, now)
		require.True(t, ok)
		wantByDay := map[time.Time]string{}
		for _, w := range want {
			wantByDay[w.Day] = w.Balance.String()
		}
		lastWant := want[len(want)-1]

		got, err := reader.DailyBalances(ctx, synctest.AppUserRef(historyUser), a.id)
		require.NoError(t, err, a.subtype)

		// The history starts on the day of the account's first posted
		// transaction: the whole backfill.
		var first time.Time
		for _, tx := range truth.Transactions[a.provider] {
			if tx.PendingStatus == bank.StatusInstitutionPending {
				continue
			}
			d := tx.DatePosted.UTC().Truncate(24 * time.Hour)
			if first.IsZero() || d.Before(first) {
				first = d
			}
		}
		require.Equal(t, first, got[0].Day, "%s starts on its first posted transaction", a.subtype)

		compared, observed := 0, 0
		for _, g := range got {
			if g.Day.After(today) {
				break
			}
			w, ok := wantByDay[g.Day]
			if !ok {
				// After the account closed: its last balance stays.
				require.True(t, g.Day.After(lastWant.Day), "%s %s", a.subtype, g.Day)
				w = lastWant.Balance.String()
			}
			require.Equal(t, decimal.RequireFromString(w).String(), g.Balance.String(), "%s on %s (%s)", a.subtype, g.Day.Format(time.DateOnly), g.Source)
			compared++
			if g.Observed {
				observed++
			}
		}
		require.Greater(t, compared, 20, a.subtype)
		t.Logf("%s: %d days match the bank, %d observed", a.subtype, compared, observed)
	}
	return kinds
}
