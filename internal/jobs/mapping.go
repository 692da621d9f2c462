package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// errMalformed marks a bank record pfmsync cannot store faithfully.
var errMalformed = errors.New("malformed record from the bank")

func decimalPtr(d consumerapi.Decimal) *string {
	if !d.Valid() {
		return nil
	}
	s := d.String()
	return &s
}

// balanceReading is a balance carried by a fetch task's event.
type balanceReading struct {
	Balance          consumerapi.Decimal `json:"balance"`
	AvailableBalance consumerapi.Decimal `json:"availableBalance"`
	FetchedDate      consumerapi.Instant `json:"fetchedDate"`
}

// taskBalances reads balances from EnrichmentAccountBalances events. The
// payload of balance events is undocumented: events of the form
// {"accounts": [{"id", "balance", "availableBalance", "fetchedDate"}]} are
// used; anything else is ignored.
func taskBalances(res *consumerapi.TaskResult) map[string]balanceReading {
	out := map[string]balanceReading{}
	if res == nil {
		return out
	}
	for _, e := range res.BalanceEvents() {
		var body struct {
			Accounts []struct {
				ID string `json:"id"`
				balanceReading
			} `json:"accounts"`
		}
		if json.Unmarshal(e.Raw, &body) != nil {
			continue
		}
		for _, a := range body.Accounts {
			if a.ID != "" && a.Balance.Valid() {
				out[a.ID] = a.balanceReading
			}
		}
	}
	return out
}

// accountInput maps an account, preferring a newer balance from a task
// event (the accounts list is "not guaranteed" to be the newest).
func accountInput(a consumerapi.Account, newer map[string]balanceReading) (store.AccountInput, error) {
	if a.ID == "" || a.AccountType == "" {
		return store.AccountInput{}, fmt.Errorf("%w: account without id or type", errMalformed)
	}
	in := store.AccountInput{
		ProviderID:       a.ID,
		Name:             strings.TrimSpace(a.Name),
		MaskedNumber:     a.Numbers,
		Type:             string(a.AccountType),
		Subtype:          a.AccountSubType,
		Status:           string(a.AccountStatus),
		Balance:          decimalPtr(a.Balance),
		AvailableBalance: decimalPtr(a.AvailableBalance),
		CreditLimit:      decimalPtr(a.CreditLimit),
		AvailableCredit:  decimalPtr(a.AvailableCredit),
		PaymentDueAmount: decimalPtr(a.PaymentDueAmount),
		InterestRate:     decimalPtr(a.InterestRate),
		Hidden:           a.Hidden,
		Contributes:      a.ContributesToAggregateTotals,
		Raw:              a.Raw,
	}
	if a.Institution != nil {
		in.InstitutionID, in.InstitutionName = a.Institution.ID, strings.TrimSpace(a.Institution.Name)
	}
	if !a.PaymentDueDate.IsZero() {
		d := a.PaymentDueDate.Time(time.UTC)
		in.PaymentDueDate = &d
	}
	if !a.FetchedDate.IsZero() {
		t := a.FetchedDate.Time
		in.BalanceAsOf = &t
	}
	if r, ok := newer[a.ID]; ok && !r.FetchedDate.IsZero() && (in.BalanceAsOf == nil || r.FetchedDate.After(*in.BalanceAsOf)) {
		in.Balance = decimalPtr(r.Balance)
		if r.AvailableBalance.Valid() {
			in.AvailableBalance = decimalPtr(r.AvailableBalance)
		}
		t := r.FetchedDate.Time
		in.BalanceAsOf = &t
	}
	if len(in.Raw) == 0 {
		return store.AccountInput{}, fmt.Errorf("%w: account %s without its JSON", errMalformed, a.ID)
	}
	return in, nil
}

// transactionInput maps a transaction of an account of type accountType
// (Banno's accountType, which decides the sign rule: pfm.UserSign).
func transactionInput(t consumerapi.Transaction, accountType string) (store.TransactionInput, error) {
	posted := t.DatePosted.Time
	if posted.IsZero() {
		posted = t.Date.Time
	}
	if t.ID == "" || !t.Amount.Valid() || posted.IsZero() || len(t.Raw) == 0 {
		return store.TransactionInput{}, fmt.Errorf("%w: transaction %q lacks id, amount or posted date", errMalformed, t.ID)
	}
	in := store.TransactionInput{
		ProviderID:     t.ID,
		Amount:         t.Amount.String(),
		SignedAmount:   userPerspective(t.Amount, accountType).String(),
		Currency:       t.Currency,
		PostedAt:       posted,
		Pending:        t.IsPending(),
		PendingStatus:  string(t.PendingStatus),
		Type:           string(t.Type),
		Subtype:        string(t.Subtype),
		Memo:           t.Memo,
		Description:    firstNonEmpty(t.DisplayName, cleanMemo(t), t.FilteredMemo, t.Memo),
		MerchantName:   t.DisplayName,
		Category:       category(t),
		CheckNumber:    t.CheckNumber,
		RunningBalance: decimalPtr(t.RunningBalance),
		Raw:            t.Raw,
	}
	if t.Merchant != nil && t.Merchant.Name != "" {
		in.MerchantName = t.Merchant.Name
	}
	if t.Sequence != 0 {
		seq := t.Sequence
		in.Sequence = &seq
	}
	if !t.LastUpdated.IsZero() {
		u := t.LastUpdated.Time
		in.ProviderUpdatedAt = &u
	}
	return in, nil
}

// userPerspective applies the sign rule to an amount or balance the bank
// reports for an account of type accountType: money in and assets positive.
func userPerspective(d consumerapi.Decimal, accountType string) consumerapi.Decimal {
	if pfm.UserSign(accountType) < 0 {
		return d.Neg()
	}
	return d
}

func cleanMemo(t consumerapi.Transaction) string {
	if t.Enrichments != nil {
		return t.Enrichments.CleanMemo
	}
	return ""
}

// category is the user's custom category, else the bank's expense
// category, else the merchant's.
func category(t consumerapi.Transaction) string {
	if t.Enrichments != nil {
		if t.Enrichments.CustomExpenseCategory != "" {
			return t.Enrichments.CustomExpenseCategory
		}
		if t.Enrichments.ExpenseCategory != "" {
			return string(t.Enrichments.ExpenseCategory)
		}
	}
	if t.Merchant != nil {
		return t.Merchant.Category
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
