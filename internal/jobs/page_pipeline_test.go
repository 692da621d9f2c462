package jobs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
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
	requireStillSyncing(t, done)

	unlock()
	require.NoError(t, <-done)
	b.requireMatchesTruth(t, link, 1)
	require.Greater(t, len(bank.asked()), 2)
}

// TestPagesInFlightAreBoundedPerSync holds the app user's change-feed
// lock while a link's accounts are read side by side with 20-row pages:
// every account's first page then waits to commit, and the sync's bound
// on pages in flight (one per account read at once) leaves no place for
// a page read ahead of a page that is not light, where each account would
// otherwise hold a second page. Once the lock is released the sync
// completes and matches the bank's ground truth.
func TestPagesInFlightAreBoundedPerSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank := &windowsBank{}
	b := setup(t, setupOptions{sandbox: fixedData, inst: func(inst *consumerapi.Institution) { bank.serve(t, inst) }})
	syncer := b.syncer(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5}, 4)
	// Sandbox user 2 has several accounts, some with more than one page
	// in their first window.
	link := b.consent(t, 2)

	unlock := stopFeedWriters(t, b.Pool, link.AppUserRef)
	done := make(chan error, 1)
	go func() { done <- syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1) }()

	// The accounts whose first page waits for the lock (as many as the
	// test pool's connections allow) ask for nothing more, but those
	// whose first page is light (the sandbox's data follow its clock).
	require.Eventually(t, func() bool { return readAheadSettled(bank.asked(), 20) }, time.Minute, 10*time.Millisecond,
		"accounts read side by side")
	// Give a reader that ignored the bound ample time to read ahead.
	time.Sleep(time.Second)
	_, heavy := requireReadAheadOnlyAfterLight(t, bank.asked(), 20)
	require.Positive(t, heavy, "an account's first page is not light: it must be held back")
	requireStillSyncing(t, done)

	unlock()
	require.NoError(t, <-done)
	b.requireMatchesTruth(t, link, 2)
	more := 0
	for _, pages := range bank.asked() {
		if slices.ContainsFunc(pages, func(p askedPage) bool { return p.Get("offset") == "15" }) {
			more++
		}
	}
	require.Positive(t, more, "an account had a second page: without the bound it would have been read ahead")
}

// fixedData starts the sandbox's data clock at a fixed instant. By
// default it starts at the wall clock's hour, and which accounts' first
// windows fit in a light page then changes from hour to hour: a test that
// needs light and heavy first pages would pass or fail with the time of
// day.
func fixedData(o *sandbox.Options) { o.Bank.Start = bank.FixedStart }

// readAheadSettled reports whether at least two accounts asked for a
// page and every account whose first page is light asked for the page
// after it.
func readAheadSettled(asked map[string][]askedPage, pageSize int) bool {
	if len(asked) < 2 {
		return false
	}
	for _, pages := range asked {
		if pages[0].light(pageSize) && len(pages) < 2 {
			return false
		}
	}
	return true
}

// requireReadAheadOnlyAfterLight checks the pages each account asked for
// while none of its pages could commit: the newest window's first page,
// then, only when that page is light, the first page of the window just
// before it, and nothing further. It returns how many accounts had a
// light and a heavy first page.
func requireReadAheadOnlyAfterLight(t *testing.T, asked map[string][]askedPage, pageSize int) (light, heavy int) {
	t.Helper()
	for account, pages := range asked {
		first := pages[0]
		require.Equal(t, "0", first.Get("offset"), "account %s", account)
		require.Empty(t, first.Get("until"), "account %s: the newest window first", account)
		if !first.light(pageSize) {
			heavy++
			require.Len(t, pages, 1, "account %s: its first page is not light: none read ahead", account)
			continue
		}
		light++
		require.Len(t, pages, 2, "account %s: a light page committing, one read ahead", account)
		second := pages[1]
		require.Equal(t, "0", second.Get("offset"), "account %s: the next window's first page", account)
		until, err := time.Parse(time.RFC3339Nano, second.Get("until"))
		require.NoError(t, err)
		since, err := time.Parse(time.RFC3339Nano, first.Get("since"))
		require.NoError(t, err)
		require.Equal(t, since.Add(-time.Millisecond), until, "account %s: the window just before the first", account)
	}
	return light, heavy
}

// requireStillSyncing fails the test when the sync has ended while its
// pages could not commit.
func requireStillSyncing(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("the sync ended while its pages could not commit: %v", err)
	default:
	}
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

// TestLightPagesAreReadAheadAcrossWindows holds the app user's change-feed
// lock while a link's accounts start their first sync with pages large
// enough that a backfill window usually fits in a light page (at most a
// quarter of a page): every account's first window then waits to commit,
// and each account whose first page is light reads the next window's
// first page meanwhile (in the place the light page shares), and nothing
// further; one whose first page is not light reads nothing ahead. Once
// the lock is released the sync completes and matches the bank's ground
// truth.
func TestLightPagesAreReadAheadAcrossWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank := &windowsBank{}
	b := setup(t, setupOptions{sandbox: fixedData, inst: func(inst *consumerapi.Institution) { bank.serve(t, inst) }})
	const pageSize = 500
	syncer := b.syncer(t, jobs.SyncConfig{PageSize: pageSize, PageOverlap: 5}, 4)
	// Sandbox user 2 has several accounts.
	link := b.consent(t, 2)

	unlock := stopFeedWriters(t, b.Pool, link.AppUserRef)
	done := make(chan error, 1)
	go func() { done <- syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1) }()

	require.Eventually(t, func() bool { return readAheadSettled(bank.asked(), pageSize) }, time.Minute, 10*time.Millisecond,
		"every account with a light first page read its second window while its first could not commit")
	// Give a reader that ignored the bound ample time to read further.
	time.Sleep(time.Second)
	light, _ := requireReadAheadOnlyAfterLight(t, bank.asked(), pageSize)
	require.GreaterOrEqual(t, light, 2, "accounts whose first window is a light page")
	requireStillSyncing(t, done)

	unlock()
	require.NoError(t, <-done)
	b.requireMatchesTruth(t, link, 2)
}

// windowsBank is a proxy in front of the Consumer API that records every
// transactions page asked for, per account: its query, and how many
// transactions the bank answered with.
type windowsBank struct {
	mu    sync.Mutex
	pages map[string][]askedPage
}

type askedPage struct {
	url.Values
	// records and ids are how many transactions and inactivated ids
	// the bank answered with.
	records, ids int
}

// light reports whether the page, as the first of its account's sync
// (every id it lists is new), is light for pages of pageSize: at most a
// quarter of a page of transactions and ids together.
func (p askedPage) light(pageSize int) bool {
	return (p.records+p.ids)*4 <= pageSize
}

func (a *windowsBank) asked() map[string][]askedPage {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]askedPage{}
	for k, v := range a.pages {
		out[k] = slices.Clone(v)
	}
	return out
}

func (a *windowsBank) serve(t *testing.T, inst *consumerapi.Institution) {
	t.Helper()
	proxyTransactionPages(t, inst, nil, func(r *http.Request, body []byte) error {
		var page struct {
			Transactions []json.RawMessage `json:"transactions"`
			Inactivated  []string          `json:"inactivatedTransactionIds"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		rest := strings.TrimSuffix(r.URL.Path, "/transactions")
		account := rest[strings.LastIndex(rest, "/")+1:]
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.pages == nil {
			a.pages = map[string][]askedPage{}
		}
		a.pages[account] = append(a.pages[account], askedPage{Values: r.URL.Query(), records: len(page.Transactions), ids: len(page.Inactivated)})
		return nil
	})
}
