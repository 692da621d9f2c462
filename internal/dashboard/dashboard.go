package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/shopspring/decimal"

	"github.com/pfmsync/pfmsync/internal/reporting"
)

// dashboardPage is one app user's dashboard.
type dashboardPage struct {
	basePage
	User          string
	NetWorth      *lineChart
	NetWorthNow   string
	CashFlow      *barChart
	SpendingMonth time.Time
	Spending      []categoryBar
	SpendingTotal string
	Transactions  []txnRow
	Accounts      []accountRow
	Links         []linkRow
	Recurring     []recurringRow
}

type txnRow struct {
	reporting.Transaction
	Label string
}

type accountRow struct {
	reporting.Account
	Balance   string
	Freshness string
	Stale     bool
}

type linkRow struct {
	reporting.Link
	ReconnectURL string
}

type recurringRow struct {
	reporting.Recurring
	Amount string
}

// staleAfter is when an account's balance counts as out of date.
const staleAfter = 36 * time.Hour

// dashboard reads everything one app user's page shows, from the
// reporting views only.
func (h *handler) dashboard(ctx context.Context, user string) (*dashboardPage, error) {
	now := h.o.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	r := h.o.Reader
	p := &dashboardPage{basePage: h.base("Dashboard: " + user), User: user}

	links, err := r.Links(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		row := linkRow{Link: l}
		if l.NeedsReconsent() && h.o.LinkURL != "" {
			row.ReconnectURL = "/reconnect?" + urlValues("user", user, "link", l.LinkID)
		}
		p.Links = append(p.Links, row)
	}
	if len(links) == 0 {
		return p, nil
	}

	nw, err := r.NetWorth(ctx, user, today.AddDate(0, 0, -netWorthDays))
	if err != nil {
		return nil, err
	}
	p.NetWorth = newLineChart(nw)
	if p.NetWorth != nil {
		p.NetWorthNow = p.NetWorth.Last.Label
	}

	months, err := r.CashFlow(ctx, user, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(cashFlowMonths-1), 0))
	if err != nil {
		return nil, err
	}
	p.CashFlow = newCashFlowChart(months)

	// This month's spending; early in a month with nothing posted yet, the
	// latest month that has some.
	p.SpendingMonth = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !hasSpending(months, p.SpendingMonth) {
		for i := len(months) - 1; i >= 0; i-- {
			if months[i].Month.Before(p.SpendingMonth) && months[i].Spending.IsPositive() {
				p.SpendingMonth = months[i].Month
				break
			}
		}
	}
	cats, err := r.SpendingByCategory(ctx, user, p.SpendingMonth)
	if err != nil {
		return nil, err
	}
	p.Spending = newCategoryBars(cats)
	total := decimal.Zero
	currency := ""
	for _, c := range cats {
		total, currency = total.Add(c.Amount), c.Currency
	}
	p.SpendingTotal = formatMoney(total, currency)

	txns, err := r.RecentTransactions(ctx, user, recentTransactions)
	if err != nil {
		return nil, err
	}
	for _, t := range txns {
		p.Transactions = append(p.Transactions, txnRow{Transaction: t, Label: formatMoney(t.Amount, t.Currency)})
	}

	accounts, err := r.Accounts(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, a := range accounts {
		row := accountRow{Account: a, Balance: "—", Freshness: "never updated", Stale: true}
		if a.BalanceSigned != nil {
			row.Balance = formatMoney(*a.BalanceSigned, a.Currency)
		}
		if a.BalanceAsOf != nil {
			row.Freshness = "updated " + ago(now.Sub(*a.BalanceAsOf))
			row.Stale = now.Sub(*a.BalanceAsOf) > staleAfter
		}
		p.Accounts = append(p.Accounts, row)
	}

	recs, err := r.Recurring(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, c := range recs {
		p.Recurring = append(p.Recurring, recurringRow{Recurring: c, Amount: formatMoney(c.TypicalAmount, c.Currency)})
	}
	return p, nil
}

func hasSpending(months []reporting.CashFlowMonth, m time.Time) bool {
	for _, x := range months {
		if x.Month.Equal(m) && x.Spending.IsPositive() {
			return true
		}
	}
	return false
}

// ago says how long ago, roughly: "just now", "5 min ago", "3 h ago", "2 days ago".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func urlValues(kv ...string) string {
	v := make(map[string][]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = []string{kv[i+1]}
	}
	return encodeQuery(v)
}

// templateFuncs are the helpers the templates use.
var templateFuncs = template.FuncMap{
	"px":    func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"date":  formatDate,
	"iso":   func(t time.Time) string { return t.Format(time.DateOnly) },
	"month": func(t time.Time) string { return t.Format("January 2006") },
	"neg":   isNegative,
	"exact": exactString,
	"sub":   func(a, b float64) float64 { return a - b },
	"last":  func(s []tick) int { return len(s) - 1 },
	"deref": func(d *decimal.Decimal) decimal.Decimal { return *d },
	"statusText": func(s string) string {
		switch s {
		case "active":
			return "connected"
		case "reauth_required":
			return "needs reconnecting"
		case "revoked":
			return "disconnected"
		case "disabled":
			return "paused"
		}
		return s
	},
}

func encodeQuery(v map[string][]string) string { return url.Values(v).Encode() }

// isNegative reports whether an amount (a decimal or its exact text) is
// below zero.
func isNegative(v any) bool {
	switch d := v.(type) {
	case decimal.Decimal:
		return d.IsNegative()
	case string:
		x, err := decimal.NewFromString(d)
		return err == nil && x.IsNegative()
	}
	return false
}

// formatDate renders a date (or a pointer to one; nil is "—") as "Jan 2, 2006".
func formatDate(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.Format("Jan 2, 2006")
	case *time.Time:
		if t != nil {
			return t.Format("Jan 2, 2006")
		}
	}
	return "—"
}
