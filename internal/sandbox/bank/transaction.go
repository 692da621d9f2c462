package bank

import (
	"strconv"
)

// Pending statuses served in pendingStatus.
const (
	StatusInstitutionPending = "InstitutionPending"
	StatusReconciled         = "Reconciled"
	StatusNoReconciliation   = "NoReconciliation"
)

// Transaction is a transaction as served by the Consumer API (§3.2). Optional
// fields are omitted when absent.
type Transaction struct {
	ID             string       `json:"id"`
	AccountID      string       `json:"accountId"`
	Amount         Money        `json:"amount"`
	Currency       string       `json:"currency"`
	DatePosted     Instant      `json:"datePosted"`
	Date           Instant      `json:"date"`
	PendingStatus  string       `json:"pendingStatus"`
	Type           string       `json:"type"`
	Subtype        string       `json:"subtype"`
	Memo           string       `json:"memo"`
	FilteredMemo   string       `json:"filteredMemo,omitempty"`
	DisplayName    string       `json:"displayName,omitempty"`
	DisplayCity    string       `json:"displayCity,omitempty"`
	DisplayState   string       `json:"displayState,omitempty"`
	CheckNumber    string       `json:"checkNumber,omitempty"`
	RunningBalance *Money       `json:"runningBalance,omitempty"`
	Sequence       int          `json:"sequence"`
	LastUpdated    Instant      `json:"lastUpdated"`
	Tags           []string     `json:"tags,omitempty"`
	Notes          string       `json:"notes,omitempty"`
	Merchant       *Merchant    `json:"merchant,omitempty"`
	Enrichments    *Enrichments `json:"enrichments,omitempty"`
}

// Merchant describes where a card transaction happened.
type Merchant struct {
	Name     string    `json:"name"`
	URL      string    `json:"url,omitempty"`
	Phone    string    `json:"phone,omitempty"`
	Category string    `json:"category,omitempty"`
	Location *Location `json:"location,omitempty"`
}

// Location is a merchant's address and coordinates.
type Location struct {
	City  string  `json:"city"`
	State string  `json:"state"`
	Zip   string  `json:"zip"`
	Lat   float64 `json:"lat"`
	Long  float64 `json:"long"`
}

// Enrichments are the institution's enrichment data for a transaction.
type Enrichments struct {
	CleanMemo             string `json:"cleanMemo,omitempty"`
	ExpenseCategory       string `json:"expenseCategory,omitempty"`
	CustomExpenseCategory string `json:"customExpenseCategory,omitempty"`
	MerchantID            string `json:"merchantId,omitempty"`
	Logo                  string `json:"logo,omitempty"`
}

// Transaction types and subtypes served in type / subtype.
const (
	TxPOS      = "POS"
	TxCheck    = "CHECK"
	TxECheck   = "ECHECK"
	TxFee      = "FEE"
	TxInterest = "INTEREST"
	TxTransfer = "TRANSFER"
	TxOnline   = "ONLINE"
	TxATM      = "ATM"

	SubPinDebit  = "PinDebit"
	SubEFT       = "EFT"
	SubUndefined = "Undefined"
)

// CurrencyUSD is the currency of every sandbox account.
const CurrencyUSD = "USD"

// txnUUID derives the id of record i of account a; replacement selects the id
// of the posted transaction that replaces a pending one.
func (b *Bank) txnUUID(u *user, a *account, i int, replacement bool) uuid {
	salt := saltTransaction
	if replacement {
		salt = saltReplacement
	}
	return uuidFrom(uint64(b.cfg.Seed), salt, uint64(u.n), uint64(a.idx), uint64(i))
}

// serveTxn materialises one entry of a view.
func (b *Bank) serveTxn(u *user, a *account, e entry, now int64) Transaction {
	var t Transaction
	b.fillTxn(&t, u, a, e, now)
	return t
}

// fillTxn materialises one entry of a view into t, which must be zero.
func (b *Bank) fillTxn(t *Transaction, u *user, a *account, e entry, now int64) {
	i := e.rec()
	r := &a.records[i]
	t.AccountID = a.id
	t.Currency = CurrencyUSD
	t.DatePosted = instantFromMillis(e.posted)
	t.Date = t.DatePosted
	t.LastUpdated = instantFromMillis(e.updated)
	if !e.isPosted() {
		t.ID = formatUUID(b.txnUUID(u, a, i, false))
		t.PendingStatus = StatusInstitutionPending
		t.Amount = r.pending
		t.Sequence = int(r.pendSeq)
	} else {
		t.ID = formatUUID(b.txnUUID(u, a, i, r.outcome == outReplace))
		t.PendingStatus = StatusReconciled
		if r.outcome == outNone {
			t.PendingStatus = StatusNoReconciliation
		}
		t.Amount = r.amount
		t.Sequence = int(r.postSeq)
		t.RunningBalance = moneyPtr(e.running)
	}
	b.describe(t, u, a, r)
	if e.isPosted() && r.mod != modNone && r.modified <= now {
		b.applyMod(t, u, a, i, r)
	}
}

// storeNumber is the store number of a chain merchant in a metro.
func storeNumber(m int, metroIdx int) string {
	return strconv.Itoa(int(100 + hash5(0, saltMerchant, uint64(m), uint64(metroIdx), 1)%19900))
}

// merchantLocation locates merchant m for a user of metro mi.
func merchantLocation(m int, mi int) Location {
	mc := &merchants[m]
	if mc.flags&mfOnline != 0 {
		return Location{City: mc.loc.city, State: mc.loc.state, Zip: mc.loc.zip, Lat: float64(mc.loc.latE6) / 1e6, Long: float64(mc.loc.lonE6) / 1e6}
	}
	me := &metros[mi]
	h := hash5(0, saltMerchant, uint64(m), uint64(mi), 2)
	dLat := int64(h%80_001) - 40_000
	dLon := int64(h>>32%80_001) - 40_000
	return Location{City: me.city, State: me.state, Zip: me.zip, Lat: float64(me.latE6+dLat) / 1e6, Long: float64(me.lonE6+dLon) / 1e6}
}

// merchantText is what a merchant's transactions say in one metro; derived
// from the merchant table once and read-only.
type merchantText struct {
	loc        Location
	cardMemo   string // on a credit card
	posMemo    string // debit card, in store
	debitMemo  string // debit card, online or recurring
	billMemo   string // ACH utility payment
	filtered   string
	billFilter string
	phone      string
	merchantID string
	logo       string
}

var merchantTexts = buildMerchantTexts()

func buildMerchantTexts() *[len(metros)][len(merchants)]merchantText {
	var x [len(metros)][len(merchants)]merchantText
	for mi := range metros {
		for m := range merchants {
			mc := &merchants[m]
			loc := merchantLocation(m, mi)
			place := " " + upper(loc.City) + " " + loc.State
			desc := mc.desc
			if mc.flags&(mfOnline|mfRecurring|mfBiller) == 0 {
				desc += " #" + storeNumber(m, mi)
			}
			x[mi][m] = merchantText{
				loc:        loc,
				cardMemo:   desc + place,
				posMemo:    "POS PURCHASE " + desc + place,
				debitMemo:  "DEBIT CARD PURCHASE " + desc + place,
				billMemo:   "ACH DEBIT " + mc.desc + " UTILITY WEB PMT",
				filtered:   titleCase(desc),
				billFilter: titleCase(mc.desc) + " Utility Payment",
				phone:      merchantPhone(m),
				merchantID: formatUUID(uuidFrom(0, saltMerchant, uint64(m), 0, 0)),
				logo:       logoURL(mc.slug),
			}
		}
	}
	return &x
}

// describe fills the descriptive fields of t from the record's kind.
func (b *Bank) describe(t *Transaction, u *user, a *account, r *record) {
	var peer *account
	if r.peer >= 0 {
		peer = u.accounts[r.peer]
	}
	category := ""
	switch r.kind {
	case kPurchase, kRecurring, kBiller:
		mc := &merchants[r.merchant]
		mt := &merchantTexts[u.metro][r.merchant]
		t.FilteredMemo = mt.filtered
		switch {
		case r.kind == kBiller:
			t.Memo, t.FilteredMemo = mt.billMemo, mt.billFilter
			t.Type, t.Subtype = TxECheck, SubEFT
		case a.kind.inverted():
			t.Memo = mt.cardMemo
			t.Type, t.Subtype = TxPOS, SubUndefined
		case r.kind == kRecurring || mc.flags&mfOnline != 0:
			t.Memo = mt.debitMemo
			t.Type, t.Subtype = TxPOS, SubPinDebit
		default:
			t.Memo = mt.posMemo
			t.Type, t.Subtype = TxPOS, SubPinDebit
		}
		t.DisplayName = mc.name
		t.DisplayCity, t.DisplayState = mt.loc.City, mt.loc.State
		loc := mt.loc
		t.Merchant = &Merchant{Name: mc.name, URL: mc.url, Phone: mt.phone, Category: mc.category, Location: &loc}
		t.Enrichments = &Enrichments{CleanMemo: mc.name, ExpenseCategory: mc.category, MerchantID: mt.merchantID, Logo: mt.logo}
		return
	case kPaycheck:
		e := &employers[u.employer]
		t.Memo = "ACH DEPOSIT " + e.desc + " PAYROLL PPD ID: " + digits10(hash5(0, saltMerchant, uint64(u.employer), 7, 0))
		t.FilteredMemo = e.name + " Payroll"
		t.DisplayName = e.name
		t.Type, t.Subtype = TxTransfer, SubEFT
		category = catIncome
	case kRent:
		l := &landlords[u.landlord]
		t.Memo = "ACH DEBIT " + l.desc + " RENT WEB ID: " + digits10(hash5(0, saltMerchant, uint64(u.landlord), 8, 0))
		t.FilteredMemo = l.name + " Rent"
		t.DisplayName = l.name
		t.Type, t.Subtype = TxOnline, SubEFT
		category = catHome
	case kXferOut, kCloseoutOut:
		word := "ONLINE TRANSFER TO "
		if r.kind == kCloseoutOut {
			word = "CLOSEOUT TRANSFER TO "
		}
		t.Memo = word + peer.kind.memoName() + " " + peer.masked()
		t.FilteredMemo = "Transfer to " + peer.kind.subType() + " " + peer.masked()
		t.DisplayName = t.FilteredMemo
		t.Type, t.Subtype = TxTransfer, SubUndefined
		category = catTransfer
	case kXferIn, kCloseoutIn:
		word := "ONLINE TRANSFER FROM "
		if r.kind == kCloseoutIn {
			word = "CLOSEOUT TRANSFER FROM "
		}
		t.Memo = word + peer.kind.memoName() + " " + peer.masked()
		t.FilteredMemo = "Transfer from " + peer.kind.subType() + " " + peer.masked()
		t.DisplayName = t.FilteredMemo
		t.Type, t.Subtype = TxTransfer, SubUndefined
		category = catTransfer
	case kCardPayOut, kLoanPayOut:
		t.Memo = "ONLINE PMT TO " + peer.kind.memoName() + " " + peer.masked()
		if r.kind == kLoanPayOut {
			t.Memo = "LOAN PMT TO " + peer.kind.memoName() + " " + peer.masked()
		}
		t.FilteredMemo = "Payment to " + peer.kind.subType() + " " + peer.masked()
		t.DisplayName = t.FilteredMemo
		t.Type, t.Subtype = TxOnline, SubEFT
		category = catPayment
	case kCardPayIn:
		t.Memo = "PAYMENT - THANK YOU FROM " + peer.kind.memoName() + " " + peer.masked()
		t.FilteredMemo = "Payment from " + peer.kind.subType() + " " + peer.masked()
		t.DisplayName = "Payment - Thank You"
		t.Type, t.Subtype = TxTransfer, SubUndefined
		category = catPayment
	case kLoanPayIn:
		t.Memo = "PAYMENT RECEIVED FROM " + peer.kind.memoName() + " " + peer.masked()
		t.FilteredMemo = "Payment from " + peer.kind.subType() + " " + peer.masked()
		t.DisplayName = "Loan Payment"
		t.Type, t.Subtype = TxTransfer, SubUndefined
		category = catPayment
	case kATM:
		me := &metros[u.metro]
		t.Memo = "ATM WITHDRAWAL " + atmStreets[r.aux] + " " + upper(me.city) + " " + me.state
		t.FilteredMemo = "ATM Withdrawal " + titleCase(atmStreets[r.aux])
		t.DisplayName = "ATM Withdrawal"
		t.DisplayCity, t.DisplayState = me.city, me.state
		t.Type, t.Subtype = TxATM, SubPinDebit
		category = catPersonal
	case kCheck:
		n := strconv.Itoa(int(r.aux))
		t.Memo = "CHECK #" + n
		t.FilteredMemo = "Check #" + n
		t.DisplayName = t.FilteredMemo
		t.CheckNumber = n
		t.Type, t.Subtype = TxCheck, SubUndefined
		category = catPersonal
	case kFee:
		f := &feeTable[r.aux]
		t.Memo = f.memo
		t.FilteredMemo = f.name
		t.DisplayName = f.name
		t.Type, t.Subtype = TxFee, SubUndefined
		category = catFees
	case kInterestPaid:
		t.Memo = "INTEREST PAID"
		t.FilteredMemo = "Interest Paid"
		t.DisplayName = "Interest Paid"
		t.Type, t.Subtype = TxInterest, SubUndefined
		category = catIncome
	case kInterestCharged:
		t.Memo = "INTEREST CHARGED"
		if a.kind == akCard {
			t.Memo = "INTEREST CHARGE ON PURCHASES"
		}
		t.FilteredMemo = "Interest Charge"
		t.DisplayName = "Interest Charge"
		t.Type, t.Subtype = TxInterest, SubUndefined
		category = catFees
	}
	t.Enrichments = &Enrichments{CleanMemo: t.DisplayName, ExpenseCategory: category}
}

// Values used by later modifications.
var (
	altCategory = map[string]string{
		catGroceries:      catHome,
		catDiningOut:      catEntertainment,
		catTransportation: catTravel,
		catEntertainment:  catPersonal,
		catHealth:         catPersonal,
		catHome:           catPersonal,
		catClothing:       catPersonal,
		catTravel:         catEntertainment,
		catEducation:      catPersonal,
		catPersonal:       catHome,
		catUtilities:      catHome,
	}
	customCategories = [...]string{"Household", "Work Expenses", "Kids", "Gifts", "Side Business", "Pets"}
	userTags         = [...]string{"reimbursable", "tax-deductible", "vacation", "business", "shared"}
	userNotes        = [...]string{"Split with roommate", "Expense report submitted", "Birthday gift", "Refund expected", "Paid back by Sam"}
)

// applyMod applies the record's later modification to t.
func (b *Bank) applyMod(t *Transaction, u *user, a *account, i int, r *record) {
	h := hash5(uint64(b.cfg.Seed), saltTransaction^0xabcdef, uint64(u.n), uint64(a.idx), uint64(i))
	switch r.mod {
	case modRecat:
		if alt, ok := altCategory[t.Enrichments.ExpenseCategory]; ok {
			t.Enrichments.ExpenseCategory = alt
		}
	case modCustomCat:
		t.Enrichments.CustomExpenseCategory = customCategories[h%uint64(len(customCategories))]
	case modRename:
		name := t.DisplayName
		if t.DisplayCity != "" {
			name += " - " + t.DisplayCity
		}
		t.DisplayName = name
		t.Enrichments.CleanMemo = name
	case modTag:
		t.Tags = []string{userTags[h%uint64(len(userTags))]}
	case modNote:
		t.Notes = userNotes[h%uint64(len(userNotes))]
	}
}

// digits10 formats h as ten decimal digits.
func digits10(h uint64) string {
	s := strconv.FormatUint(1_000_000_000+h%9_000_000_000, 10)
	return s
}

// upper returns the ASCII upper case of s.
func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
