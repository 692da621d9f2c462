package probe

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteReport prints a result for a person.
func WriteReport(w io.Writer, res *Result) error {
	f := res.Findings
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "probe %d of institution %s with link %s: %d requests, %s\n", res.ID, res.Institution, res.LinkID,
		res.Requests, res.FinishedAt.Sub(res.StartedAt).Round(100_000_000))
	fmt.Fprintf(tw, "account measured: %s, %d rows on its first page\n\n", orDash(f.AccountType), f.AccountRows)
	fmt.Fprintln(tw, "BEHAVIOUR\tFINDING")
	lifetime := "unknown"
	if f.AccessTokenSeconds > 0 {
		lifetime = fmt.Sprintf("%d s", f.AccessTokenSeconds)
	}
	pageCap := "unknown"
	switch {
	case f.PageCap == maxLimit:
		pageCap = "none (500 rows served)"
	case f.PageCap > 0:
		pageCap = strconv.Itoa(f.PageCap) + " rows"
	case f.PageCapAtLeast > 0:
		pageCap = fmt.Sprintf("none seen (the account had %d rows)", f.PageCapAtLeast)
	}
	rows := [][2]string{
		{"refresh tokens rotate", f.RefreshRotates},
		{"access token lifetime", lifetime},
		{"page cap (limit=500)", pageCap},
		{"offset", f.Offset},
		{"updatedSince", f.UpdatedSince},
		{"order across pages (since)", f.OrderSince},
		{"order across pages (updatedSince)", f.OrderUpdatedSince},
		{"inactivatedTransactionIds", f.Inactivated},
		{"pending→posted moves lastUpdated", fmt.Sprintf("%s (%d seen)", f.PendingPostMovesLastUpdated, f.PendingPostsSeen)},
		{"modification moves lastUpdated", fmt.Sprintf("%s (%d seen, %d without)", f.ModificationMovesLastUpdated, f.ModificationsSeen, f.ModificationsStale)},
		{"pending datePosted", f.PendingDatePosted},
		{"malformed records", strconv.Itoa(f.MalformedRecords)},
		{"external accounts", strconv.Itoa(f.ExternalAccounts)},
		{"\"Not enriched\" rows", strconv.Itoa(f.NotEnriched)},
		{"unlisted categories", orDash(strings.Join(f.UnlistedCategories, ", "))},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the probe report: %w", err)
	}
	for _, n := range f.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(res.Matches) > 0 {
		fmt.Fprintf(w, "\nsandbox profile: %s\n", strings.Join(res.Matches, ", "))
	} else {
		fmt.Fprintf(w, "\nno sandbox profile matches; closest: %s (%s)\n", strings.Join(res.Closest, ", "), strings.Join(res.Differences, "; "))
	}
	if len(res.Settings) == 0 {
		_, err := fmt.Fprintln(w, "settings: the defaults fit")
		return err
	}
	fmt.Fprintln(w, "settings:")
	for _, s := range res.Settings {
		fmt.Fprintf(w, "  %s = %s: %s\n", s.Name, s.Value, s.Why)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
