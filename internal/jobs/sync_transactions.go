package jobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// accountTarget is an account whose transactions a sync reads.
type accountTarget struct {
	stored store.StoredAccount
	// input is the account as listed now; zero for an account the bank
	// has just inactivated.
	input store.AccountInput
	// lists is what the sync of the account has read of the bank's
	// inactivated lists: each id is tombstoned once and never written
	// live again in the same sync. The account's readers share it.
	lists *inactivatedLists
	// helpers may start a second reader on the account's backfill once
	// another account of the sync is done (nil: never).
	helpers *backfillHelpers
	// pages are the account's places among the sync's pages in flight
	// (nil: no bound beyond the account's own two).
	pages *accountPages
	// obs collects what the link's sync noticed (nil: not collected).
	obs *syncObservations
	// closed: the account was already closed when first seen.
	closed bool
	// openQuarantine: the account has unresolved quarantined records, to
	// resolve when the bank serves them correctly.
	openQuarantine bool
}

// accountType is the account's type as listed, or for an account the bank
// has just inactivated a type with the sign rule its stored row recorded.
func (t accountTarget) accountType() string {
	if t.input.Type != "" {
		return t.input.Type
	}
	if t.stored.IsLiability {
		return pfm.AccountTypeDebt
	}
	return "Deposit"
}

// removalBatch is how many inactivated ids one statement tombstones.
const removalBatch = 1000

// errRepeatedPage marks a transactions page that repeats the previous one:
// the bank ignores offset, and reading on would never end.
var errRepeatedPage = errors.New("the bank returned the previous transactions page again (offset ignored?)")

// pageFingerprint identifies a page by its transaction ids, in order.
type pageFingerprint [sha256.Size]byte

func fingerprint(page *consumerapi.TransactionPage) pageFingerprint {
	h := sha256.New()
	for _, tx := range page.Transactions {
		h.Write([]byte(tx.ID))
		h.Write([]byte{0})
	}
	var f pageFingerprint
	h.Sum(f[:0])
	return f
}

// syncTransactions brings one account's transactions up to date.
//
// The first sync backfills BackfillDepth in windows of posted dates, newest
// first, so a dashboard is useful at once; progress (backfill_before) commits
// with the last page of each window, as far back as the windows committed
// without a gap (a second reader may commit later windows first), so a
// crash repeats at most the windows being read and never skips one.
// Later syncs ask for updatedSince = watermark − Overlap; the watermark
// advances only with the last page of a pass. Every page's rows and
// tombstones commit in one transaction with the change feed.
//
// The watermark never passes the bank's clock at the start of the pass
// (the accounts' fetchedDate, else the wall clock): anything that changes
// while the pass runs is read again by the next one.
func (s *Syncer) syncTransactions(ctx context.Context, session *consumerapi.Session, link pfm.Link, t accountTarget) (store.WriteCounts, error) {
	var total store.WriteCounts
	st, err := s.store.AccountSyncState(ctx, t.stored.ID)
	if err != nil {
		return total, err
	}
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: t.stored.ID}
	if t.openQuarantine, err = s.store.HasOpenQuarantine(ctx, t.stored.ID); err != nil {
		return total, err
	}
	// The bank repeats inactivatedTransactionIds on every page; each id is
	// tombstoned once per sync of the account.
	t.lists = newInactivatedLists()
	defer func() {
		// The ids recorded serve only this sync's pages.
		if t.lists.chunks.Len() == 0 {
			return
		}
		if err := s.store.ForgetListedTransactions(context.WithoutCancel(ctx), t.stored.ID, t.lists.listing); err != nil {
			s.logger.Warn("listed inactivated ids not forgotten (a later sync deletes them)", "account_id", t.stored.ID, "error", err)
		}
	}()
	passStart := s.now()
	ref := passStart
	if t.input.BalanceAsOf != nil {
		ref = *t.input.BalanceAsOf
	}
	// The bank's instants have millisecond precision; so do window bounds,
	// or a transaction posted in the millisecond before a window's start
	// would fall between two windows.
	ref = ref.Truncate(time.Millisecond)

	backfilled := !st.BackfillComplete
	resumed := backfilled && st.BackfillBefore != nil
	if backfilled {
		depthStart := ref.Add(-s.cfg.BackfillDepth)
		if st.BackfillBefore != nil && !st.BackfillBefore.After(depthStart) {
			// The reference moved on since the last window (a sync resumed
			// days later): what is left lies beyond the depth.
			st.BackfillComplete = true
			if err := s.store.SaveSyncState(ctx, st); err != nil {
				return total, err
			}
		} else {
			// The windows are read in order by one page reader, the next
			// window's first page while the last one's commits, and by a
			// second reader once another account of the sync is done
			// (readBackfill). The progress is saved with the last page of
			// each window, as far back as the windows committed without a
			// gap (backfillProgress).
			windows := slices.Collect(backfillWindows(st.BackfillBefore, ref, depthStart, s.cfg.BackfillWindow))
			progress := newBackfillProgress(s.store, st, windows, ref)
			passes := make([]pagePass, len(windows))
			for k, w := range windows {
				passes[k] = pagePass{q: w.query,
					finish: func(tx *store.Store, maxSeen *time.Time) error {
						return progress.finish(ctx, tx, k, maxSeen)
					},
					committed: func(ctx context.Context) error {
						return progress.afterCommit(ctx, k)
					}}
			}
			counts, err := s.readBackfill(ctx, session, t, scope, newPassQueue(passes))
			total.Add(counts)
			if err != nil {
				return total, err
			}
			st = progress.state(st)
		}
	}
	if !backfilled || resumed {
		// An incremental pass: every sync after the backfill, and also
		// right after a backfill that resumed an earlier sync's (its first
		// window is not recent any more).
		var q consumerapi.TransactionQuery
		if st.Watermark != nil {
			q.UpdatedSince = st.Watermark.Add(-s.cfg.Overlap)
		}
		counts, err := s.readPages(ctx, session, t, scope, newPassQueue([]pagePass{{q: q, finish: func(tx *store.Store, maxSeen *time.Time) error {
			next := st
			next.Watermark = nil
			if maxSeen != nil {
				wm := *maxSeen
				if ref.Before(wm) {
					wm = ref
				}
				next.Watermark = &wm
			}
			return tx.SaveSyncState(ctx, next)
		}}}))
		total.Add(counts)
		if err != nil {
			return total, err
		}
	}
	if total.Removed > 0 {
		if _, err := s.store.MatchReplacedPending(ctx, t.stored.ID, passStart.Add(-time.Minute)); err != nil {
			return total, err
		}
	}
	return total, nil
}

// backfillWindow is one window of posted dates a backfill reads: query
// asks for it, start is its first instant (the backfill_before its last
// page commits), and last marks the window that reaches the depth.
type backfillWindow struct {
	query consumerapi.TransactionQuery
	start time.Time
	last  bool
}

// backfillWindows yields the windows a backfill reads, newest first, from
// before (nil: from ref, the newest window reaching up to now) back to
// depthStart, each at most size long.
func backfillWindows(before *time.Time, ref, depthStart time.Time, size time.Duration) iter.Seq[backfillWindow] {
	return func(yield func(backfillWindow) bool) {
		for {
			var w backfillWindow
			if before == nil {
				w.start = later(ref.Add(-size), depthStart)
			} else {
				w.start = later(before.Add(-size), depthStart)
				w.query.Until = before.Add(-time.Millisecond)
			}
			w.query.Since = w.start
			w.last = !w.start.After(depthStart)
			if !yield(w) || w.last {
				return
			}
			before = &w.start
		}
	}
}

// pagePass is one query whose pages readPages commits, and what commits
// with its last page: finish runs in that page's transaction with the
// highest lastUpdated seen in the query's pages, and committed (when set)
// once that page has committed.
type pagePass struct {
	q         consumerapi.TransactionQuery
	finish    func(tx *store.Store, maxSeen *time.Time) error
	committed func(ctx context.Context) error
}

// readPages walks the pages of each pass's query it takes from q in turn
// (offset/limit, consecutive pages overlapping by PageOverlap rows so a
// row that shifts between two reads is not skipped), committing each
// page's rows and tombstones in one transaction, and the pass's finish
// with its last page. The next page is read while one commits
// (prefetchPages), also across passes. It returns once no pass is left
// in q.
func (s *Syncer) readPages(ctx context.Context, session *consumerapi.Session, t accountTarget, scope store.FeedScope,
	q *passQueue) (store.WriteCounts, error) {
	var total store.WriteCounts
	ctx, stop := context.WithCancel(ctx)
	pages := s.prefetchPages(ctx, session, t, q)
	defer func() {
		// The reader has stopped once its channel is closed.
		stop()
		for p := range pages {
			p.release()
		}
	}()
	// w is the pass's walk: it starts again with each pass.
	var w pageWalk
	midPass := false
	for page := range pages {
		pass := q.passes[page.pass]
		last, err := s.commitPage(ctx, t, scope, &w, page, pass.finish)
		page.release()
		if err == nil && last && pass.committed != nil {
			err = pass.committed(ctx)
		}
		if err != nil {
			total.Add(w.total)
			return total, err
		}
		midPass = !last
		if last {
			total.Add(w.total)
			w = pageWalk{}
			if page.final {
				return total, nil
			}
		}
	}
	total.Add(w.total)
	if err := ctx.Err(); err != nil {
		return total, err
	}
	if midPass {
		return total, fmt.Errorf("read transactions of account %s: the page reader stopped early", t.stored.ID)
	}
	// No pass was left for the reader to take.
	return total, nil
}

// pageWalk is what readPages carries from one page to the next.
type pageWalk struct {
	total store.WriteCounts
	// maxSeen is the highest lastUpdated seen so far.
	maxSeen *time.Time
	// prev identifies the last page that had transactions.
	prev pageFingerprint
}

// commitPage commits one page read by prefetchPages (readPages): its rows,
// its new tombstones and, with the last page of its pass, finish. last
// reports that page committed.
func (s *Syncer) commitPage(ctx context.Context, t accountTarget, scope store.FeedScope, w *pageWalk, page fetchedPage,
	finish func(tx *store.Store, maxSeen *time.Time) error) (last bool, _ error) {
	if page.err != nil {
		return false, page.err
	}
	// Consecutive pages share PageOverlap rows, but a page is never
	// the previous one again once offset moved past it: a bank that
	// ignores offset would otherwise be read until the job times out.
	if !page.empty {
		if page.offset > 0 && page.fp == w.prev {
			return false, fmt.Errorf("read transactions of account %s at offset %d: %w", t.stored.ID, page.offset, errRepeatedPage)
		}
		w.prev = page.fp
	}
	for _, in := range page.inputs {
		if in.ProviderUpdatedAt != nil && (w.maxSeen == nil || in.ProviderUpdatedAt.After(*w.maxSeen)) {
			u := *in.ProviderUpdatedAt
			w.maxSeen = &u
		}
	}
	now := s.now()
	err := s.store.Transact(ctx, func(tx *store.Store) error {
		// The account's pages commit one at a time (a second reader may
		// read it), each seeing what those before it wrote.
		if err := tx.LockAccountSync(ctx, t.stored.ID); err != nil {
			return err
		}
		// The listed ids no earlier page of the sync listed come first:
		// recorded as listed, so the upsert below (this page's or a
		// later one's, whichever reader read it) leaves them out, and
		// tombstoned where stored.
		rm, err := s.tombstone(ctx, tx, scope, t.lists, page.removals, now)
		if err != nil {
			return err
		}
		// Transactions listed as inactivated earlier in the sync (or by
		// this page) are left out: the tombstone stands.
		inputs, err := t.lists.leaveOutListed(ctx, tx, t.stored.ID, page.inputs)
		if err != nil {
			return err
		}
		up, err := tx.UpsertTransactions(ctx, scope, inputs)
		if err != nil {
			return err
		}
		if err := s.setAside(ctx, tx, t, scope, inputs, page.rejected, now); err != nil {
			return err
		}
		if page.last {
			if err := finish(tx, w.maxSeen); err != nil {
				return err
			}
		}
		w.total.Add(up)
		w.total.Add(rm)
		return nil
	})
	if err != nil {
		// The sync of the account ends here (its other reader, if any,
		// is stopped): t.lists, which now names chunks whose ids this
		// transaction did not record, is not used to write again.
		return false, err
	}
	return page.last, nil
}

// tombstone records ids, listed inactivated, in lists' filter and in the
// database under lists' listing, marks the transactions they name as
// removed, and tells the app how many were, in tx. A first sync can meet
// tens of thousands at once: they are applied in bounded statements, so
// the statement (and the connection buffer that keeps its size) does not
// grow with the account's history. The ids are held compactly; each
// statement's strings are made for it alone, and serve the filter too.
func (s *Syncer) tombstone(ctx context.Context, tx *store.Store, scope store.FeedScope, lists *inactivatedLists, ids *consumerapi.IDList, now time.Time) (store.WriteCounts, error) {
	var rm store.WriteCounts
	lists.filter.reserve(ids.Len())
	for chunk := range ids.Chunks(removalBatch) {
		lists.filter.add(chunk)
		c, err := tx.RemoveListedTransactions(ctx, scope, lists.listing, chunk, now)
		if err != nil {
			return rm, err
		}
		rm.Add(c)
	}
	return rm, s.tellRemoved(ctx, tx, scope, rm.Removed)
}

// tellRemoved tells the app, in tx, that n of the account's transactions
// were removed, if any were: the bank listed them inactivated, or a
// reconciliation or the stale-pending rule tombstoned them.
func (s *Syncer) tellRemoved(ctx context.Context, tx *store.Store, scope store.FeedScope, n int) error {
	if n == 0 {
		return nil
	}
	return s.events.Emit(ctx, tx, events.Event{Type: events.TransactionsRemoved, AppUserRef: scope.AppUserRef, LinkID: scope.LinkID,
		Data: events.TransactionsRemovedData{AccountID: scope.AccountID, Removed: n}})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
