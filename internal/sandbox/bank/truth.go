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

// DayBalance is an account's ledger balance at the end of one UTC day.
type DayBalance struct {
	Day     time.Time // midnight UTC
	Balance Money     // the bank's convention (liabilities: positive = owed)
}

// DailyBalances returns the ledger balance of one of the user's accounts at
// the end of every UTC day from the day it opened to the day of now, or to
// the day it closed: its posted transactions only, as [Account.Balance]
// counts them (the last day's balance is the balance at now). ok is false
// for an unknown user or an account not visible at now.
func (b *Bank) DailyBalances(userID, accountID string, now time.Time) ([]DayBalance, bool) {
	u, ok := b.lookup(userID)
	if !ok {
		return nil, false
	}
	ms := floorMillis(now)
	a := u.account(accountID)
	if a == nil || !a.visibleAt(ms) {
		return nil, false
	}
	last := ms
	if a.closed != 0 && a.closed <= ms {
		last = a.closed
	}
	v := b.viewAt(u, a, ms)
	var out []DayBalance
	bal, i := a.opening, 0
	for d := dayOf(a.opened); d <= dayOf(last); d++ {
		for ; i < len(v.entries) && v.entries[i].posted < (d+1)*msDay; i++ {
			if e := v.entries[i]; e.isPosted() {
				bal = e.running
			}
		}
		out = append(out, DayBalance{Day: time.UnixMilli(d * msDay).UTC(), Balance: bal})
	}
	return out, true
}
