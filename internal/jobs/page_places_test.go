package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadAheadSharesOnlyAfterALightPage: a light page shares its place
// with the page read after it only when the page before it was light too
// (or it is the first), and never when it is the reader's final page. A
// dense window ends in a partial, light page after a full one: that page
// must not let the next window's full page be read ahead in its place.
func TestReadAheadSharesOnlyAfterALightPage(t *testing.T) {
	t.Parallel()
	type page struct{ light, final bool }
	heavy, light, lastLight := page{}, page{light: true}, page{light: true, final: true}
	for _, c := range []struct {
		name  string
		pages []page
		want  []bool
	}{
		{"light after heavy does not share", []page{heavy, light, light, lastLight}, []bool{false, false, true, false}},
		{"a first light page shares", []page{light, light, heavy, light, light}, []bool{true, true, false, false, true}},
		{"heavy pages never share", []page{heavy, heavy, page{final: true}}, []bool{false, false, false}},
		{"the final page never shares", []page{lastLight}, []bool{false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ahead := newReadAhead()
			var got []bool
			for _, p := range c.pages {
				got = append(got, ahead.shares(p.light, p.final))
			}
			require.Equal(t, c.want, got)
		})
	}
	for records, light := range map[int]bool{0: true, 125: true, 126: false, 500: false} {
		require.Equal(t, light, lightPage(records, 500), "%d records of 500", records)
	}
}

// TestPagePlacesAreGivenBackByTheirLastHolder: an account's pages take
// its own place first, then the budget's; a place shared by two pages is
// given back only when both have released it, and only once.
func TestPagePlacesAreGivenBackByTheirLastHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	budget := newPageBudget(2)
	a, err := budget.account(ctx)
	require.NoError(t, err)
	b, err := budget.account(ctx)
	require.NoError(t, err)
	// blocked reports whether take waits (for as long as 50 ms).
	blocked := func(acct *accountPages) bool {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		p, err := acct.take(short)
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			return true
		}
		p.release()
		return false
	}

	own, err := a.take(ctx)
	require.NoError(t, err)
	require.True(t, blocked(a), "the account's own place is held and the budget's two places are the accounts'")
	require.False(t, blocked(b), "the other account still has its own place")

	// A light page shares its place with the page read after it.
	shared := own.share()
	own.release()
	require.True(t, blocked(a), "one holder left: the place is still held")
	shared.release()
	require.False(t, blocked(a), "both released: the account's own place is free")

	// Once an account is done, its budget place serves another's read-ahead.
	b.done()
	first, err := a.take(ctx)
	require.NoError(t, err)
	second, err := a.take(ctx)
	require.NoError(t, err, "the place account b gave back")
	require.True(t, blocked(a), "no place left")
	second.release()
	require.Equal(t, 1, len(budget.places), "account a's place; the read-ahead's was given back")
	first.release()
	a.done()
	require.Zero(t, len(budget.places))
}
