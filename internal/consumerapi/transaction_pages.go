package consumerapi

import (
	"context"
	"fmt"
	"iter"
	"slices"
)

// TransactionPages walks an account's transactions page by page with
// offset/limit, starting at q.Offset with q.Limit rows per page (default
// Institution.PageSize, 500). It stops after the first short page — so a
// total that is a multiple of the page size costs one extra, empty page —
// or at the first error, which is yielded once with a nil page.
//
// Every page yielded is complete and valid; inactivatedTransactionIds may
// appear on any page, the last (possibly empty) one included. When the
// response reports a smaller limit than requested (the institution capped
// it), that limit decides what a short page is.
//
// Offset pagination over changing data can repeat a transaction across
// pages; deduplicate by id.
func (s *Session) TransactionPages(ctx context.Context, accountID string, q TransactionQuery) iter.Seq2[*TransactionPage, error] {
	return func(yield func(*TransactionPage, error) bool) {
		if q.Limit == 0 {
			q.Limit = s.c.inst.PageSize
		}
		if err := q.Validate(); err != nil {
			yield(nil, fmt.Errorf("get transactions for account %s: %w", accountID, err))
			return
		}
		var prevIDs []string
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, fmt.Errorf("get transactions for account %s at offset %d: %w", accountID, q.Offset, err))
				return
			}
			page, err := s.transactions(ctx, accountID, q)
			if err != nil {
				yield(nil, fmt.Errorf("get transactions for account %s at offset %d: %w", accountID, q.Offset, err))
				return
			}
			n := len(page.Transactions)
			ids := make([]string, n)
			for i := range page.Transactions {
				ids[i] = page.Transactions[i].ID
			}
			if n > 0 && slices.Equal(ids, prevIDs) {
				yield(nil, fmt.Errorf("get transactions for account %s at offset %d: %w: the institution returned the previous page again (offset ignored?)",
					accountID, q.Offset, ErrMalformedBody))
				return
			}
			if !yield(page, nil) {
				return
			}
			pageSize := q.Limit
			if page.Limit > 0 && page.Limit < pageSize {
				pageSize = page.Limit
			}
			if n == 0 || n < pageSize {
				return
			}
			prevIDs = ids
			q.Offset += n
		}
	}
}

// AllTransactions collects every page of TransactionPages into one page
// (transactions deduplicated by id, the last occurrence winning;
// inactivated ids merged). It returns nothing but the error when any page
// fails.
func (s *Session) AllTransactions(ctx context.Context, accountID string, q TransactionQuery) (*TransactionPage, error) {
	all := &TransactionPage{Transactions: []Transaction{}}
	index := map[string]int{}
	seenInactive := map[string]bool{}
	for page, err := range s.TransactionPages(ctx, accountID, q) {
		if err != nil {
			return nil, err
		}
		if all.Account == nil {
			all.Account = page.Account
		}
		for _, t := range page.Transactions {
			if i, ok := index[t.ID]; ok {
				all.Transactions[i] = t
				continue
			}
			index[t.ID] = len(all.Transactions)
			all.Transactions = append(all.Transactions, t)
		}
		for _, id := range page.InactivatedTransactionIDs {
			if !seenInactive[id] {
				seenInactive[id] = true
				all.InactivatedTransactionIDs = append(all.InactivatedTransactionIDs, id)
			}
		}
	}
	return all, nil
}
