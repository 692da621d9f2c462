package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
)

// TestNextPageIsReadWhileOneCommitsButNoFurther holds the app user's
// change-feed lock so that the first page's commit cannot finish: the
// sync must still read the second page meanwhile (the read-ahead), and
// no page after it (at most two pages held). Once the lock is released
// the sync completes and matches the bank's ground truth.
func TestNextPageIsReadWhileOneCommitsButNoFurther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank := &offsetBank{}
	b := setup(t, setupOptions{inst: func(inst *consumerapi.Institution) { bank.serve(t, inst) }})
	// One account at a time: the bound is per account, and the pages
	// asked for are then one account's.
	syncer := b.syncer(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5, AccountConcurrency: 1}, 4)
	link := b.consent(t, 1)

	conn, err := b.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('pfmsync.change_feed:' || $1, 0))`, link.AppUserRef)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1) }()

	// The first page waits for the lock; the second is read meanwhile.
	require.Eventually(t, func() bool { return len(bank.asked()) >= 2 }, time.Minute, 10*time.Millisecond)
	// Give a reader that ignored the bound ample time to ask for more.
	time.Sleep(time.Second)
	require.Equal(t, []int{0, 15}, bank.asked(), "one page committing, one read ahead, nothing more")
	select {
	case err := <-done:
		t.Fatalf("the sync ended while its first page could not commit: %v", err)
	default:
	}

	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('pfmsync.change_feed:' || $1, 0))`, link.AppUserRef)
	require.NoError(t, err)
	require.NoError(t, <-done)
	b.requireMatchesTruth(t, link, 1)
	require.Greater(t, len(bank.asked()), 2)
}
