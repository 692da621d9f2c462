package jobs

import (
	"context"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/store"
)

// fetchedPage is one transactions page read, decoded and mapped ahead of
// its commit.
type fetchedPage struct {
	offset int
	// fp identifies the page by its transaction ids (zero when empty).
	fp    pageFingerprint
	empty bool
	// inputs are the page's transactions mapped for the store, in page
	// order, but those whose id an earlier page of this sync listed as
	// inactivated; rejected are the records set aside: unreadable as
	// sent, or not mappable.
	inputs   []store.TransactionInput
	rejected []consumerapi.RejectedTransaction
	// removals are the ids of the page's inactivatedTransactionIds list
	// that no earlier page of this sync listed: to tombstone with the
	// page (none when the page repeats a list already read).
	removals []string
	// last marks the final page.
	last bool
	err  error
}

// prefetchPages reads q's pages in order on its own goroutine, one page
// ahead of the caller: while the caller commits page N, page N+1 is
// fetched, decoded and mapped. The channel is unbuffered, so at most two
// pages are held at once (the one committing and the one read ahead). The
// goroutine stops after the last page, after an error (sent as the final
// item), or when ctx ends; the caller cancels ctx when it stops reading.
//
// t.removed is the reader's while it runs: each page's inactivated ids are
// looked up in it as the body streams in, the page's transactions listed
// there are left out, and the page's new ids are added to it before the
// page is sent (pages commit in order, and a page that fails to commit
// ends the sync of the account). The caller must not touch t.removed
// until the channel is closed.
func (s *Syncer) prefetchPages(ctx context.Context, session *consumerapi.Session, t accountTarget,
	q consumerapi.TransactionQuery) <-chan fetchedPage {
	out := make(chan fetchedPage)
	go func() {
		defer close(out)
		send := func(p fetchedPage) bool {
			select {
			case out <- p:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for offset, step := 0, 0; ; offset += step {
			q.Offset, q.Limit = offset, s.cfg.PageSize
			page, rejected, err := s.fetchPageExcept(ctx, session, t.stored.ProviderID, q, t.removed)
			if err != nil {
				send(fetchedPage{offset: offset, err: err})
				return
			}
			// The page's records: those decoded and those the bank sent
			// unreadable (set aside, never lost).
			records := len(page.Transactions) + len(rejected)
			p := fetchedPage{offset: offset, empty: len(page.Transactions) == 0, rejected: rejected}
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
				if t.removed.Contains(in.ProviderID) {
					// Inactivated earlier in this sync: the tombstone stands.
					continue
				}
				p.inputs = append(p.inputs, in)
			}
			// A bank may cap the page size below what was asked: pages are
			// then stepped by the limit it used, or rows would be skipped.
			limit := s.cfg.PageSize
			if page.Limit > 0 && page.Limit < limit {
				limit = page.Limit
			}
			step = max(limit-s.cfg.PageOverlap, limit/2, 1)
			p.last = records < limit
			// Only the ids no earlier page listed are kept; the next
			// page's copy of the list finds them all in t.removed.
			p.removals = page.InactivatedTransactionIDs
			t.removed.Add(p.removals)
			if !send(p) || p.last {
				return
			}
		}
	}()
	return out
}
