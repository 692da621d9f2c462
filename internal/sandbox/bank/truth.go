package bank

import "time"

// Truth is what a perfect sync of one user must have stored at an instant.
type Truth struct {
	UserID string `json:"userId"`
	// Accounts are the active accounts exactly as [Bank.Accounts] serves them.
	Accounts []Account `json:"accounts"`
	// InactivatedAccountIDs are the accounts closed at or before the instant.
	InactivatedAccountIDs []string `json:"inactivatedAccountIds"`
	// Transactions maps every visible account id (active or closed) to all
	// its live transactions, as served without filters.
	Transactions map[string][]Transaction `json:"transactions"`
	// RemovedTransactionIDs maps every visible account id (active or closed)
	// to the ids inactivated at or before the instant, sorted.
	RemovedTransactionIDs map[string][]string `json:"removedTransactionIds"`
}

// Truth returns the user's ground truth at now. ok is false for an unknown
// user.
func (b *Bank) Truth(userID string, now time.Time) (Truth, bool) {
	u, ok := b.lookup(userID)
	if !ok {
		return Truth{}, false
	}
	ms := floorMillis(now)
	accounts, inactive, _ := b.Accounts(userID, now)
	t := Truth{
		UserID:                u.id,
		Accounts:              accounts,
		InactivatedAccountIDs: inactive,
		Transactions:          map[string][]Transaction{},
		RemovedTransactionIDs: map[string][]string{},
	}
	for _, a := range u.accounts {
		if !a.visibleAt(ms) {
			continue
		}
		v := b.viewAt(u, a, ms)
		txns := make([]Transaction, len(v.entries))
		for i, e := range v.entries {
			b.fillTxn(&txns[i], u, a, e, ms)
		}
		t.Transactions[a.id] = txns
		t.RemovedTransactionIDs[a.id] = append([]string{}, v.removedIDs...)
	}
	return t, true
}
