package jobs_test

import (
	"context"
	"net/http"
	"strings"
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

// wireLog records every request a process puts on the wire: below the
// request gate, so each entry is a request the institution received.
type wireLog struct {
	mu      sync.Mutex
	entries []wireEntry
}

type wireEntry struct {
	process string
	user    string // Banno user id from the path, "" for OIDC calls
	sent    time.Time
	status  int
	done    time.Time
}

func (w *wireLog) transport(process string) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		e := wireEntry{process: process, sent: time.Now()}
		if _, rest, ok := strings.Cut(r.URL.Path, "/users/"); ok {
			e.user, _, _ = strings.Cut(rest, "/")
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		e.done = time.Now()
		if resp != nil {
			e.status = resp.StatusCode
		}
		w.mu.Lock()
		w.entries = append(w.entries, e)
		w.mu.Unlock()
		return resp, err
	})
}

func (w *wireLog) all() []wireEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireEntry(nil), w.entries...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// process is one worker process: its own limiter handle, Banno client,
// syncer and River client, sharing only the database with the others.
type process struct {
	limiter *jobs.InstitutionLimiter
	river   *river.Client[pgx.Tx]
}

func (b *testBundle) startProcess(t *testing.T, name string, lc jobs.LimiterConfig, log *wireLog, cfg jobs.SyncConfig, cc jobs.ClientConfig) process {
	t.Helper()
	ctx := context.Background()
	lc.Slug = synctest.InstitutionSlug
	limiter, err := jobs.NewInstitutionLimiter(ctx, b.Store, lc, synctest.TestLogger(t))
	require.NoError(t, err)
	client, err := consumerapi.New(ctx, b.Client.Institution(),
		consumerapi.WithTransport(jobs.CountingTransport(log.transport(name))),
		consumerapi.WithRequestGate(limiter))
	require.NoError(t, err)
	t.Cleanup(client.Close)
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger:       synctest.TestLogger(t),
		Store:        b.Store,
		Sealer:       b.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: client, Limiter: limiter}},
		Config:       cfg,
	})
	if cc.ScheduleEvery == 0 {
		cc.ScheduleEvery = time.Hour
	}
	if cc.Retry.Base == 0 {
		cc.Retry = jobs.RetryPolicy{Base: 200 * time.Millisecond, Max: time.Second}
	}
	rc, err := jobs.NewClient(b.Pool, b.Store, syncer, cc)
	require.NoError(t, err)
	require.NoError(t, rc.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.Stop(ctx)
	})
	return process{limiter: limiter, river: rc}
}

func TestRequestRateIsSharedByEveryProcess(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	const rate, burst = 20, 10
	var links []pfm.Link
	for n := 1; n <= 4; n++ {
		links = append(links, b.consent(t, n))
	}
	log := &wireLog{}
	lc := jobs.LimiterConfig{RequestsPerSecond: rate, Burst: burst}
	// Two syncs at a time each: the four syncs run in both processes.
	cc := jobs.ClientConfig{SyncConcurrency: 2}
	cfg := jobs.SyncConfig{BackfillWindow: 30 * 24 * time.Hour}
	p1 := b.startProcess(t, "p1", lc, log, cfg, cc)
	b.startProcess(t, "p2", lc, log, cfg, cc)
	before := b.Sandbox.Stats().Clients[synctest.ClientID].Requests

	var ids []int64
	for _, l := range links {
		ids = append(ids, b.enqueue(t, p1.river, l.ID, jobs.TriggerLink))
	}
	for _, id := range ids {
		require.Equal(t, "completed", b.waitJob(t, id, 3*time.Minute))
	}
	for i, l := range links {
		b.requireMatchesTruth(t, l, i+1)
	}

	stats := b.Sandbox.Stats().Clients[synctest.ClientID]
	perProcess := map[string]int{}
	for _, e := range log.all() {
		perProcess[e.process]++
	}
	t.Logf("requests %d (p1 %d, p2 %d), highest per second %d", stats.Requests-before, perProcess["p1"], perProcess["p2"], stats.MaxPerSecond)
	require.Positive(t, perProcess["p1"], "process 1 synced")
	require.Positive(t, perProcess["p2"], "process 2 synced")
	// Long enough that two processes at the rate each would have exceeded
	// the bound.
	require.Greater(t, stats.Requests-before, int64(4*(rate+burst)))
	require.LessOrEqual(t, stats.MaxPerSecond, rate+burst, "the deployment's highest per-second rate at the bank")
	require.Zero(t, b.Sandbox.Stats().BudgetRejections)
	// Without MaxConcurrentSyncs no slot is created or leased: each
	// process bounds its own syncs, and the rate bounds the bank's load.
	require.Zero(t, b.count(t, `SELECT count(*) FROM institution_sync_slots WHERE institution_slug = $1`, synctest.InstitutionSlug))
}

func TestRetryAfterPausesEveryLinkInEveryProcess(t *testing.T) {
	t.Parallel()
	const pause = 4 * time.Second
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) {
		// Every call is slow, so the other links' syncs are still running
		// when the first link is told to wait.
		o.Faults.Latency = sandbox.Duration(60 * time.Millisecond)
	}})
	var links []pfm.Link
	for n := 1; n <= 3; n++ {
		links = append(links, b.consent(t, n))
	}

	log := &wireLog{}
	lc := jobs.LimiterConfig{RequestsPerSecond: 100, Burst: 100}
	cfg := jobs.SyncConfig{BackfillWindow: 30 * 24 * time.Hour}
	cc := jobs.ClientConfig{SyncConcurrency: 2}
	p1 := b.startProcess(t, "p1", lc, log, cfg, cc)
	b.startProcess(t, "p2", lc, log, cfg, cc)

	var ids []int64
	for _, l := range links {
		ids = append(ids, b.enqueue(t, p1.river, l.ID, jobs.TriggerLink))
	}
	// Once every link is syncing, the next transactions request gets a 429.
	require.Eventually(t, func() bool {
		users := map[string]bool{}
		for _, e := range log.all() {
			if e.user != "" {
				users[e.user] = true
			}
		}
		return len(users) == len(links)
	}, time.Minute, 5*time.Millisecond)
	f := b.Sandbox.Faults()
	f.Rules = []sandbox.FaultRule{{Kind: sandbox.FaultRateLimit, Match: "/transactions", Limit: 1, RetryAfter: sandbox.Duration(pause)}}
	require.NoError(t, b.Sandbox.SetFaults(f))

	for _, id := range ids {
		require.Equal(t, "completed", b.waitJob(t, id, 3*time.Minute))
	}
	for i, l := range links {
		b.requireMatchesTruth(t, l, i+1)
	}

	entries := log.all()
	var hit *wireEntry
	for i := range entries {
		if entries[i].status == http.StatusTooManyRequests {
			require.Nil(t, hit, "one 429 only: nobody called during the pause")
			hit = &entries[i]
		}
	}
	require.NotNil(t, hit, "the institution answered 429")
	var victim pfm.Link
	for _, l := range links {
		if l.BannoUserID == hit.user {
			victim = l
		}
	}
	require.NotEmpty(t, victim.ID, "the 429 answered a link's request")
	// A process learns of another's pause at its next take of tokens
	// (within the limiter's hold, 250 ms here); requests already on their
	// way are not recalled. From then until the pause ends, nobody calls.
	quietFrom, quietTo := hit.done.Add(time.Second), hit.done.Add(pause-100*time.Millisecond)
	othersBefore, othersAfter := 0, 0
	for _, e := range entries {
		require.False(t, e.sent.After(quietFrom) && e.sent.Before(quietTo),
			"%s sent a request for user %q %s after the 429, during the %s pause", e.process, e.user, e.sent.Sub(hit.done), pause)
		if e.user != "" && e.user != victim.BannoUserID {
			if e.sent.Before(hit.done) {
				othersBefore++
			}
			if e.sent.After(hit.done.Add(pause)) {
				othersAfter++
			}
		}
	}
	require.Positive(t, othersBefore, "the other links were syncing before the 429")
	require.Positive(t, othersAfter, "the other links' syncs were paused, not finished")

	// The link that got the 429 was snoozed past the pause, then synced.
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM sync_runs WHERE link_id = $1 AND outcome = 'snoozed' AND error_class = 'rate_limited'`, victim.ID))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM institution_budgets WHERE institution_slug = $1 AND paused_until IS NOT NULL AND pause_reason = 'retry_after'`, synctest.InstitutionSlug))
}

func TestSlotLeaseOfKilledProcessIsReclaimed(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	link := b.consent(t, 1)
	ctx := context.Background()
	lc := jobs.LimiterConfig{RequestsPerSecond: 1000, Burst: 1000, MaxConcurrentSyncs: 1, LeaseTTL: 3 * time.Second}
	log := &wireLog{}
	p := b.startProcess(t, "p2", lc, log, jobs.SyncConfig{SlotWait: 200 * time.Millisecond}, jobs.ClientConfig{})

	// A process that took the only slot and was killed: its lease is
	// never renewed nor released.
	dead, ok, err := b.Store.AcquireSyncSlot(ctx, synctest.InstitutionSlug, 1, "killed-process job 1", 2*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	var expires time.Time
	require.NoError(t, b.Pool.QueryRow(ctx, `SELECT expires_at FROM institution_sync_slots WHERE lease_id = $1`, dead.LeaseID).Scan(&expires))

	id := b.enqueue(t, p.river, link.ID, jobs.TriggerLink)
	require.Equal(t, "completed", b.waitJob(t, id, time.Minute))
	b.requireMatchesTruth(t, link, 1)

	// The sync started only once the dead lease had expired.
	var started time.Time
	require.NoError(t, b.Pool.QueryRow(ctx, `SELECT started_at FROM sync_runs WHERE link_id = $1`, link.ID).Scan(&started))
	require.False(t, started.Before(expires), "sync started %s before the dead lease expired", expires.Sub(started))
	// ...and released its own lease when done.
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM institution_sync_slots WHERE institution_slug = $1 AND lease_id IS NULL`, synctest.InstitutionSlug))
	// The killed process's late release does not free someone else's slot.
	require.NoError(t, b.Store.ReleaseSyncSlot(ctx, dead))
	again, ok, err := b.Store.AcquireSyncSlot(ctx, synctest.InstitutionSlug, 1, "other", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, b.Store.ReleaseSyncSlot(ctx, dead))
	_, ok, err = b.Store.AcquireSyncSlot(ctx, synctest.InstitutionSlug, 1, "third", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "slot %d is still leased to %s", again.Slot, again.LeaseID)
}
