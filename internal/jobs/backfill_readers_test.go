package jobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// unevenAccounts starts a sandbox whose user 1 has two accounts of
// different sizes, at 5 ms a request, read through flight, and a sync
// configuration that reads them in many small pages and windows, two
// readers at once.
func unevenAccounts(t *testing.T, flight *inFlight) (*testBundle, jobs.SyncConfig) {
	b := &testBundle{synctest.New(t, synctest.Options{
		Sandbox: func(o *sandbox.Options) {
			o.Bank.Users, o.Bank.Density = 1, 6
			o.Faults.Latency = sandbox.Duration(5 * time.Millisecond)
		},
		ClientOptions: []consumerapi.Option{consumerapi.WithTransport(jobs.CountingTransport(flight))},
	})}
	cfg := jobs.DefaultSyncConfig()
	cfg.BackfillWindow = 20 * 24 * time.Hour
	cfg.PageSize = 100
	cfg.AccountConcurrency = 2
	return b, cfg
}

// TestSecondReaderTakesTheLongestBackfill: a link's accounts are read
// side by side, and once the short ones are done a second reader takes
// windows of the long one, so it has two requests in flight; never more,
// and never more requests of the sync than AccountConcurrency. The result
// is the bank's ground truth, every account's backfill is complete, the
// run counts what the change feed recorded, and the next sync (from the
// watermark the first window set) still matches the bank.
func TestSecondReaderTakesTheLongestBackfill(t *testing.T) {
	t.Parallel()
	flight := newInFlight()
	b, cfg := unevenAccounts(t, flight)
	worker := b.startWorker(t, cfg, jobs.ClientConfig{})
	link := b.consent(t, 1)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), 2*time.Minute))
	b.requireMatchesTruth(t, link, 1)

	flight.mu.Lock()
	twice := 0
	for account, peak := range flight.accountPeak {
		require.LessOrEqual(t, peak, 2, "requests of %s in flight at once", account)
		if peak == 2 {
			twice++
		}
	}
	require.GreaterOrEqual(t, len(flight.accountPeak), cfg.AccountConcurrency, "accounts read")
	require.Positive(t, twice, "an account's windows were read by two readers")
	require.LessOrEqual(t, flight.peak, cfg.AccountConcurrency, "transactions requests of the sync in flight at once")
	flight.mu.Unlock()

	require.Zero(t, b.count(t, `SELECT count(*) FROM sync_state s JOIN accounts a ON a.id = s.account_id
		WHERE a.link_id = $1 AND NOT s.backfill_complete`, link.ID))
	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 1)
	require.NoError(t, err)
	require.Equal(t, b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'added'`, link.ID), runs[0].Added)

	_, err = b.Sandbox.Clock().Advance(10 * 24 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), 2*time.Minute))
	b.requireMatchesTruth(t, link, 1)
}

// secondReaders counts the second readers a syncer reports, and discards
// the rest of its metrics.
type secondReaders struct{ started atomic.Int64 }

func (*secondReaders) SyncFinished(string, pfm.SyncOutcome, pfm.ErrorClass, time.Duration, store.SyncRun) {
}
func (*secondReaders) SlotWaitSnoozed(string)                      {}
func (*secondReaders) LinksScheduled(int, int, int, time.Duration) {}
func (r *secondReaders) SecondReaderStarted(string)                { r.started.Add(1) }

// TestSecondReaderFailureKeepsWhatCommitted: the bank starts failing every
// transactions request once an account is read by two readers. The sync
// fails; every account's saved progress covers only what is stored (every
// transaction the bank posted at or after its backfill_before is in the
// datastore), and the next sync, with the bank well again, matches it.
func TestSecondReaderFailureKeepsWhatCommitted(t *testing.T) {
	t.Parallel()
	flight := newInFlight()
	b, cfg := unevenAccounts(t, flight)
	flight.onTwo = func() {
		f := b.Sandbox.Faults()
		f.Rules = []sandbox.FaultRule{{Kind: sandbox.FaultServerError, Match: "/transactions", Status: 500}}
		require.NoError(t, b.Sandbox.SetFaults(f))
	}
	readers := &secondReaders{}
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger: synctest.TestLogger(t), Store: b.Store, Sealer: b.Sealer, Config: cfg, Metrics: readers,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: b.Client, MaxConcurrentSyncs: 4}},
	})
	link := b.consent(t, 1)
	ctx := context.Background()
	require.Error(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1))
	flight.mu.Lock()
	require.Nil(t, flight.onTwo, "an account was read by two readers before the bank failed")
	flight.mu.Unlock()
	require.Positive(t, readers.started.Load(), "the second reader is counted")

	truth, ok := b.Sandbox.Truth(b.Sandbox.Bank().UserID(1))
	require.True(t, ok)
	rows, err := b.Pool.Query(ctx, `SELECT a.provider_account_id, s.backfill_before FROM sync_state s JOIN accounts a ON a.id = s.account_id
		WHERE a.link_id = $1 AND s.backfill_before IS NOT NULL`, link.ID)
	require.NoError(t, err)
	before := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at time.Time
		require.NoError(t, rows.Scan(&id, &at))
		before[id] = at
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, before, "progress was saved before the failure")
	for account, at := range before {
		var want []string
		for _, tx := range truth.Transactions[account] {
			if !tx.DatePosted.Before(at) {
				want = append(want, tx.ID)
			}
		}
		require.Equal(t, len(want), b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id
			WHERE a.provider_account_id = $1 AND t.provider_transaction_id = ANY($2)`, account, want),
			"account %s: transactions posted since its saved progress are stored", account)
	}

	f := b.Sandbox.Faults()
	f.Rules = nil
	require.NoError(t, b.Sandbox.SetFaults(f))
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 2, 1))
	b.requireMatchesTruth(t, link, 1)
}

// BenchmarkFirstSyncAtBankLatency times a first sync of one link whose
// accounts differ in size (the 40k-transaction user of the worker's
// benchmarks) against a bank that takes 50 or 200 ms per request, once
// with one reader per account and once with a second reader joining the
// longest backfill when the other account is done, in the same
// iteration: x_two_readers is how many times faster the second is.
func BenchmarkFirstSyncAtBankLatency(b *testing.B) {
	for _, latency := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v", latency), func(b *testing.B) {
			syncOnce := func(readers int) time.Duration {
				env := synctest.NewTB(b, synctest.Options{Sandbox: func(o *sandbox.Options) {
					o.Bank.Users, o.Bank.Density, o.Bank.HistoryDays, o.Bank.FutureDays = 1, 35, 730, 1
					o.Faults.Latency = sandbox.Duration(latency)
				}})
				cfg := jobs.DefaultSyncConfig()
				cfg.AccountReaders = readers
				syncer := jobs.NewSyncer(jobs.SyncerOptions{
					Store: env.Store, Sealer: env.Sealer, Config: cfg,
					Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: env.Client, MaxConcurrentSyncs: 4}},
				})
				link := env.Consent(b, 1)
				start := time.Now()
				require.NoError(b, syncer.Sync(context.Background(), jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1))
				return time.Since(start)
			}
			var one, two time.Duration
			for range b.N {
				one += syncOnce(1)
				two += syncOnce(2)
			}
			b.ReportMetric(one.Seconds()/float64(b.N), "s/sync_one_reader")
			b.ReportMetric(two.Seconds()/float64(b.N), "s/sync_two_readers")
			b.ReportMetric(one.Seconds()/two.Seconds(), "x_two_readers")
		})
	}
}
