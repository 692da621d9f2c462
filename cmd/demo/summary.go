package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// printSummary prints, from the reporting views, each user's accounts and
// balances, net worth, and spending by category in the data clock's
// previous and current month.
func printSummary(ctx context.Context, w io.Writer, db *pgxpool.Pool, users []string, clock time.Time) error {
	thisMonth := time.Date(clock.Year(), clock.Month(), 1, 0, 0, 0, 0, time.UTC)
	fmt.Fprintf(w, "\nThe sandbox's data runs to %s (its data clock).\n", clock.UTC().Format("Monday 2 January 2006, 15:04 MST"))
	for _, u := range users {
		accounts, err := accountsReport(ctx, db, u)
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
		assets, debts, net, err := netWorth(ctx, db, u)
		switch {
		case errors.Is(err, errNoBalances):
			fmt.Fprintln(w, "net worth: no balances yet")
		case err != nil:
			return err
		default:
			fmt.Fprintf(w, "net worth: %s (assets %s, debts %s)\n", net, assets, debts)
		}
		for _, m := range []struct {
			first time.Time
			label string
		}{
			{thisMonth.AddDate(0, -1, 0), thisMonth.AddDate(0, -1, 0).Format("January 2006")},
			{thisMonth, thisMonth.Format("January 2006") + " so far"},
		} {
			spend, err := spendingByCategory(ctx, db, u, m.first)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "spending in %s by category:\n", m.label)
			if len(spend) == 0 {
				fmt.Fprintln(w, "  none yet")
			}
			tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
			for _, c := range spend {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", c.Category, c.Amount, plural(c.Transactions, "transaction"))
			}
			_ = tw.Flush()
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
