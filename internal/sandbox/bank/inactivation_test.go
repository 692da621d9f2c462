package bank

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInactivationsMatchThePage(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Seed: 9, Users: 3, HistoryDays: 200, FutureDays: 30})
	now := b.Config().Start
	user := b.UserID(1)
	accounts, _, ok := b.Accounts(user, now)
	require.True(t, ok)
	var dropped, replaced int
	for _, a := range accounts {
		page, err := b.Transactions(user, a.ID, now, Query{})
		require.NoError(t, err)
		in, err := b.Inactivations(user, a.ID, now)
		require.NoError(t, err)
		require.Len(t, in, len(page.InactivatedTransactionIDs))
		live := map[string]bool{}
		for _, x := range page.Transactions {
			live[x.ID] = true
		}
		for i, x := range in {
			require.Equal(t, page.InactivatedTransactionIDs[i], x.ID)
			require.False(t, x.At.After(now))
			require.False(t, live[x.ID])
			if x.Replaced {
				replaced++
			} else {
				dropped++
			}
		}
		// With updatedSince, the page lists exactly those inactivated at or after it.
		bound := now.Add(-30 * 24 * time.Hour)
		since, err := b.Transactions(user, a.ID, now, Query{UpdatedSince: &bound})
		require.NoError(t, err)
		var want []string
		for _, x := range in {
			if !x.At.Before(bound) {
				want = append(want, x.ID)
			}
		}
		require.ElementsMatch(t, want, since.InactivatedTransactionIDs)
	}
	require.Positive(t, dropped)
	require.Positive(t, replaced)
	_, err := b.Inactivations(user, "nope", now)
	require.ErrorIs(t, err, ErrUnknownAccount)
}
