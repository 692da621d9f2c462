package consumerapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PendingStatus is Banno's pendingStatus. Unknown values are kept as sent.
type PendingStatus string

// Pending statuses documented by Banno.
const (
	// PendingInstitution: pending at the institution.
	PendingInstitution PendingStatus = "InstitutionPending"
	// PendingReconciled: was pending, now posted.
	PendingReconciled PendingStatus = "Reconciled"
	// PendingNoReconciliation: never pending.
	PendingNoReconciliation PendingStatus = "NoReconciliation"
	// PendingBanno: legacy, should not appear.
	PendingBanno PendingStatus = "BannoPending"
)

// IsPending reports whether the transaction has not posted yet.
func (p PendingStatus) IsPending() bool { return p == PendingInstitution || p == PendingBanno }

// TransactionType is Banno's transaction type. Unknown values are kept.
type TransactionType string

// Transaction types documented by Banno.
const (
	TransactionTypePOS      TransactionType = "POS"
	TransactionTypeCheck    TransactionType = "CHECK"
	TransactionTypeECheck   TransactionType = "ECHECK"
	TransactionTypeFee      TransactionType = "FEE"
	TransactionTypeInterest TransactionType = "INTEREST"
	TransactionTypeTax      TransactionType = "TAX"
	TransactionTypeTransfer TransactionType = "TRANSFER"
	TransactionTypeOnline   TransactionType = "ONLINE"
	TransactionTypeATM      TransactionType = "ATM"
	TransactionTypeUnknown  TransactionType = "UNKNOWN"
)

// TransactionSubtype is Banno's transaction subtype. Unknown values are
// kept.
type TransactionSubtype string

// Transaction subtypes documented by Banno.
const (
	TransactionSubtypePinDebit  TransactionSubtype = "PinDebit"
	TransactionSubtypeEFT       TransactionSubtype = "EFT"
	TransactionSubtypeUndefined TransactionSubtype = "Undefined"
)

// ExpenseCategory is the enrichment's expense category (an open list).
type ExpenseCategory string

// Expense categories seen in the documentation.
const (
	ExpenseClothing       ExpenseCategory = "clothing"
	ExpenseDiningOut      ExpenseCategory = "diningout"
	ExpenseEducation      ExpenseCategory = "education"
	ExpenseEntertainment  ExpenseCategory = "entertainment"
	ExpenseFees           ExpenseCategory = "fees"
	ExpenseGroceries      ExpenseCategory = "groceries"
	ExpenseHealth         ExpenseCategory = "health"
	ExpenseHome           ExpenseCategory = "home"
	ExpenseIncome         ExpenseCategory = "income"
	ExpensePayment        ExpenseCategory = "payment"
	ExpensePersonal       ExpenseCategory = "personal"
	ExpenseSavings        ExpenseCategory = "savings"
	ExpenseTransfer       ExpenseCategory = "transfer"
	ExpenseTransportation ExpenseCategory = "transportation"
	ExpenseTravel         ExpenseCategory = "travel"
	ExpenseUtilities      ExpenseCategory = "utilities"
)

// MerchantLocation is where a merchant is.
type MerchantLocation struct {
	City  string `json:"city"`
	State string `json:"state"`
	Zip   string `json:"zip"`
	// Lat and Long are kept exact (as sent, string or number).
	Lat  Decimal `json:"lat"`
	Long Decimal `json:"long"`
}

// Merchant is the merchant of a transaction.
type Merchant struct {
	Name     string            `json:"name"`
	URL      string            `json:"url"`
	Phone    string            `json:"phone"`
	Category string            `json:"category"`
	Location *MerchantLocation `json:"location,omitempty"`
}

// Enrichments are Banno's enrichment of a transaction.
type Enrichments struct {
	CleanMemo             string          `json:"cleanMemo"`
	ExpenseCategory       ExpenseCategory `json:"expenseCategory"`
	CustomExpenseCategory string          `json:"customExpenseCategory"`
	MerchantID            string          `json:"merchantId"`
	Logo                  string          `json:"logo"`
}

// Transaction is one transaction of an account.
type Transaction struct {
	// ID is the transaction's stable id.
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
	// Amount follows the account's convention: for deposit accounts
	// positive is money in; for Debt and Line of Credit accounts it is
	// inverted (a purchase is positive: it raises the amount owed). The
	// client keeps it as sent.
	Amount Decimal `json:"amount"`
	// Currency is ISO 4217, e.g. "USD".
	Currency   string  `json:"currency"`
	DatePosted Instant `json:"datePosted"`
	// Date currently equals DatePosted.
	Date          Instant            `json:"date"`
	PendingStatus PendingStatus      `json:"pendingStatus"`
	Type          TransactionType    `json:"type"`
	Subtype       TransactionSubtype `json:"subtype"`
	Memo          string             `json:"memo"`
	FilteredMemo  string             `json:"filteredMemo"`
	DisplayName   string             `json:"displayName"`
	DisplayCity   string             `json:"displayCity"`
	DisplayState  string             `json:"displayState"`
	CheckNumber   string             `json:"checkNumber"`
	// RunningBalance follows the same sign convention as the account's
	// balance.
	RunningBalance Decimal `json:"runningBalance"`
	// Sequence orders transactions within a posted date.
	Sequence int64 `json:"sequence"`
	// LastUpdated changes when core data, user edits or enrichment change.
	LastUpdated Instant      `json:"lastUpdated"`
	Tags        []string     `json:"tags"`
	Notes       string       `json:"notes"`
	Merchant    *Merchant    `json:"merchant,omitempty"`
	Enrichments *Enrichments `json:"enrichments,omitempty"`
	// Raw is the transaction object exactly as received.
	Raw json.RawMessage `json:"-"`
}

// transactionFields has Transaction's fields without its methods, for
// decoding without recursion.
type transactionFields Transaction

// UnmarshalJSON decodes the transaction and keeps its raw JSON.
func (t *Transaction) UnmarshalJSON(b []byte) error {
	return decodeTransaction(append(json.RawMessage(nil), b...), t)
}

// decodeTransaction decodes raw into t and keeps raw (not copied) as t.Raw.
func decodeTransaction(raw json.RawMessage, t *Transaction) error {
	var f transactionFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return err
	}
	*t = Transaction(f)
	t.Raw = raw
	return nil
}

// IsPending reports whether the transaction has not posted yet.
func (t *Transaction) IsPending() bool { return t.PendingStatus.IsPending() }

// TransactionsAccount is the account summary a transactions page carries.
type TransactionsAccount struct {
	AccountType    AccountType `json:"accountType"`
	AccountSubType string      `json:"accountSubType"`
}

// TransactionPage is one response of GET .../transactions.
type TransactionPage struct {
	// Transactions in posted date, then sequence order. Empty (never
	// nil-vs-missing ambiguity) when the response had null or none.
	Transactions []Transaction `json:"transactions"`
	// InactivatedTransactionIDs are transactions that no longer exist
	// (e.g. a dropped or replaced pending authorisation): tombstone them.
	InactivatedTransactionIDs []string `json:"inactivatedTransactionIds"`
	// InactivatedDigest is the SHA-256 of the list's raw JSON (zero when
	// the response had none). The bank repeats the same list on every
	// page of a query; [Session.TransactionsAfter] decodes it only when it
	// differs from the previous page's.
	InactivatedDigest [sha256.Size]byte `json:"-"`
	// InactivatedRepeated is true when the list is the previous page's
	// (same raw JSON): InactivatedTransactionIDs is then that page's slice,
	// shared, and a caller that applied it already has nothing to do.
	InactivatedRepeated bool `json:"-"`
	// InactivatedNew, for a page read by
	// [Session.TransactionsTolerantNewChunks], holds the ids of the list's
	// chunks not known yet, in list order (duplicates kept), compactly;
	// InactivatedTransactionIDs is then nil. Nil when the response had no
	// list, or for a page read otherwise.
	InactivatedNew *IDList `json:"-"`
	// InactivatedChunks, for a page read by
	// [Session.TransactionsTolerantNewChunks], names the chunks of the
	// list whose ids InactivatedNew holds: the reader marks them known
	// ([ListChunks.Add]) once it has taken the page.
	InactivatedChunks []ListChunk `json:"-"`
	// Offset and Limit are as reported by the response, or as requested
	// when the response omits them (0 when not paginated).
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	// Account carries the account's type, which fixes the sign
	// convention of the amounts.
	Account *TransactionsAccount `json:"account,omitempty"`
}

// TransactionQuery holds the documented query parameters of
// GET /users/{userId}/accounts/{accountId}/transactions. Zero fields are
// not sent.
type TransactionQuery struct {
	// Offset (0-based) and Limit (1..500) paginate; when either is set both
	// are sent, and order is posted date then sequence number.
	Offset int
	Limit  int
	// Since and Until bound the posted date, inclusive.
	Since time.Time
	Until time.Time
	// UpdatedSince selects transactions whose lastUpdated is at or after
	// it. It cannot be combined with Since.
	UpdatedSince time.Time
}

// Validate checks the query without making any request.
func (q TransactionQuery) Validate() error {
	switch {
	case !q.Since.IsZero() && !q.UpdatedSince.IsZero():
		return ErrSinceWithUpdatedSince
	case q.Offset < 0:
		return fmt.Errorf("%w: negative offset %d", ErrInvalidQuery, q.Offset)
	case q.Limit < 0 || q.Limit > maxTransactionsLimit:
		return fmt.Errorf("%w: limit %d not in 1..%d", ErrInvalidQuery, q.Limit, maxTransactionsLimit)
	case !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since):
		return fmt.Errorf("%w: until before since", ErrInvalidQuery)
	}
	return nil
}

// paginated reports whether offset and limit are sent.
func (q TransactionQuery) paginated() bool { return q.Offset > 0 || q.Limit > 0 }

// values encodes the query. Instants are sent in UTC, RFC 3339, with
// fractional seconds only when present.
func (q TransactionQuery) values() url.Values {
	v := url.Values{}
	if q.paginated() {
		v.Set("offset", strconv.Itoa(q.Offset))
		if q.Limit > 0 {
			v.Set("limit", strconv.Itoa(q.Limit))
		}
	}
	for name, t := range map[string]time.Time{"since": q.Since, "until": q.Until, "updatedSince": q.UpdatedSince} {
		if !t.IsZero() {
			v.Set(name, t.UTC().Format(time.RFC3339Nano))
		}
	}
	return v
}

// Transactions fetches one page of an account's transactions (scope
// transactions.detail.readonly). The query is validated before any request
// (since with updatedSince is refused). A page is returned only when the
// whole body was read and every transaction decoded; a page holding more
// transactions than the limit is rejected as malformed.
func (s *Session) Transactions(ctx context.Context, accountID string, q TransactionQuery) (*TransactionPage, error) {
	return s.TransactionsAfter(ctx, accountID, q, nil)
}

// TransactionsAfter is [Session.Transactions] for the page after prev
// (nil: none). When the response's inactivatedTransactionIds list is
// byte for byte prev's, it is not decoded again: the page shares prev's
// slice and reports InactivatedRepeated. Only prev's
// InactivatedTransactionIDs and InactivatedDigest are read, so a caller
// may keep just those two fields of a page it has finished with.
func (s *Session) TransactionsAfter(ctx context.Context, accountID string, q TransactionQuery, prev *TransactionPage) (*TransactionPage, error) {
	page, err := s.transactions(ctx, accountID, q, prev)
	if err != nil {
		return nil, fmt.Errorf("get transactions for account %s: %w", accountID, err)
	}
	return page, nil
}

func (s *Session) transactions(ctx context.Context, accountID string, q TransactionQuery, prev *TransactionPage) (*TransactionPage, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	id, err := escapeID("account", accountID)
	if err != nil {
		return nil, err
	}
	path, err := s.userPath("accounts", id, "transactions")
	if err != nil {
		return nil, err
	}
	var page *TransactionPage
	// The inactivated list is read as the body streams in (listDiverter)
	// and never buffered: the body decoded below holds null in its place.
	var list *listDiverter
	err = s.do(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/users/{userId}/accounts/{accountId}/transactions",
		url:    s.c.apiURL(path, q.values()),
		filter: func() bodyFilter {
			list = newListDiverter(prev)
			return list
		},
		decode: func(b []byte) error {
			p, err := decodeTransactionPage(b)
			if err != nil {
				return err
			}
			if err := list.apply(p.TransactionPage); err != nil {
				return err
			}
			if q.Limit > 0 && len(p.Transactions) > q.Limit {
				return fmt.Errorf("%w: %d transactions on a page limited to %d", ErrMalformedBody, len(p.Transactions), q.Limit)
			}
			if !p.reportedOffset {
				p.Offset = q.Offset
			}
			if !p.reportedLimit {
				p.Limit = q.Limit
			}
			page = p.TransactionPage
			return nil
		},
	})
	return page, err
}

// transactionsWire is the transactions response as sent, its records
// decoded as R and its inactivated-id list as L: each way of reading a
// page picks what it needs of them.
type transactionsWire[R, L any] struct {
	Transactions []R                  `json:"transactions"`
	Inactivated  L                    `json:"inactivatedTransactionIds"`
	Offset       *int                 `json:"offset"`
	Limit        *int                 `json:"limit"`
	Account      *TransactionsAccount `json:"account"`
}

// decodedPage is a page plus what the response reported.
type decodedPage struct {
	*TransactionPage
	reportedOffset bool
	reportedLimit  bool
}

// decodeTransactionPage decodes a transactions response body. transactions
// null or missing means no transactions; a transaction that is not an
// object or has no id makes the whole page malformed (no silent loss).
//
// The body is decoded in one pass (unmarshalV1), which also finds each
// transaction's raw JSON and the inactivated-id list in the body
// (spanned). A body that pass refuses is decoded again by encoding/json,
// for its error. The Consumer API reads go through a listDiverter, so the
// bodies they decode hold null for the list; the list is decoded here for
// the bodies that still carry it.
func decodeTransactionPage(body []byte) (decodedPage, error) {
	if err := requireObject(body); err != nil {
		return decodedPage{}, err
	}
	// One pass decodes the records and finds each one's raw JSON and the
	// inactivated list's.
	var wire transactionsWire[spanned[transactionFields], spanned[skipped]]
	// The records' slice is sized from the body up front (the decoder
	// appends into its capacity), not grown by doubling record by record.
	wire.Transactions = make([]spanned[transactionFields], 0, min(len(body)/recordBytesAtLeast, maxTransactionsLimit))
	if unmarshalV1(body, &wire) != nil {
		// encoding/json says why, in the error types callers classify.
		var check transactionsWire[transactionFields, json.RawMessage]
		if err := json.Unmarshal(body, &check); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return decodedPage{}, fmt.Errorf("%w: %w", ErrMalformedBody, err)
			}
			return decodedPage{}, err
		}
		return decodeTransactionPageSlow(body)
	}
	page := &TransactionPage{
		Transactions: make([]Transaction, len(wire.Transactions)),
		Account:      wire.Account,
	}
	if err := decodeInactivated(page, wire.Inactivated.raw(body, 0)); err != nil {
		return decodedPage{}, err
	}
	// Every Raw is a slice of one buffer: the body itself when the
	// records are nearly all of it (a body read through a listDiverter
	// holds null for the list), else a copy of the records' span, so
	// that a long list in the body is not kept alive by the records.
	backing, base := body, int64(0)
	if n := len(wire.Transactions); n > 0 {
		start, end := wire.Transactions[0].start, wire.Transactions[n-1].end
		if rest := int64(len(body)) - (end - start); rest > keptBesideRecords {
			backing, base = append([]byte(nil), body[start:end]...), start
		}
	}
	for i := range wire.Transactions {
		w := &wire.Transactions[i]
		raw := w.raw(backing, base)
		if err := requireObject(raw); err != nil {
			return decodedPage{}, fmt.Errorf("%w: transaction %d: %w", ErrMalformedBody, i, err)
		}
		page.Transactions[i] = Transaction(w.value)
		page.Transactions[i].Raw = raw
		if page.Transactions[i].ID == "" {
			return decodedPage{}, fmt.Errorf("%w: transaction %d has no id", ErrMalformedBody, i)
		}
	}
	return finishPage(page, wire.Offset, wire.Limit), nil
}

// recordBytesAtLeast is about the smallest a transaction record comes
// (the documented fields make a record of about 1 KB): a body's length
// divided by it sizes the records' slice, which grows only on a page of
// smaller records.
const recordBytesAtLeast = 256

// keptBesideRecords is how many bytes of a transactions body besides its
// records the records' raw JSON may keep alive (the offset, limit and
// account fields, a null list): up to it, Raw slices the body itself.
const keptBesideRecords = 4 << 10

// decodeTransactionPageSlow decodes element by element through
// json.RawMessage.
func decodeTransactionPageSlow(body []byte) (decodedPage, error) {
	var wire transactionsWire[json.RawMessage, json.RawMessage]
	if err := json.Unmarshal(body, &wire); err != nil {
		return decodedPage{}, err
	}
	page := &TransactionPage{
		Transactions: make([]Transaction, len(wire.Transactions)),
		Account:      wire.Account,
	}
	if err := decodeInactivated(page, wire.Inactivated); err != nil {
		return decodedPage{}, err
	}
	for i, raw := range wire.Transactions {
		if err := requireObject(raw); err != nil {
			return decodedPage{}, fmt.Errorf("%w: transaction %d: %w", ErrMalformedBody, i, err)
		}
		if err := decodeTransaction(raw, &page.Transactions[i]); err != nil {
			return decodedPage{}, fmt.Errorf("%w: transaction %d: %w", ErrMalformedBody, i, err)
		}
		if page.Transactions[i].ID == "" {
			return decodedPage{}, fmt.Errorf("%w: transaction %d has no id", ErrMalformedBody, i)
		}
	}
	return finishPage(page, wire.Offset, wire.Limit), nil
}

// decodeInactivated sets page's inactivated ids and their digest from
// their raw JSON (already validated).
func decodeInactivated(page *TransactionPage, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	page.InactivatedDigest = sha256.Sum256(raw)
	if err := json.Unmarshal(raw, &page.InactivatedTransactionIDs); err != nil {
		return fmt.Errorf("%w: inactivatedTransactionIds: %w", ErrMalformedBody, err)
	}
	return nil
}

// finishPage records the offset and limit the response reported.
func finishPage(page *TransactionPage, offset, limit *int) decodedPage {
	d := decodedPage{TransactionPage: page}
	if offset != nil {
		page.Offset, d.reportedOffset = *offset, true
	}
	if limit != nil {
		page.Limit, d.reportedLimit = *limit, true
	}
	return d
}
