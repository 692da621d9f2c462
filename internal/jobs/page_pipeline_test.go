package jobs_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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

	unlock := stopFeedWriters(t, b.Pool, link.AppUserRef)
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

	unlock()
	require.NoError(t, <-done)
	b.requireMatchesTruth(t, link, 1)
	require.Greater(t, len(bank.asked()), 2)
}

// accountPagesBank is a proxy in front of the Consumer API that records
// the offset of every transactions page asked for, per account.
type accountPagesBank struct {
	mu    sync.Mutex
	pages map[string][]int
}

func (a *accountPagesBank) asked() map[string][]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]int{}
	for k, v := range a.pages {
		out[k] = slices.Clone(v)
	}
	return out
}

func (a *accountPagesBank) serve(t *testing.T, inst *consumerapi.Institution) {
	t.Helper()
	proxyTransactions(t, inst, func(r *http.Request) {
		rest := strings.TrimSuffix(r.URL.Path, "/transactions")
		account := rest[strings.LastIndex(rest, "/")+1:]
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.pages == nil {
			a.pages = map[string][]int{}
		}
		a.pages[account] = append(a.pages[account], offset)
	})
}

// TestPagesInFlightAreBoundedPerSync holds the app user's change-feed
// lock while a link's accounts are read side by side: every account's
// first page then waits to commit, and the sync's bound on pages in
// flight (one per account read at once) leaves no place for a page read
// ahead, where each account would otherwise hold a second page. Once the
// lock is released the sync completes and matches the bank's ground
// truth.
func TestPagesInFlightAreBoundedPerSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank := &accountPagesBank{}
	b := setup(t, setupOptions{inst: func(inst *consumerapi.Institution) { bank.serve(t, inst) }})
	syncer := b.syncer(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5}, 4)
	// Sandbox user 2 has several accounts, some with more than one page
	// in their first window.
	link := b.consent(t, 2)

	unlock := stopFeedWriters(t, b.Pool, link.AppUserRef)
	done := make(chan error, 1)
	go func() { done <- syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1) }()

	// The accounts whose first page waits for the lock (as many as the
	// test pool's connections allow) ask for nothing more.
	require.Eventually(t, func() bool { return len(bank.asked()) >= 2 }, time.Minute, 10*time.Millisecond,
		"accounts read side by side")
	// Give a reader that ignored the bound ample time to read ahead.
	time.Sleep(time.Second)
	for account, offsets := range bank.asked() {
		require.Equal(t, []int{0}, offsets, "account %s: one page committing, none read ahead", account)
	}
	select {
	case err := <-done:
		t.Fatalf("the sync ended while no page could commit: %v", err)
	default:
	}

	unlock()
	require.NoError(t, <-done)
	b.requireMatchesTruth(t, link, 2)
	more := 0
	for _, offsets := range bank.asked() {
		if slices.Contains(offsets, 15) {
			more++
		}
	}
	require.Positive(t, more, "an account had a second page: without the bound it would have been read ahead")
}

// stopFeedWriters holds the app user's change-feed scope lock exclusive,
// as erasure does, so that no page of the user's syncs can commit, until
// the returned unlock is called (or the test ends).
func stopFeedWriters(t *testing.T, pool *pgxpool.Pool, appUserRef string) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('pfmsync.change_feed:' || $1, 0))`, appUserRef)
	require.NoError(t, err)
	unlock = sync.OnceFunc(func() {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('pfmsync.change_feed:' || $1, 0))`, appUserRef)
		require.NoError(t, err)
		conn.Release()
	})
	t.Cleanup(unlock)
	return unlock
}
