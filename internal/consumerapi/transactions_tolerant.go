package consumerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// RejectedTransaction is one record of a transactions page that could not
// be decoded as a transaction: it is reported, not silently dropped.
type RejectedTransaction struct {
	// Index is the record's position in the page.
	Index int
	// ID is the record's id when one could be read, else empty.
	ID string
	// Raw is the record exactly as received.
	Raw json.RawMessage
	// Reason says what is wrong with it.
	Reason string
}

// TransactionsTolerant fetches one page like [Session.Transactions], except
// that a record that is not a valid transaction (not an object, no id, a
// value of the wrong type) does not fail the page: it is returned among the
// rejected records, with its raw JSON, and every other record is returned
// decoded. A body whose envelope cannot be decoded still fails with
// [ErrMalformedBody].
func (s *Session) TransactionsTolerant(ctx context.Context, accountID string, q TransactionQuery) (*TransactionPage, []RejectedTransaction, error) {
	return s.TransactionsTolerantAfter(ctx, accountID, q, nil)
}

// TransactionsTolerantAfter is [Session.TransactionsTolerant] for the page
// after prev, reusing prev's inactivated list as
// [Session.TransactionsAfter] does.
func (s *Session) TransactionsTolerantAfter(ctx context.Context, accountID string, q TransactionQuery, prev *TransactionPage) (*TransactionPage, []RejectedTransaction, error) {
	page, rejected, err := s.transactionsTolerant(ctx, accountID, q, func() *listDiverter { return newListDiverter(prev) })
	if err != nil {
		return nil, nil, fmt.Errorf("get transactions for account %s: %w", accountID, err)
	}
	return page, rejected, nil
}

// TransactionsTolerantNewChunks is [Session.TransactionsTolerant] for a
// reader that remembers the chunks of inactivated lists it has taken in
// (see [ListChunks]): the page's InactivatedNew holds only the ids of the
// list's chunks that chunks does not know, in list order (duplicates
// kept), and InactivatedChunks names those chunks;
// InactivatedTransactionIDs is nil and InactivatedDigest zero. A list of
// any length whose chunks are all known costs neither its JSON nor its
// ids. chunks is only read.
func (s *Session) TransactionsTolerantNewChunks(ctx context.Context, accountID string, q TransactionQuery, chunks *ListChunks) (*TransactionPage, []RejectedTransaction, error) {
	page, rejected, err := s.transactionsTolerant(ctx, accountID, q, func() *listDiverter { return newListDiverterNewChunks(chunks) })
	if err != nil {
		return nil, nil, fmt.Errorf("get transactions for account %s: %w", accountID, err)
	}
	return page, rejected, nil
}

func (s *Session) transactionsTolerant(ctx context.Context, accountID string, q TransactionQuery, newList func() *listDiverter) (*TransactionPage, []RejectedTransaction, error) {
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	id, err := escapeID("account", accountID)
	if err != nil {
		return nil, nil, err
	}
	path, err := s.userPath("accounts", id, "transactions")
	if err != nil {
		return nil, nil, err
	}
	var (
		page     *TransactionPage
		rejected []RejectedTransaction
	)
	// As in Transactions, the inactivated list is read as the body
	// streams in and never buffered.
	var list *listDiverter
	err = s.do(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/users/{userId}/accounts/{accountId}/transactions",
		url:    s.c.apiURL(path, q.values()),
		filter: func() bodyFilter {
			list = newList()
			return list
		},
		decode: func(b []byte) error {
			p, rej, err := decodeTransactionPageTolerant(b)
			if err != nil {
				return err
			}
			if err := list.apply(p.TransactionPage); err != nil {
				return err
			}
			if n := len(p.Transactions) + len(rej); q.Limit > 0 && n > q.Limit {
				return fmt.Errorf("%w: %d transactions on a page limited to %d", ErrMalformedBody, n, q.Limit)
			}
			if !p.reportedOffset {
				p.Offset = q.Offset
			}
			if !p.reportedLimit {
				p.Limit = q.Limit
			}
			page, rejected = p.TransactionPage, rej
			return nil
		},
	})
	return page, rejected, err
}

// decodeTransactionPageTolerant first decodes the page strictly, in one
// pass (decodeTransactionPage): a page that pass accepts has no record to
// reject. A page it refuses is decoded envelope first, then each record on
// its own.
func decodeTransactionPageTolerant(body []byte) (decodedPage, []RejectedTransaction, error) {
	if err := requireObject(body); err != nil {
		return decodedPage{}, nil, err
	}
	if p, err := decodeTransactionPage(body); err == nil {
		return p, nil, nil
	}
	var wire transactionsWire[json.RawMessage, json.RawMessage]
	if err := json.Unmarshal(body, &wire); err != nil {
		return decodedPage{}, nil, fmt.Errorf("%w: %w", ErrMalformedBody, err)
	}
	page := &TransactionPage{
		Transactions: make([]Transaction, 0, len(wire.Transactions)),
		Account:      wire.Account,
	}
	if err := decodeInactivated(page, wire.Inactivated); err != nil {
		return decodedPage{}, nil, err
	}
	var rejected []RejectedTransaction
	for i, raw := range wire.Transactions {
		raw = append(json.RawMessage(nil), raw...)
		reject := func(reason string) {
			var idOnly struct {
				ID any `json:"id"`
			}
			r := RejectedTransaction{Index: i, Raw: raw, Reason: reason}
			if json.Unmarshal(raw, &idOnly) == nil {
				if s, ok := idOnly.ID.(string); ok {
					r.ID = s
				}
			}
			rejected = append(rejected, r)
		}
		if err := requireObject(raw); err != nil {
			reject(err.Error())
			continue
		}
		var t Transaction
		if err := decodeTransaction(raw, &t); err != nil {
			reject(err.Error())
			continue
		}
		if t.ID == "" {
			reject("no id")
			continue
		}
		page.Transactions = append(page.Transactions, t)
	}
	return finishPage(page, wire.Offset, wire.Limit), rejected, nil
}
