package bank

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Inactivation is one transaction id an account's feed inactivated: a
// pending authorisation that dropped or was replaced by a new posted id.
type Inactivation struct {
	// ID is the inactivated (pending) transaction id.
	ID string
	// At is when it was inactivated.
	At time.Time
	// Replaced is true when a posted transaction with a new id took its
	// place, false when the authorisation simply dropped.
	Replaced bool
}

// Inactivations returns the account's inactivations at or before now,
// sorted by id: the same ids as [Page.InactivatedTransactionIDs] of an
// unfiltered query, with when and why. It fails with [ErrUnknownAccount]
// (wrapped) like [Bank.Transactions].
func (b *Bank) Inactivations(userID, accountID string, now time.Time) ([]Inactivation, error) {
	u, ok := b.lookup(userID)
	if !ok {
		return nil, errorf(ErrUnknownAccount, "user %q", userID)
	}
	ms := floorMillis(now)
	a := u.account(accountID)
	if a == nil || !a.visibleAt(ms) {
		return nil, errorf(ErrUnknownAccount, "account %q of user %q", accountID, userID)
	}
	n := sort.Search(len(a.records), func(i int) bool { return a.records[i].appears > ms })
	var out []Inactivation
	for i := range n {
		r := &a.records[i]
		if at, ok := r.removedAt(); ok && at <= ms {
			out = append(out, Inactivation{
				ID:       formatUUID(b.txnUUID(u, a, i, false)),
				At:       time.UnixMilli(at).UTC(),
				Replaced: r.outcome == outReplace,
			})
		}
	}
	slices.SortFunc(out, func(x, y Inactivation) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}
