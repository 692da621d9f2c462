package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/pfmsync/pfmsync/internal/reporting"
)

// printSummary prints, from the reporting views (read the way any dashboard
// reads them, through internal/reporting), each user's accounts and
// balances, net worth, and spending by category in the data clock's
// previous and current month.
func printSummary(ctx context.Context, w io.Writer, db reporting.DB, users []string, clock time.Time) error {
	r := reporting.New(db)
	thisMonth := time.Date(clock.Year(), clock.Month(), 1, 0, 0, 0, 0, time.UTC)
	fmt.Fprintf(w, "\nThe sandbox's data runs to %s (its data clock).\n", clock.UTC().Format("Monday 2 January 2006, 15:04 MST"))
	for _, u := range users {
		accounts, err := r.Accounts(ctx, u)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n== %s\n", u)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "account\ttype\tbalance\t")
		for _, a := range accounts {
			name := a.Name + " " + a.MaskedNumber
			if a.Inactive {
				name += " (closed)"
			}
			balance := ""
			if a.BalanceSigned != nil {
				balance = a.BalanceSigned.StringFixed(2)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, a.Subtype, balance)
		}
		_ = tw.Flush()
		nw, err := r.LatestNetWorth(ctx, u)
		switch {
		case errors.Is(err, reporting.ErrNotFound):
			fmt.Fprintln(w, "net worth: no balances yet")
		case err != nil:
			return err
		default:
			fmt.Fprintf(w, "net worth: %s (assets %s, debts %s)\n", nw.NetWorth.StringFixed(2), nw.Assets.StringFixed(2), nw.Debts.StringFixed(2))
		}
		for _, m := range []struct {
			first time.Time
			label string
		}{
			{thisMonth.AddDate(0, -1, 0), thisMonth.AddDate(0, -1, 0).Format("January 2006")},
			{thisMonth, thisMonth.Format("January 2006") + " so far"},
		} {
			spend, err := r.SpendingByCategory(ctx, u, m.first)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "spending in %s by category:\n", m.label)
			tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
			shown := 0
			for _, c := range spend {
				if !c.Amount.IsPositive() {
					continue // refunds outweighed spending
				}
				shown++
				fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", c.DisplayName, c.Amount.StringFixed(2), plural(c.Transactions, "transaction"))
			}
			_ = tw.Flush()
			if shown == 0 {
				fmt.Fprintln(w, "  none yet")
			}
		}
	}
	return nil
}

func plural(n int64, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
