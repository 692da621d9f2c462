package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

func TestSyncMatchesGroundTruthAsTheBankChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)

	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	b.requireMatchesTruth(t, link, 1)
	l := b.linkRow(t, link.ID)
	require.NotNil(t, l.LastSuccessAt)
	require.Zero(t, l.ConsecutiveFailures)
	require.True(t, l.NextSyncAt.After(time.Now().Add(5*time.Hour)), "next sync a sync interval away")
	firstAdded := b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'added'`, link.ID)
	require.Equal(t, b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1`, link.ID), firstAdded)
	requireSignRule(t, b, link)

	// A re-sync with nothing changed writes no transaction rows.
	before := b.count(t, `SELECT count(*) FROM transaction_changes`)
	maxUpdated := b.count(t, `SELECT count(*) FROM transactions WHERE updated_at > now() - interval '1 hour'`)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), time.Minute))
	require.Equal(t, before, b.count(t, `SELECT count(*) FROM transaction_changes`))
	require.Equal(t, maxUpdated, b.count(t, `SELECT count(*) FROM transactions WHERE updated_at > now() - interval '1 hour'`))
	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 1)
	require.NoError(t, err)
	require.Equal(t, pfm.OutcomeSuccess, runs[0].Outcome)
	require.Zero(t, runs[0].Added+runs[0].Modified+runs[0].Removed)
	require.Positive(t, runs[0].APICalls)

	// The bank moves on: new, modified, posted, dropped and replaced
	// transactions, closed accounts. Each sync lands on the truth again.
	for _, step := range []time.Duration{3 * 24 * time.Hour, 20 * 24 * time.Hour, 60 * 24 * time.Hour} {
		_, err := b.Sandbox.Clock().Advance(step)
		require.NoError(t, err)
		require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), time.Minute))
		b.requireMatchesTruth(t, link, 1)
	}
	var added, modified, removed int
	require.NoError(t, b.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE change = 'added'), count(*) FILTER (WHERE change = 'modified'), count(*) FILTER (WHERE change = 'removed')
		FROM transaction_changes WHERE link_id = $1`, link.ID).Scan(&added, &modified, &removed))
	require.Greater(t, added, firstAdded)
	require.Positive(t, modified, "pending transactions posted or enrichment changed")
	require.Positive(t, removed, "pending transactions dropped or replaced")
	require.Positive(t, b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND t.replaces_provider_transaction_id IS NOT NULL`, link.ID), "replaced pending matched to its posted transaction")
	require.Positive(t, b.count(t, `SELECT count(*) FROM balance_snapshots s JOIN accounts a ON a.id = s.account_id WHERE a.link_id = $1`, link.ID))
}

func TestChangeFeedIsOrderedAndComplete(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 2)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	_, err := b.Sandbox.Clock().Advance(15 * 24 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))

	// Replaying the feed from the start rebuilds exactly the live set.
	rows, err := b.Pool.Query(context.Background(), `SELECT provider_transaction_id, change FROM transaction_changes WHERE app_user_ref = $1 ORDER BY seq`, link.AppUserRef)
	require.NoError(t, err)
	live := map[string]bool{}
	for rows.Next() {
		var id, change string
		require.NoError(t, rows.Scan(&id, &change))
		switch change {
		case "added", "modified":
			live[id] = true
		case "removed":
			delete(live, id)
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1 AND removed_at IS NULL`, link.ID), len(live))
}

func TestRevokedConsentNeedsReauthWithoutRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	stored := b.count(t, `SELECT count(*) FROM transactions`)

	require.Equal(t, 1, b.Sandbox.Disconnect(b.Sandbox.Bank().UserID(1)))
	require.Equal(t, "cancelled", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))
	l := b.linkRow(t, link.ID)
	require.Equal(t, pfm.LinkReauthRequired, l.Status)
	require.Equal(t, pfm.ClassConsentRevoked, l.LastErrorClass)
	require.Nil(t, l.NextSyncAt)
	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 1)
	require.NoError(t, err)
	require.Equal(t, pfm.OutcomeReauthRequired, runs[0].Outcome)
	// Nothing already stored is lost.
	require.Equal(t, stored, b.count(t, `SELECT count(*) FROM transactions`))

	// No retry storm: one refused refresh, and later jobs for the link are
	// cancelled before they call the bank.
	time.Sleep(time.Second)
	require.Equal(t, int64(1), b.Sandbox.Auth().Stats().TokenErrors["invalid_grant"])
	require.Equal(t, "cancelled", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))
	require.Equal(t, int64(1), b.Sandbox.Auth().Stats().TokenErrors["invalid_grant"])

	// Re-consent brings it back and syncing resumes by itself.
	relinked := b.consent(t, 1)
	require.Equal(t, link.ID, relinked.ID)
	require.Equal(t, pfm.LinkActive, b.linkRow(t, link.ID).Status)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	b.requireMatchesTruth(t, link, 1)
}

func TestPartialConsentSyncsWhatIsGranted(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 3, consumerapi.ScopeOpenID, consumerapi.ScopeOfflineAccess, consumerapi.ScopeAccounts)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	l := b.linkRow(t, link.ID)
	require.Equal(t, []string{consumerapi.ScopeTransactions}, l.MissingScopes)
	require.Positive(t, b.count(t, `SELECT count(*) FROM accounts WHERE link_id = $1`, link.ID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM transactions`))
	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 1)
	require.NoError(t, err)
	require.Equal(t, pfm.OutcomePartial, runs[0].Outcome)
}

func TestFaultyBankEventuallyExactWithoutDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) {
		o.Faults.Rules = []sandbox.FaultRule{
			{Kind: sandbox.FaultServerError, Fraction: 0.15, Status: 503},
			{Kind: sandbox.FaultMalformed, Fraction: 0.1, Match: "/transactions"},
			{Kind: sandbox.FaultTruncate, Fraction: 0.05, Match: "/transactions"},
			{Kind: sandbox.FaultReset, Fraction: 0.05},
		}
	}})
	cfg := jobs.DefaultSyncConfig()
	cfg.BackfillWindow = 60 * 24 * time.Hour
	worker := b.startWorker(t, cfg, jobs.ClientConfig{})
	link := b.consent(t, 1)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), 3*time.Minute))
	b.requireMatchesTruth(t, link, 1)
	_, err := b.Sandbox.Clock().Advance(30 * 24 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), 3*time.Minute))
	b.requireMatchesTruth(t, link, 1)
	st := b.Sandbox.Stats()
	require.Positive(t, st.Faults["malformed"]+st.Faults["server_error"])
}

func TestRateLimitedSyncSnoozesAndHonoursTheRate(t *testing.T) {
	t.Parallel()
	const rate, burst = 20, 2
	b := setup(t, setupOptions{
		sandbox: func(o *sandbox.Options) {
			o.Faults.Rules = []sandbox.FaultRule{
				// One long Retry-After the client will not wait out: the job
				// must snooze instead.
				{Kind: sandbox.FaultRateLimit, RetryAfter: sandbox.Duration(2 * time.Second), Match: "/accounts", Limit: 1},
				{Kind: sandbox.FaultRateLimit, Fraction: 0.1, RetryAfter: sandbox.Duration(time.Second)},
			}
		},
		inst: func(i *consumerapi.Institution) {
			i.RequestsPerSecond, i.Burst = rate, burst
			i.Retry.MaxRetryAfter = 1500 * time.Millisecond
		},
	})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 2)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), 3*time.Minute))
	b.requireMatchesTruth(t, link, 2)

	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 10)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(runs), 2)
	last, first := runs[0], runs[len(runs)-1]
	require.Equal(t, pfm.OutcomeSnoozed, first.Outcome)
	require.Equal(t, pfm.ClassRateLimited, first.ErrorClass)
	require.Equal(t, pfm.OutcomeSuccess, last.Outcome)
	require.GreaterOrEqual(t, last.StartedAt.Sub(*first.FinishedAt), 2*time.Second, "the snooze honoured Retry-After")
	// Snoozes are not failures.
	require.Zero(t, b.linkRow(t, link.ID).ConsecutiveFailures)

	st := b.Sandbox.Stats()
	require.Positive(t, st.Faults["rate_limit"])
	// Arrival times at the bank jitter a little against the client's token
	// bucket (rate+burst in any second); without the limit the worker would
	// send hundreds a second.
	require.LessOrEqual(t, st.Clients[synctest.ClientID].MaxPerSecond, rate+burst+rate/2, "the worker never exceeds the configured rate")
}

func TestConcurrentWorkersAndReconsentNeverReuseRefreshTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) { o.Bank.Density = 0.3 }})
	w1 := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	w2 := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 4)

	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Two "processes" keep queueing syncs of the same link...
	for i, client := range []*river.Client[pgx.Tx]{w1, w2} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = client.Insert(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerManual}, nil)
				time.Sleep(time.Duration(20+10*i) * time.Millisecond)
			}
		})
	}
	// ...while the user re-consents several times.
	for range 4 {
		time.Sleep(150 * time.Millisecond)
		require.Equal(t, link.ID, b.consent(t, 4).ID)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	id := b.enqueue(t, w1, link.ID, jobs.TriggerManual)
	state := b.waitJob(t, id, time.Minute)
	if state != "completed" {
		// The unique job may have been skipped in favour of one running.
		require.Eventually(t, func() bool {
			return b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
		}, time.Minute, 100*time.Millisecond)
	}
	require.Zero(t, b.Sandbox.Auth().Stats().ReuseDetections, "the bank's refresh-token reuse detection never fired")
	require.Equal(t, pfm.LinkActive, b.linkRow(t, link.ID).Status)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, w2, link.ID, jobs.TriggerManual), time.Minute))
	b.requireMatchesTruth(t, link, 4)
}

func TestDisabledLinkIsNotSynced(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)
	require.NoError(t, b.Store.SetLinkStatus(context.Background(), link.ID, pfm.LinkDisabled, "", ""))
	require.Equal(t, "cancelled", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))
	require.Zero(t, b.count(t, `SELECT count(*) FROM sync_runs`))
}

func TestSyncSurvivesACappedPageSizeAndAResumedBackfill(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) { o.MaxPageLimit = 120 }})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)
	// The bank answers 120 rows where 500 were asked: every row is still
	// read.
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	b.requireMatchesTruth(t, link, 1)

	// A backfill interrupted long ago resumes when what is left lies beyond
	// the depth: it completes instead of asking for an empty range forever.
	_, err := b.Pool.Exec(context.Background(), `UPDATE sync_state SET backfill_complete = false,
		backfill_before = backfill_before - interval '800 days'`)
	require.NoError(t, err)
	_, err = b.Sandbox.Clock().Advance(12 * 24 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), time.Minute))
	require.Zero(t, b.count(t, `SELECT count(*) FROM sync_state WHERE NOT backfill_complete`))
	require.Zero(t, b.linkRow(t, link.ID).ConsecutiveFailures)
	// The same sync also caught up with what changed meanwhile.
	b.requireMatchesTruth(t, link, 1)
}

// requireSignRule checks the stored user-perspective amounts and the
// schema's is_liability against pfm's sign rule, on every account type the
// link has (the sandbox serves deposit, credit card and loan accounts).
func requireSignRule(t *testing.T, b *testBundle, link pfm.Link) {
	t.Helper()
	rows, err := b.Pool.Query(context.Background(), `
		SELECT a.account_type, a.is_liability, bool_and(t.signed_amount = t.amount), bool_and(t.signed_amount = -t.amount)
		FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND t.amount <> 0 GROUP BY 1, 2`, link.ID)
	require.NoError(t, err)
	defer rows.Close()
	liabilities := 0
	for rows.Next() {
		var typ string
		var liability, same, negated bool
		require.NoError(t, rows.Scan(&typ, &liability, &same, &negated))
		require.Equal(t, pfm.IsLiability(typ), liability, "accounts.is_liability of %q", typ)
		if pfm.UserSign(typ) < 0 {
			liabilities++
			require.True(t, negated, "signed amounts of %q accounts are negated", typ)
		} else {
			require.True(t, same, "signed amounts of %q accounts are as sent", typ)
		}
	}
	require.NoError(t, rows.Err())
	require.Positive(t, liabilities, "the link has a liability account")
}

// TestLongInactivatedListIsAppliedInBatches syncs a dense history whose
// inactivatedTransactionIds list holds more ids than one removal
// statement takes, then syncs again after the bank moved on: the
// datastore matches the bank each time, tombstones included.
func TestLongInactivatedListIsAppliedInBatches(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) {
		o.Bank.Users, o.Bank.Density = 1, 12
	}})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), 3*time.Minute))
	b.requireMatchesTruth(t, link, 1)

	_, err := b.Sandbox.Clock().Advance(30 * 24 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), 3*time.Minute))
	b.requireMatchesTruth(t, link, 1)
	removed := b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1 AND t.removed_at IS NOT NULL`, link.ID)
	require.Positive(t, removed, "transactions the bank inactivated are tombstoned")
	require.Equal(t, removed, b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'removed'`, link.ID))
}
