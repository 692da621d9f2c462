package bank

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newTestBank returns a bank for cfg, failing the test on error.
func newTestBank(t testing.TB, cfg Config) *Bank {
	t.Helper()
	b, err := New(cfg)
	require.NoError(t, err)
	return b
}

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	js, err := json.Marshal(v)
	require.NoError(t, err)
	return js
}

// days returns d days as a Duration.
func days(d float64) time.Duration { return time.Duration(d * float64(24*time.Hour)) }

// truthAt returns the user's truth at now, failing the test if unknown.
func truthAt(t testing.TB, b *Bank, n int, now time.Time) Truth {
	t.Helper()
	tr, ok := b.Truth(b.UserID(n), now)
	require.True(t, ok)
	return tr
}

// check fails the test with the message when cond is false. It is cheap when
// cond holds, for use in loops over many transactions.
func check(t testing.TB, cond bool, format string, args ...any) {
	if !cond {
		t.Helper()
		t.Fatalf(format, args...)
	}
}

// sameTxn reports whether two transactions are equal field by field (a fast
// reflect.DeepEqual for the hot loops of the invariant tests).
func sameTxn(x, y *Transaction) bool {
	if x.ID != y.ID || x.AccountID != y.AccountID || x.Amount != y.Amount || x.Currency != y.Currency ||
		!x.DatePosted.Equal(y.DatePosted.Time) || !x.Date.Equal(y.Date.Time) || x.PendingStatus != y.PendingStatus ||
		x.Type != y.Type || x.Subtype != y.Subtype || x.Memo != y.Memo || x.FilteredMemo != y.FilteredMemo ||
		x.DisplayName != y.DisplayName || x.DisplayCity != y.DisplayCity || x.DisplayState != y.DisplayState ||
		x.CheckNumber != y.CheckNumber || x.Sequence != y.Sequence || !x.LastUpdated.Equal(y.LastUpdated.Time) ||
		x.Notes != y.Notes || !slices.Equal(x.Tags, y.Tags) {
		return false
	}
	if (x.RunningBalance == nil) != (y.RunningBalance == nil) || x.RunningBalance != nil && *x.RunningBalance != *y.RunningBalance {
		return false
	}
	if (x.Enrichments == nil) != (y.Enrichments == nil) || x.Enrichments != nil && *x.Enrichments != *y.Enrichments {
		return false
	}
	if (x.Merchant == nil) != (y.Merchant == nil) {
		return false
	}
	if x.Merchant != nil {
		mx, my := *x.Merchant, *y.Merchant
		if (mx.Location == nil) != (my.Location == nil) || mx.Location != nil && *mx.Location != *my.Location {
			return false
		}
		mx.Location, my.Location = nil, nil
		if mx != my {
			return false
		}
	}
	return true
}

// requireSameTxns fails unless the two lists are equal.
func requireSameTxns(t testing.TB, want, got []Transaction, msg string) {
	if len(want) != len(got) {
		t.Helper()
		t.Fatalf("%s: %d transactions, want %d", msg, len(got), len(want))
	}
	for i := range want {
		if !sameTxn(&want[i], &got[i]) {
			t.Helper()
			require.Equal(t, want[i], got[i], "%s: transaction %d", msg, i)
		}
	}
}
