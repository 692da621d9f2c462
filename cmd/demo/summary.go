package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// printSummary prints, from the reporting views, each user's accounts and
// balances, net worth, and last month's spending by category (months as
// the sandbox's data clock sees them).
func printSummary(ctx context.Context, w io.Writer, st *store.Store, users []string, clock time.Time) error {
	lastMonth := time.Date(clock.Year(), clock.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	for _, u := range users {
		accounts, err := st.AccountsReport(ctx, u)
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, a.Subtype, a.Balance)
		}
		_ = tw.Flush()
		assets, debts, net, err := st.NetWorth(ctx, u)
		switch {
		case errors.Is(err, pfm.ErrNotFound):
			fmt.Fprintln(w, "net worth: no balances yet")
		case err != nil:
			return err
		default:
			fmt.Fprintf(w, "net worth: %s (assets %s, debts %s)\n", net, assets, debts)
		}
		spend, err := st.SpendingByCategory(ctx, u, lastMonth)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "spending in %s by category:\n", lastMonth.Format("January 2006"))
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		for _, c := range spend {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", c.Category, c.Amount, plural(c.Transactions, "transaction"))
		}
		_ = tw.Flush()
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
