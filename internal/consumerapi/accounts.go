package consumerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// AccountType is Banno's accountType. Unknown values are kept as sent.
type AccountType string

// Account types documented by Banno.
const (
	AccountTypeDeposit      AccountType = "Deposit"
	AccountTypeLineOfCredit AccountType = "Line of Credit"
	AccountTypeDebt         AccountType = "Debt"
	AccountTypeInvestment   AccountType = "Investment"
	AccountTypeBillPay      AccountType = "Bill Pay"
	AccountTypeOther        AccountType = "Other"
	AccountTypeUnknown      AccountType = "Unknown"
)

// Known reports whether t is one of the documented account types.
func (t AccountType) Known() bool {
	switch t {
	case AccountTypeDeposit, AccountTypeLineOfCredit, AccountTypeDebt, AccountTypeInvestment,
		AccountTypeBillPay, AccountTypeOther, AccountTypeUnknown:
		return true
	}
	return false
}

// AccountStatus is Banno's accountStatus (an open list; always "Unknown"
// for credit unions).
type AccountStatus string

// Account statuses seen in the documentation.
const (
	AccountStatusActive  AccountStatus = "Active"
	AccountStatusClosed  AccountStatus = "Closed"
	AccountStatusDormant AccountStatus = "Dormant"
	AccountStatusUnknown AccountStatus = "Unknown"
)

// AccountInstitution is the institution an account belongs to.
type AccountInstitution struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Account is one account of the user.
//
// Sign convention of Balance (and AvailableBalance): for deposit accounts a
// positive balance is money the user has; for Debt and Line of Credit
// accounts a positive balance is money the user owes. The client keeps
// values as sent; pfmsync's sign rule (the user's perspective) is applied
// by the sync when it stores them.
type Account struct {
	ID string `json:"id"`
	// Name is trimmed of surrounding whitespace (Raw keeps the original).
	Name           string        `json:"name"`
	Numbers        string        `json:"numbers"`
	AccountType    AccountType   `json:"accountType"`
	AccountSubType string        `json:"accountSubType"`
	AccountStatus  AccountStatus `json:"accountStatus"`
	// Balance is the current (ledger) balance.
	Balance          Decimal `json:"balance"`
	AvailableBalance Decimal `json:"availableBalance"`
	CreditLimit      Decimal `json:"creditLimit"`
	AvailableCredit  Decimal `json:"availableCredit"`
	PaymentDueAmount Decimal `json:"paymentDueAmount"`
	InterestRate     Decimal `json:"interestRate"`
	PaymentDueDate   Date    `json:"paymentDueDate"`
	// FetchedDate is when the institution last refreshed the balance from
	// its core.
	FetchedDate                  Instant             `json:"fetchedDate"`
	Institution                  *AccountInstitution `json:"institution,omitempty"`
	RoutingNumber                string              `json:"routingNumber"`
	Hidden                       bool                `json:"hidden"`
	ContributesToAggregateTotals bool                `json:"contributesToAggregateTotals"`
	// Raw is the account object exactly as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the account, trims its name and keeps its raw JSON.
func (a *Account) UnmarshalJSON(b []byte) error {
	type plain Account
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = Account(v)
	a.Name = strings.TrimSpace(a.Name)
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// AccountList is the response of GET /users/{userId}/accounts.
type AccountList struct {
	Accounts []Account `json:"accounts"`
	// InactivatedAccountIDs are accounts no longer active for the user
	// (closed, removed): mark them inactive, keep their history.
	InactivatedAccountIDs []string `json:"inactivatedAccountIds"`
}

// Accounts lists the user's accounts (scope accounts.readonly). The
// balances here are not guaranteed to be the newest; balance task events
// may carry newer ones.
func (s *Session) Accounts(ctx context.Context) (*AccountList, error) {
	path, err := s.userPath("accounts")
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var list AccountList
	err = s.do(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/users/{userId}/accounts",
		url:    s.c.apiURL(path, nil),
		decode: func(b []byte) error {
			list = AccountList{}
			if err := decodeJSON(&list)(b); err != nil {
				return err
			}
			for i := range list.Accounts {
				if list.Accounts[i].ID == "" {
					return fmt.Errorf("%w: account %d has no id", ErrMalformedBody, i)
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return &list, nil
}

// Account returns one account (scope accounts.readonly). The response shape
// of this endpoint is not documented; the client accepts the account object
// itself, {"account": {...}} and {"accounts": [...]} holding it.
func (s *Session) Account(ctx context.Context, accountID string) (*Account, error) {
	id, err := escapeID("account", accountID)
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", accountID, err)
	}
	path, err := s.userPath("accounts", id)
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", accountID, err)
	}
	var acct Account
	err = s.do(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/users/{userId}/accounts/{accountId}",
		url:    s.c.apiURL(path, nil),
		decode: func(b []byte) error {
			a, err := decodeOneAccount(b, accountID)
			acct = a
			return err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", accountID, err)
	}
	return &acct, nil
}

// decodeOneAccount accepts the three plausible shapes of a single-account
// response.
func decodeOneAccount(b []byte, accountID string) (Account, error) {
	if err := requireObject(b); err != nil {
		return Account{}, err
	}
	var wrapper struct {
		Account  json.RawMessage   `json:"account"`
		Accounts []json.RawMessage `json:"accounts"`
	}
	if err := json.Unmarshal(b, &wrapper); err != nil {
		return Account{}, err
	}
	raw := b
	switch {
	case len(wrapper.Account) > 0 && bytes.HasPrefix(bytes.TrimSpace(wrapper.Account), []byte("{")):
		raw = wrapper.Account
	case wrapper.Accounts != nil:
		raw = nil
		for _, r := range wrapper.Accounts {
			var probe struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(r, &probe) == nil && strings.EqualFold(probe.ID, accountID) {
				raw = r
				break
			}
		}
		if raw == nil {
			return Account{}, fmt.Errorf("%w: account %s not in response", ErrMalformedBody, accountID)
		}
	}
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return Account{}, err
	}
	if !strings.EqualFold(a.ID, accountID) {
		return Account{}, fmt.Errorf("%w: response is for account %q", ErrMalformedBody, limitText(a.ID))
	}
	return a, nil
}
