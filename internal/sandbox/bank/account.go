package bank

import (
	"sort"
	"time"
)

// Account types and subtypes served in accountType / accountSubType.
const (
	TypeDeposit      = "Deposit"
	TypeLineOfCredit = "Line of Credit"
	TypeDebt         = "Debt"

	SubTypeChecking   = "Checking"
	SubTypeSavings    = "Savings"
	SubTypeCreditCard = "Credit Card"
	SubTypeAutoLoan   = "Auto Loan"
	SubTypeMortgage   = "Mortgage"

	StatusActive = "Active"
)

// Account is an account as served by the Consumer API (§3.1). Optional fields
// are omitted when absent.
type Account struct {
	ID                           string      `json:"id"`
	Name                         string      `json:"name"`
	Numbers                      string      `json:"numbers"`
	AccountType                  string      `json:"accountType"`
	AccountSubType               string      `json:"accountSubType"`
	AccountStatus                string      `json:"accountStatus"`
	Balance                      Money       `json:"balance"`
	AvailableBalance             *Money      `json:"availableBalance,omitempty"`
	CreditLimit                  *Money      `json:"creditLimit,omitempty"`
	AvailableCredit              *Money      `json:"availableCredit,omitempty"`
	PaymentDueAmount             *Money      `json:"paymentDueAmount,omitempty"`
	PaymentDueDate               Date        `json:"paymentDueDate,omitzero"`
	InterestRate                 *Money      `json:"interestRate,omitempty"`
	FetchedDate                  Instant     `json:"fetchedDate"`
	Institution                  Institution `json:"institution"`
	RoutingNumber                string      `json:"routingNumber"`
	Hidden                       bool        `json:"hidden"`
	ContributesToAggregateTotals bool        `json:"contributesToAggregateTotals"`
}

// Institution identifies the financial institution of an account.
type Institution struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// acctKind is what an account is.
type acctKind uint8

const (
	akChecking acctKind = iota
	akSavings
	akCard
	akAutoLoan
	akMortgage
)

func (k acctKind) accountType() string {
	switch k {
	case akChecking, akSavings:
		return TypeDeposit
	case akCard:
		return TypeLineOfCredit
	}
	return TypeDebt
}

func (k acctKind) subType() string {
	return [...]string{SubTypeChecking, SubTypeSavings, SubTypeCreditCard, SubTypeAutoLoan, SubTypeMortgage}[k]
}

// memoName is how a core names the account kind in memos.
func (k acctKind) memoName() string {
	return [...]string{"CHECKING", "SAVINGS", "CREDIT CARD", "AUTO LOAN", "MORTGAGE"}[k]
}

// inverted reports whether amounts and balances count what is owed.
func (k acctKind) inverted() bool { return k >= akCard }

// due is a scheduled payment on a card or loan.
type due struct {
	at     int64
	amount Money
}

// account is one account of a user with its whole timeline.
type account struct {
	idx         int
	kind        acctKind
	id          string
	name        string
	last4       int
	opened      int64 // Unix ms; the account is visible from then
	closed      int64 // Unix ms; 0 if never closed
	opening     Money // balance when opened
	creditLimit Money
	rateBP      int64 // interest rate in basis points (APR or APY)
	records     []record
	order       []int32
	dues        []due
	cache       viewCache
}

// masked returns the masked account number, e.g. "*1234".
func (a *account) masked() string { return "*" + pad4(a.last4) }

// visibleAt reports whether the account exists for the user at now (open or
// already closed).
func (a *account) visibleAt(now int64) bool { return a.opened <= now }

// activeAt reports whether the account is open at now.
func (a *account) activeAt(now int64) bool {
	return a.opened <= now && (a.closed == 0 || now < a.closed)
}

// serveAccount builds the served form of a at now from its view.
func (b *Bank) serveAccount(a *account, v *view, now int64) Account {
	acc := Account{
		ID:                           a.id,
		Name:                         a.name,
		Numbers:                      a.masked(),
		AccountType:                  a.kind.accountType(),
		AccountSubType:               a.kind.subType(),
		AccountStatus:                StatusActive,
		Balance:                      v.balance,
		FetchedDate:                  instantFromMillis(now),
		Institution:                  b.institution,
		RoutingNumber:                b.routing,
		ContributesToAggregateTotals: true,
	}
	rate := Money(a.rateBP * 100)
	switch a.kind {
	case akChecking:
		acc.AvailableBalance = moneyPtr(v.balance + min(v.holds, 0))
	case akSavings:
		acc.AvailableBalance = moneyPtr(v.balance + min(v.holds, 0))
		acc.InterestRate = moneyPtr(rate)
	case akCard:
		avail := a.creditLimit - v.balance - max(v.holds, 0)
		acc.AvailableBalance = moneyPtr(avail)
		acc.AvailableCredit = moneyPtr(avail)
		acc.CreditLimit = moneyPtr(a.creditLimit)
		acc.InterestRate = moneyPtr(rate)
	default:
		acc.InterestRate = moneyPtr(rate)
	}
	if a.kind.inverted() {
		i := sort.Search(len(a.dues), func(i int) bool { return a.dues[i].at > now })
		if i < len(a.dues) {
			acc.PaymentDueAmount = moneyPtr(a.dues[i].amount)
			t := time.UnixMilli(a.dues[i].at).UTC()
			acc.PaymentDueDate = Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
		} else {
			acc.PaymentDueAmount = moneyPtr(0)
		}
	}
	return acc
}

// Accounts returns the user's active accounts at now, in a stable order, and
// the ids of the user's accounts closed at or before now (sorted). ok is false
// for an unknown user.
func (b *Bank) Accounts(userID string, now time.Time) (accounts []Account, inactivatedIDs []string, ok bool) {
	u, ok := b.lookup(userID)
	if !ok {
		return nil, nil, false
	}
	ms := floorMillis(now)
	accounts = []Account{}
	inactivatedIDs = []string{}
	for _, a := range u.accounts {
		switch {
		case a.activeAt(ms):
			accounts = append(accounts, b.serveAccount(a, b.viewAt(u, a, ms), ms))
		case a.visibleAt(ms):
			inactivatedIDs = append(inactivatedIDs, a.id)
		}
	}
	sort.Strings(inactivatedIDs)
	return accounts, inactivatedIDs, true
}

// Account returns one of the user's accounts at now; only active accounts are
// found.
func (b *Bank) Account(userID, accountID string, now time.Time) (Account, bool) {
	u, ok := b.lookup(userID)
	if !ok {
		return Account{}, false
	}
	ms := floorMillis(now)
	a := u.account(accountID)
	if a == nil || !a.activeAt(ms) {
		return Account{}, false
	}
	return b.serveAccount(a, b.viewAt(u, a, ms), ms), true
}
