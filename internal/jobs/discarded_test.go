package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
)

// A sync job River discarded (its attempts used up, e.g. by rescues after
// crashes) is recorded on the link, and the link is due again at once.
func TestDiscardedSyncIsRecordedAndScheduledAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	link := b.consent(t, 1)
	ctx := context.Background()
	_, err := b.Pool.Exec(ctx, `UPDATE links SET next_sync_at = now() + interval '6 hours' WHERE id = $1`, link.ID)
	require.NoError(t, err)
	var jobID int64
	require.NoError(t, b.Pool.QueryRow(ctx, `
		INSERT INTO river_job (args, attempt, max_attempts, kind, queue, state, finalized_at, attempted_at)
		VALUES (jsonb_build_object('link_id', $1::text, 'trigger', 'link'), 25, 25, $2, 'sync', 'discarded', now(), now())
		RETURNING id`, link.ID, jobs.SyncArgs{}.Kind()).Scan(&jobID))

	// A worker's scheduler pass records the discard and queues the link
	// again: a new sync job runs to completion.
	b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{ScheduleEvery: 200 * time.Millisecond})
	require.Eventually(t, func() bool {
		return b.count(t, `SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'link_id' = $2
			AND state = 'completed'`, jobs.SyncArgs{}.Kind(), link.ID) > 0
	}, 60*time.Second, 100*time.Millisecond)

	got := b.linkRow(t, link.ID)
	require.Equal(t, pfm.LinkActive, got.Status)
	var recorded int64
	var discardedAt *time.Time
	require.NoError(t, b.Pool.QueryRow(ctx, `SELECT last_discarded_job_id, last_discarded_at FROM links WHERE id = $1`,
		link.ID).Scan(&recorded, &discardedAt))
	require.Equal(t, jobID, recorded)
	require.NotNil(t, discardedAt)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM sync_runs WHERE link_id = $1 AND outcome = 'success'`, link.ID))

	// Recorded once: a later pass leaves the link alone.
	ids, err := b.Store.RescheduleDiscardedSyncs(ctx, jobs.SyncArgs{}.Kind(), time.Now().Add(-time.Hour), pfm.ClassJobDiscarded)
	require.NoError(t, err)
	require.Empty(t, ids)
}
