package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/store"
)

// An account's backfill is a list of windows of posted dates, each read
// page after page by one reader (prefetchPages and readPages). A sync
// reads its accounts side by side, so while every account still reads,
// each has one reader. Once an account is done, its reader slot and its
// place among the sync's pages in flight are free, and the sync would
// otherwise wait on the longest account alone: a second reader then
// takes that account's next windows (backfillHelpers), and the two read
// and commit side by side.
//
// Windows then commit out of order. The sync state says how far back the
// backfill reached (backfill_before); it is saved only as far as the
// windows committed without a gap (backfillProgress), so a crash or an
// error repeats at most the windows in flight and those after a gap, and
// never skips one. What the sync has read of the account's inactivated
// lists is shared by its readers (inactivatedLists).

// passQueue hands the passes of one account's sync to its readers, in
// order, each pass to one reader.
type passQueue struct {
	passes []pagePass
	mu     sync.Mutex
	next   int
	// closed is closed once the account takes no more readers.
	closed    chan struct{}
	closeOnce sync.Once
}

func newPassQueue(passes []pagePass) *passQueue {
	return &passQueue{passes: passes, closed: make(chan struct{})}
}

// take hands out the next pass, and reports how many are left after it;
// ok is false when none is left or the queue is closed.
func (q *passQueue) take() (pass, left int, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.closed:
		return 0, 0, false
	default:
	}
	if q.next == len(q.passes) {
		return 0, 0, false
	}
	q.next++
	return q.next - 1, len(q.passes) - q.next, true
}

// left reports how many passes no reader has taken.
func (q *passQueue) left() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.passes) - q.next
}

// close marks the account as taking no more readers, and its readers as
// taking no more passes.
func (q *passQueue) close() { q.closeOnce.Do(func() { close(q.closed) }) }

// backfillProgress follows which of an account's backfill windows have
// committed, and saves the sync state as far back as they reach without
// a gap: with the last page of the window that closes the gap (in its
// transaction), or, when windows after it committed meanwhile, in a
// statement of its own once that page has committed. Either way a save
// names only windows whose pages have all committed (a window's own
// transaction saves only when every window before it has committed). The
// separate statement runs outside the lock (a reader waiting for the lock
// inside its transaction holds a connection and the feed's order lock);
// two saves landing out of order change nothing, since SaveSyncState
// never moves progress back.
type backfillProgress struct {
	store   *store.Store
	windows []backfillWindow
	// setsWatermark: the first window reaches up to ref (the account's
	// first sync), and its pages set the watermark.
	setsWatermark bool
	ref           time.Time

	mu sync.Mutex
	// base is the state every save starts from: the state before the
	// backfill, with the first window's watermark once it is known.
	base      store.SyncState
	committed []bool
	// saved is how many windows, from the first, the state saved (or
	// being saved by a transaction not yet committed) covers.
	saved int
}

func newBackfillProgress(st *store.Store, base store.SyncState, windows []backfillWindow, ref time.Time) *backfillProgress {
	return &backfillProgress{store: st, windows: windows, setsWatermark: base.BackfillBefore == nil, ref: ref,
		base: base, committed: make([]bool, len(windows))}
}

// reach returns how many windows from the first have committed, counting
// window k as committed when k >= 0.
func (p *backfillProgress) reach(k int) int {
	n := 0
	for n < len(p.committed) && (p.committed[n] || n == k) {
		n++
	}
	return n
}

// stateThrough is the sync state once the first n windows are stored.
func (p *backfillProgress) stateThrough(n int) store.SyncState {
	next := p.base
	start := p.windows[n-1].start
	next.BackfillBefore = &start
	next.BackfillComplete = p.windows[n-1].last
	return next
}

// finish runs in the transaction of window k's last page, with the
// highest lastUpdated its pages held.
func (p *backfillProgress) finish(ctx context.Context, tx *store.Store, k int, maxSeen *time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k == 0 && p.setsWatermark {
		// Later windows keep the watermark the first one set (saving it
		// again is harmless: it never moves backwards).
		wm := p.ref
		if maxSeen != nil && maxSeen.Before(p.ref) {
			wm = *maxSeen
		}
		p.base.Watermark = &wm
	}
	if p.reach(-1) != k {
		// A window before k has not committed: the state is saved once
		// it has.
		return nil
	}
	n := p.reach(k)
	if err := tx.SaveSyncState(ctx, p.stateThrough(n)); err != nil {
		return err
	}
	p.saved = max(p.saved, n)
	return nil
}

// afterCommit runs once window k's last page has committed.
func (p *backfillProgress) afterCommit(ctx context.Context, k int) error {
	p.mu.Lock()
	p.committed[k] = true
	n := p.reach(-1)
	if n <= p.saved {
		p.mu.Unlock()
		return nil
	}
	next := p.stateThrough(n)
	p.saved = n
	p.mu.Unlock()
	return p.store.SaveSyncState(ctx, next)
}

// state returns the sync state as saved.
func (p *backfillProgress) state(before store.SyncState) store.SyncState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.saved == 0 {
		return before
	}
	return p.stateThrough(p.saved)
}

// backfillHelpers starts a second reader on an account's backfill windows
// once an account of the sync is done (see the top of this file). A
// reader takes a slot of the sync's readers (the accounts it reads at
// once, AccountConcurrency), so the bank never has more of the sync's
// requests in flight than before, and a place among its pages in flight,
// so the sync holds no more pages than before. Second readers start only
// once every account of the sync has started: an account still to start
// has the first claim on a slot freed.
type backfillHelpers struct {
	slots  chan struct{}
	budget *pageBudget
	logger *slog.Logger
	// started is told of every second reader that starts reading.
	started func()

	mu sync.Mutex
	// accountsStarted: every account of the sync has started;
	// accountDone: one is done. Until both, every slot and place is an
	// account's.
	accountsStarted, accountDone bool
	offers                       map[*backfillOffer]struct{}
}

func newBackfillHelpers(slots chan struct{}, budget *pageBudget, logger *slog.Logger, started func()) *backfillHelpers {
	return &backfillHelpers{slots: slots, budget: budget, logger: logger, started: started, offers: map[*backfillOffer]struct{}{}}
}

// backfillOffer is an account's backfill open to more readers.
type backfillOffer struct {
	queue *passQueue
	// read runs one more reader on the queue with the given page places,
	// until no window is left.
	read func(pages *accountPages) (store.WriteCounts, error)
	// cancel stops the account's other readers when one fails.
	cancel context.CancelCauseFunc
	ctx    context.Context
	// accountID names the account in logs.
	accountID string
	// helped: a second reader was started (under backfillHelpers.mu); an
	// account has two readers at most.
	helped bool

	readers sync.WaitGroup
	mu      sync.Mutex
	counts  store.WriteCounts
	err     error
}

// allStarted tells that every account of the sync has started.
func (h *backfillHelpers) allStarted() {
	h.mu.Lock()
	h.accountsStarted = true
	h.mu.Unlock()
	h.wake()
}

// accountFinished tells that an account of the sync is done with its
// transactions: its slot and page place may go to a second reader.
func (h *backfillHelpers) accountFinished() {
	h.mu.Lock()
	h.accountDone = true
	h.mu.Unlock()
	h.wake()
}

// wake starts a second reader on the open backfill with the most windows
// left, if there is one and a reader slot is free.
func (h *backfillHelpers) wake() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.accountsStarted || !h.accountDone {
		return
	}
	var best *backfillOffer
	most := 0
	for o := range h.offers {
		if n := o.queue.left(); n > most && !o.helped {
			best, most = o, n
		}
	}
	if best == nil {
		return
	}
	select {
	case h.slots <- struct{}{}:
	default:
		return
	}
	best.helped = true
	best.readers.Add(1)
	go h.help(best)
}

// help reads o's windows with a page place of its own, then gives back its
// slot and place and offers them to another account.
func (h *backfillHelpers) help(o *backfillOffer) {
	// The account waits for its readers: the slot is given back and
	// offered again before it stops waiting.
	defer o.readers.Done()
	defer h.wake()
	defer func() { <-h.slots }()
	// The place may be held by an account's read-ahead for a page; an
	// account done meanwhile takes no more readers.
	pages, err := h.budget.accountUntil(o.ctx, o.queue.closed)
	if err != nil {
		return
	}
	defer pages.done()
	h.logger.Debug("a second reader joins an account's backfill", "account_id", o.accountID, "windows_left", o.queue.left())
	h.started()
	counts, err := o.read(pages)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counts.Add(counts)
	if err != nil && o.err == nil {
		o.err = err
		o.cancel(err)
	}
}

// offer opens an account's backfill to more readers until withdraw.
func (h *backfillHelpers) offer(o *backfillOffer) {
	h.mu.Lock()
	h.offers[o] = struct{}{}
	h.mu.Unlock()
	h.wake()
}

// withdraw closes o to more readers and waits for those it has, returning
// what they wrote and the first error one of them met.
func (h *backfillHelpers) withdraw(o *backfillOffer) (store.WriteCounts, error) {
	o.queue.close()
	h.mu.Lock()
	delete(h.offers, o)
	h.mu.Unlock()
	o.readers.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts, o.err
}

// readBackfill reads an account's backfill windows: with one reader, and
// with a second one too when t.helpers starts it.
func (s *Syncer) readBackfill(ctx context.Context, session *consumerapi.Session, t accountTarget, scope store.FeedScope,
	q *passQueue) (store.WriteCounts, error) {
	if t.helpers == nil {
		return s.readPages(ctx, session, t, scope, q)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	o := &backfillOffer{queue: q, ctx: ctx, cancel: cancel, accountID: t.stored.ID}
	quarantined := 0
	o.read = func(pages *accountPages) (store.WriteCounts, error) {
		h := t
		h.pages = pages
		if t.obs != nil {
			// Its own observations, added to the account's once the
			// readers are done.
			h.obs = &syncObservations{}
			defer func() {
				o.mu.Lock()
				defer o.mu.Unlock()
				quarantined += h.obs.quarantined
			}()
		}
		return s.readPages(ctx, session, h, scope, q)
	}
	t.helpers.offer(o)
	counts, err := s.readPages(ctx, session, t, scope, q)
	if err != nil {
		// The windows after a failed one would never be saved: the
		// other reader stops too.
		cancel(err)
	}
	more, helperErr := t.helpers.withdraw(o)
	counts.Add(more)
	if t.obs != nil {
		t.obs.quarantined += quarantined
	}
	switch {
	case err == nil:
		err = helperErr
	case helperErr != nil && errors.Is(err, context.Canceled) && errors.Is(context.Cause(ctx), helperErr):
		// The account's own reader stopped because the other failed.
		err = helperErr
	}
	return counts, err
}
