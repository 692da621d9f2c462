package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/store"
)

func TestScheduleQueuesDueLinksOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, setupOptions{})
	l1, l2 := b.consent(t, 1), b.consent(t, 2)
	_, err := b.Pool.Exec(ctx, `UPDATE links SET next_sync_at = now() - interval '1 minute' WHERE id = $1`, l1.ID)
	require.NoError(t, err)

	inserter, err := river.NewClient(riverpgxv5.New(b.Pool), &river.Config{})
	require.NoError(t, err)
	noJitter := func(time.Duration) time.Duration { return 0 }
	res, err := jobs.Schedule(ctx, b.Store, inserter, noJitter, jobs.ScheduleConfig{Batch: 1}, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, res.Claimed)
	require.Equal(t, 1, res.Inserted)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND args->>'link_id' = $1 AND args->>'trigger' = 'scheduled' AND priority = 3`, l1.ID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM river_job WHERE args->>'link_id' = $1`, l2.ID))
	require.True(t, b.linkRow(t, l1.ID).NextSyncAt.After(time.Now().Add(5*time.Hour)))

	// Due again while its sync is still queued: rescheduled, not queued twice.
	_, err = b.Pool.Exec(ctx, `UPDATE links SET next_sync_at = now() - interval '1 minute' WHERE id = $1`, l1.ID)
	require.NoError(t, err)
	res, err = jobs.Schedule(ctx, b.Store, inserter, noJitter, jobs.ScheduleConfig{}, time.Now())
	require.NoError(t, err)
	require.Equal(t, jobs.ScheduleResult{Claimed: 1, Skipped: 1, Duration: res.Duration}, res)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE args->>'link_id' = $1`, l1.ID))

	// A manual sync is skipped while one is queued; another link's is not.
	require.NoError(t, b.Store.Transact(ctx, func(tx *store.Store) error {
		queued, err := jobs.EnqueueSync(ctx, inserter, tx.Tx(), l1.ID, jobs.TriggerManual)
		require.NoError(t, err)
		require.False(t, queued)
		queued, err = jobs.EnqueueSync(ctx, inserter, tx.Tx(), l2.ID, jobs.TriggerManual)
		require.NoError(t, err)
		require.True(t, queued)
		return nil
	}))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE args->>'link_id' = $1 AND priority = 1`, l2.ID), "interactive syncs go first")
}

func TestWorkerSchedulerSyncsDueLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, setupOptions{})
	link := b.consent(t, 3)
	_, err := b.Pool.Exec(ctx, `UPDATE links SET next_sync_at = now() WHERE id = $1`, link.ID)
	require.NoError(t, err)
	b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{ScheduleEvery: 500 * time.Millisecond})
	require.Eventually(t, func() bool {
		return b.count(t, `SELECT count(*) FROM sync_runs WHERE link_id = $1 AND outcome = 'success' AND trigger = 'scheduled'`, link.ID) == 1
	}, time.Minute, 100*time.Millisecond)
	b.requireMatchesTruth(t, link, 3)
}
