package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/store"
)

// fetchedPage is one transactions page read, decoded and mapped ahead of
// its commit.
type fetchedPage struct {
	// pass is the index of the page's query among those prefetchPages
	// reads; offset is the page's offset in it.
	pass   int
	offset int
	// fp identifies the page by its transaction ids (zero when empty).
	fp    pageFingerprint
	empty bool
	// inputs are the page's transactions mapped for the store, in page
	// order (those listed as inactivated in this sync are left out when
	// the page commits); rejected are the records set aside: unreadable
	// as sent, or not mappable.
	inputs   []store.TransactionInput
	rejected []consumerapi.RejectedTransaction
	// removals are the ids of the page's inactivatedTransactionIds list
	// in the chunks no earlier page of this sync read, held compactly:
	// to record and tombstone with the page, in statements of
	// removalBatch ids (none when the page repeats a list already read).
	removals *consumerapi.IDList
	// release gives back the page's share of its place among the sync's
	// pages in flight (pageBudget) once it has been committed or dropped.
	release func()
	// last marks the final page of its query; final, the reader's last
	// page (the last of the last pass it took).
	last  bool
	final bool
	err   error
}

// prefetchPages reads the pages of the passes it takes from q, one pass
// after the other, on its own goroutine, one page ahead of the caller:
// while the caller commits page N, page N+1 is fetched, decoded and
// mapped, also when it is the first page of the next query (a first
// sync's backfill windows follow each other without waiting for a
// commit). The bank still has one request of the account in flight at a
// time. The channel is unbuffered, so at most two pages of the account
// are held at once (the one committing and the one read ahead). Each page
// holds a place among the sync's pages in flight (t.pages, see
// pageBudget), which the caller gives back (the page's release) once it
// has committed or dropped it, or shares its place with the page read
// after it (readAhead). The goroutine stops after the last page of the
// last pass it takes (none is left, or the queue is closed), after an
// error (sent as the final item), or when ctx ends; the caller cancels
// ctx when it stops reading.
//
// Each page's inactivated list is cut into chunks as the body streams in,
// and only the ids of chunks t.lists does not know yet are kept; those
// chunks are marked known before the page is sent (a page that fails to
// commit ends the sync of the account). A second reader of the account
// (backfillHelpers) shares t.lists: a chunk both read as new is recorded
// and tombstoned by both pages, the second time tombstoning nothing (see
// inactivatedLists for why the tombstones stand whichever page commits
// first).
func (s *Syncer) prefetchPages(ctx context.Context, session *consumerapi.Session, t accountTarget,
	passes *passQueue) <-chan fetchedPage {
	out := make(chan fetchedPage)
	go func() {
		defer close(out)
		// carried is the place of the page sent last, when that page and
		// the one before it are light (readAhead): the next page is read
		// in it instead of waiting for one.
		var carried *pagePlace
		ahead := newReadAhead()
		defer func() {
			if carried != nil {
				carried.release()
			}
		}()
		send := func(p fetchedPage) bool {
			select {
			case out <- p:
				return true
			case <-ctx.Done():
				p.release()
				return false
			}
		}
		for {
			pass, left, ok := passes.take()
			if !ok {
				return
			}
			q := passes.passes[pass].q
			// Another reader may take the passes left; this reader then
			// closes its channel after its last page.
			final := left == 0
			for offset, step := 0, 0; ; offset += step {
				place := carried
				carried = nil
				if place == nil {
					var err error
					if place, err = t.pages.take(ctx); err != nil {
						return // ctx ended: the caller sees it
					}
				}
				release := sync.OnceFunc(place.release)
				q.Offset, q.Limit = offset, s.cfg.PageSize
				page, rejected, err := s.fetchPage(ctx, session, t.stored.ProviderID, q, t.lists.chunks)
				if err != nil {
					send(fetchedPage{pass: pass, offset: offset, err: err, release: release})
					return
				}
				p := s.mapPage(t, page, rejected)
				p.pass, p.offset, p.release = pass, offset, release
				// A bank may cap the page size below what was asked: pages
				// are then stepped by the limit it used, or rows would be
				// skipped.
				limit := s.cfg.PageSize
				if page.Limit > 0 && page.Limit < limit {
					limit = page.Limit
				}
				step = max(limit-s.cfg.PageOverlap, limit/2, 1)
				records := len(page.Transactions) + len(rejected)
				p.last = records < limit
				p.final = p.last && final
				// The inactivated ids the page holds for its commit weigh
				// as records do: a first page can list tens of thousands.
				if ahead.shares(lightPage(records+p.removals.Len(), s.cfg.PageSize), p.final) {
					carried = place.share()
				}
				if !send(p) {
					return
				}
				if p.last {
					break
				}
			}
		}
	}()
	return out
}

// mapPage maps a page read for t for the store: its transactions, the
// records set aside, and the inactivated ids of the list's chunks no
// earlier page read (marked known in t.lists).
func (s *Syncer) mapPage(t accountTarget, page *consumerapi.TransactionPage, rejected []consumerapi.RejectedTransaction) fetchedPage {
	// The page's records: those decoded and those the bank sent
	// unreadable (set aside, never lost).
	p := fetchedPage{empty: len(page.Transactions) == 0, rejected: rejected}
	if !p.empty {
		p.fp = fingerprint(page)
	}
	accountType := t.accountType()
	if page.Account != nil && page.Account.AccountType != "" {
		accountType = string(page.Account.AccountType)
	}
	p.inputs = make([]store.TransactionInput, 0, len(page.Transactions))
	for _, tx := range page.Transactions {
		in, err := transactionInput(tx, accountType)
		if err != nil {
			// One bad record never blocks the account: set aside.
			p.rejected = append(p.rejected, unmappable(tx, err))
			continue
		}
		p.inputs = append(p.inputs, in)
	}
	// Only the ids of chunks no earlier page read are kept; the next
	// page's copy of the list finds those chunks known.
	p.removals = page.InactivatedNew
	t.lists.chunks.Add(page.InactivatedChunks)
	return p
}

// lightPage reports whether a page of records records (its transactions,
// the records set aside and the inactivated ids it holds for its commit),
// asked for pageSize, is light: at most a quarter of a full page.
func lightPage(records, pageSize int) bool {
	return records*4 <= pageSize
}

// readAhead follows the pages one account's reader sends, in order, and
// tells which of them share their place among the sync's pages in flight
// with the page read after it: a light page (lightPage) that follows a
// light page (the first page has none before it), unless it is the
// reader's final page. An account then reads ahead of its commit without
// a place of its own, and a place holds at most one page that is not
// light. An account in a sparse stretch of its history (a household
// account's month is often a few dozen transactions, and most backfill
// windows of a short history are empty) reads its next window while one
// commits; a dense account, whose windows end in a partial page before a
// full one, keeps one page per place.
type readAhead struct{ lightBefore bool }

func newReadAhead() readAhead { return readAhead{lightBefore: true} }

// shares records the next page sent (light: lightPage of it; final: the
// last page of the reader's last query) and reports whether it shares its
// place with the page read after it.
func (r *readAhead) shares(light, final bool) bool {
	share := light && r.lightBefore && !final
	r.lightBefore = light
	return share
}

// pageBudget bounds the transactions pages one sync holds in flight
// (fetched, decoded or committing) across its accounts read side by side.
// Each account's page loop reads one page ahead of its commits; without a
// bound a sync of n accounts holds up to 2n pages at once, their encoded
// statements included, and how often those moments come grows with the
// length of the sync. With a budget, an account takes one place when it
// starts (its own page, so no account waits for another's read-ahead to
// begin), and a page read ahead of a commit needs a place of the budget
// no account holds: with as many places as accounts read at once, a sync
// of several accounts reads none ahead until an account is done, and a
// sync of one account keeps its read-ahead; a light page may share its
// place with the next (readAhead). Every place is given back once its
// pages are committed or dropped, so no page waits on another that itself
// waits.
type pageBudget struct{ places chan struct{} }

// newPageBudget returns a budget of n places (n < 1: 1).
func newPageBudget(n int) *pageBudget {
	return &pageBudget{places: make(chan struct{}, max(n, 1))}
}

// accountPages are the page places of one account's sync.
type accountPages struct {
	budget *pageBudget
	// own holds the account's own page, whose place in the budget the
	// account took when it started.
	own chan struct{}
}

// account takes the budget place of an account that starts; done gives
// it back.
func (b *pageBudget) account(ctx context.Context) (*accountPages, error) {
	return b.accountUntil(ctx, nil)
}

// errNoMoreReaders: an account's backfill took no more readers before a
// page place was free for one.
var errNoMoreReaders = errors.New("the account takes no more readers")

// accountUntil is account for a second reader of an account's backfill
// (backfillHelpers): it stops waiting when stop is closed.
func (b *pageBudget) accountUntil(ctx context.Context, stop <-chan struct{}) (*accountPages, error) {
	select {
	case b.places <- struct{}{}:
		return &accountPages{budget: b, own: make(chan struct{}, 1)}, nil
	case <-stop:
		return nil, errNoMoreReaders
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// done gives back the account's place; its pages must all be released.
func (a *accountPages) done() { <-a.budget.places }

// pagePlace is a place among a sync's pages in flight, held by the pages
// that share it (a light page and the page read after it): it is given
// back when the last of them releases it.
type pagePlace struct {
	holders atomic.Int32
	free    func()
}

func newPagePlace(free func()) *pagePlace {
	p := &pagePlace{free: free}
	p.holders.Store(1)
	return p
}

// share adds a holder; the caller must hold the place (it is not yet given
// back).
func (p *pagePlace) share() *pagePlace {
	p.holders.Add(1)
	return p
}

// release drops one holder's share, and gives the place back with the
// last one. Each holder releases once.
func (p *pagePlace) release() {
	if p.holders.Add(-1) == 0 {
		p.free()
	}
}

// take waits for a place for one page: the account's own, else one of
// the budget. A nil accountPages bounds nothing beyond the account's own
// pipeline.
func (a *accountPages) take(ctx context.Context) (*pagePlace, error) {
	if a == nil {
		return newPagePlace(func() {}), ctx.Err()
	}
	select {
	case a.own <- struct{}{}:
		return newPagePlace(func() { <-a.own }), nil
	default:
	}
	select {
	case a.own <- struct{}{}:
		return newPagePlace(func() { <-a.own }), nil
	case a.budget.places <- struct{}{}:
		return newPagePlace(func() { <-a.budget.places }), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
