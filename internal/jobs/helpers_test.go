package jobs_test

import (
	"context"
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

type testBundle struct {
	*synctest.Env
}

type setupOptions struct {
	sandbox func(*sandbox.Options)
	inst    func(*consumerapi.Institution)
}

func setup(t *testing.T, o setupOptions) *testBundle {
	t.Helper()
	return &testBundle{synctest.New(t, synctest.Options{
		Sandbox:       o.sandbox,
		Institution:   o.inst,
		ClientOptions: []consumerapi.Option{consumerapi.WithTransport(jobs.CountingTransport(nil))},
	})}
}

func (b *testBundle) syncer(t *testing.T, cfg jobs.SyncConfig, maxSyncs int) *jobs.Syncer {
	return jobs.NewSyncer(jobs.SyncerOptions{
		Logger:       synctest.TestLogger(t),
		Store:        b.Store,
		Sealer:       b.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: b.Client, MaxConcurrentSyncs: maxSyncs}},
		Config:       cfg,
	})
}

// startWorker starts a River client with the sync and scheduler workers:
// one "worker process".
func (b *testBundle) startWorker(t *testing.T, cfg jobs.SyncConfig, cc jobs.ClientConfig) *river.Client[pgx.Tx] {
	t.Helper()
	if cc.ScheduleEvery == 0 {
		cc.ScheduleEvery = time.Hour
	}
	if cc.Retry.Base == 0 {
		cc.Retry = jobs.RetryPolicy{Base: 200 * time.Millisecond, Max: time.Second}
	}
	client, err := jobs.NewClient(b.Pool, b.Store, b.syncer(t, cfg, 4), cc)
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
	return client
}

func (b *testBundle) consent(t *testing.T, n int, granted ...string) pfm.Link {
	t.Helper()
	return b.Consent(t, n, granted...)
}

func (b *testBundle) requireMatchesTruth(t *testing.T, link pfm.Link, n int) {
	t.Helper()
	b.RequireMatchesTruth(t, link, n)
}

func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	return b.Count(t, sql, args...)
}

// enqueue inserts a sync job and returns its id.
func (b *testBundle) enqueue(t *testing.T, client *river.Client[pgx.Tx], linkID string, trigger jobs.Trigger) int64 {
	t.Helper()
	res, err := client.Insert(context.Background(), jobs.SyncArgs{LinkID: linkID, Trigger: trigger}, nil)
	require.NoError(t, err)
	return res.Job.ID
}

// waitJob waits until the job reaches a final state and returns it.
func (b *testBundle) waitJob(t *testing.T, id int64, timeout time.Duration) string {
	t.Helper()
	var state string
	require.Eventually(t, func() bool {
		require.NoError(t, b.Pool.QueryRow(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&state))
		return state == "completed" || state == "cancelled" || state == "discarded"
	}, timeout, 50*time.Millisecond, "job %d did not finish (last state %s)", id, state)
	return state
}

func (b *testBundle) linkRow(t *testing.T, id string) pfm.Link {
	t.Helper()
	l, err := b.Store.Link(context.Background(), id)
	require.NoError(t, err)
	return l
}
