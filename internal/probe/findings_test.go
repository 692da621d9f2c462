package probe

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func unknownFindings() Findings {
	return Findings{RefreshRotates: Unknown, Offset: Unknown, UpdatedSince: Unknown, OrderSince: Unknown, OrderUpdatedSince: Unknown,
		Inactivated: Unknown, PendingPostMovesLastUpdated: Unknown, ModificationMovesLastUpdated: Unknown, PendingDatePosted: Unknown}
}

func TestUnknownFindingsConstrainNothing(t *testing.T) {
	t.Parallel()
	f := unknownFindings()
	matches, closest, _ := f.Match()
	require.Nil(t, closest)
	// Only the account list is known: no external account.
	require.Equal(t, []string{"documented", "lazy-inactivation", "silent-pending", "stale-last-updated", "coarse-updated-since",
		"unstable-paging", "broken-offset", "sloppy-records"}, matches)

	f.PageCapAtLeast = 150
	matches, _, _ = f.Match()
	require.NotContains(t, matches, "broken-offset", "a cap of 100 cannot serve 150 rows")
	require.Contains(t, matches, "unstable-paging")
}

func TestNoMatchNamesTheClosestAndWhy(t *testing.T) {
	t.Parallel()
	f := unknownFindings()
	f.PageCap, f.Offset, f.UpdatedSince, f.Inactivated = 250, OffsetHonoured, UpdatedSinceSecond, InactivatedEveryPage
	matches, closest, diffs := f.Match()
	require.Empty(t, matches)
	require.Contains(t, closest, "documented")
	require.Contains(t, diffs, "page cap: 250, profile 500")
	require.Contains(t, diffs, "updatedSince: second, profile inclusive")

	names := map[string]string{}
	for _, s := range f.Settings() {
		names[s.Name] = s.Value
	}
	require.Equal(t, "250", names["PageSize"])
	require.Equal(t, "at least 2s", names["Overlap (PFMSYNC_UPDATED_SINCE_OVERLAP)"])
}
