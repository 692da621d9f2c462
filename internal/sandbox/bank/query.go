package bank

import (
	"errors"
	"sort"
	"time"
)

// MaxLimit is the largest page size the API accepts.
const MaxLimit = 500

// DefaultLimit is the page size used when pagination is asked for without a
// positive limit.
const DefaultLimit = MaxLimit

// Errors returned (wrapped) by [Bank.Transactions].
var (
	// ErrUnknownAccount reports an unknown user or account, an account that
	// is not the user's, or one that does not exist yet at the instant asked
	// for (serve it as 404).
	ErrUnknownAccount = errors.New("unknown account")
	// ErrInvalidQuery reports invalid query parameters (serve it as 400); the
	// wrapping error says which.
	ErrInvalidQuery = errors.New("invalid transactions query")
)

// Query selects transactions of one account. All bounds are inclusive.
type Query struct {
	// Since and Until bound datePosted.
	Since, Until *time.Time
	// UpdatedSince selects transactions whose lastUpdated is at or after it;
	// it cannot be combined with Since.
	UpdatedSince *time.Time
	// Offset (0-based) and Limit (1..500) page through the matches.
	Offset, Limit int
	// Paginate is true when the request gave offset or limit.
	Paginate bool
}

// Page is one response of the transactions endpoint.
type Page struct {
	// Transactions are ordered by datePosted, then sequence.
	Transactions []Transaction
	// InactivatedTransactionIDs are the account's ids inactivated at or before
	// now (and at or after UpdatedSince when set), sorted; the same on every
	// page of a query.
	InactivatedTransactionIDs []string
	// Offset and Limit echo the page served; without pagination Offset is 0
	// and Limit the number of transactions returned.
	Offset, Limit int
	// AccountType and AccountSubType describe the account.
	AccountType, AccountSubType string
}

// validate checks q and returns the effective pagination.
func (q Query) validate() (paginate bool, offset, limit int, err error) {
	paginate = q.Paginate || q.Offset != 0 || q.Limit != 0
	switch {
	case q.Since != nil && q.UpdatedSince != nil:
		return false, 0, 0, errorf(ErrInvalidQuery, "since cannot be combined with updatedSince")
	case q.Offset < 0:
		return false, 0, 0, errorf(ErrInvalidQuery, "offset must not be negative, got %d", q.Offset)
	case q.Limit < 0:
		return false, 0, 0, errorf(ErrInvalidQuery, "limit must not be negative, got %d", q.Limit)
	case q.Limit > MaxLimit:
		return false, 0, 0, errorf(ErrInvalidQuery, "limit must be at most %d, got %d", MaxLimit, q.Limit)
	case q.Since != nil && q.Until != nil && q.Since.After(*q.Until):
		return false, 0, 0, errorf(ErrInvalidQuery, "since %s is after until %s",
			q.Since.UTC().Format(time.RFC3339Nano), q.Until.UTC().Format(time.RFC3339Nano))
	}
	limit = q.Limit
	if paginate && limit == 0 {
		limit = DefaultLimit
	}
	return paginate, q.Offset, limit, nil
}

// Transactions returns the account's transactions at now selected by q,
// ordered by datePosted then sequence. Without pagination every match is
// returned; with it, Limit 0 means [DefaultLimit]. It fails with
// [ErrUnknownAccount] or [ErrInvalidQuery] (wrapped).
//
// Closed accounts keep serving their history; accounts that open after now
// are unknown. now is truncated to milliseconds. The account's state at now
// is built once and cached (a few states per account), so paging through a
// large account costs O(log n + page) per call.
//
// InactivatedTransactionIDs lists the account's pending ids that were
// dropped or replaced at or before now, or, with UpdatedSince, at or after
// UpdatedSince; it is sorted and repeated on every page.
func (b *Bank) Transactions(userID, accountID string, now time.Time, q Query) (Page, error) {
	paginate, offset, limit, err := q.validate()
	if err != nil {
		return Page{}, err
	}
	u, ok := b.lookup(userID)
	if !ok {
		return Page{}, errorf(ErrUnknownAccount, "user %q", userID)
	}
	ms := floorMillis(now)
	a := u.account(accountID)
	if a == nil || !a.visibleAt(ms) {
		return Page{}, errorf(ErrUnknownAccount, "account %q of user %q", accountID, userID)
	}
	v := b.viewAt(u, a, ms)

	// Since/Until select a contiguous range of the view by datePosted.
	lo, hi := 0, len(v.entries)
	if q.Since != nil {
		since := ceilMillis(*q.Since)
		lo = sort.Search(len(v.entries), func(i int) bool { return v.entries[i].posted >= since })
	}
	if q.Until != nil {
		until := floorMillis(*q.Until)
		hi = sort.Search(len(v.entries), func(i int) bool { return v.entries[i].posted > until })
	}
	hi = max(hi, lo)

	page := Page{AccountType: a.kind.accountType(), AccountSubType: a.kind.subType()}
	if q.UpdatedSince == nil {
		start, end := lo, hi
		if paginate {
			start = min(lo+offset, hi)
			end = min(start+limit, hi)
		}
		page.Transactions = make([]Transaction, end-start)
		for i, e := range v.entries[start:end] {
			b.fillTxn(&page.Transactions[i], u, a, e, ms)
		}
		page.InactivatedTransactionIDs = append([]string{}, v.removedIDs...)
	} else {
		upd := ceilMillis(*q.UpdatedSince)
		skip, take := offset, limit
		page.Transactions = []Transaction{}
		for _, e := range v.entries[lo:hi] {
			if e.updated < upd {
				continue
			}
			if paginate {
				if skip > 0 {
					skip--
					continue
				}
				if take == 0 {
					break
				}
				take--
			}
			page.Transactions = append(page.Transactions, b.serveTxn(u, a, e, ms))
		}
		page.InactivatedTransactionIDs = []string{}
		for i, at := range v.removedAt {
			if at >= upd {
				page.InactivatedTransactionIDs = append(page.InactivatedTransactionIDs, v.removedIDs[i])
			}
		}
	}
	page.Offset, page.Limit = offset, limit
	if !paginate {
		page.Offset, page.Limit = 0, len(page.Transactions)
	}
	return page, nil
}
