package jobs

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
)

// TestErrorClassOfEveryKind holds the client-kind → domain-class mapping
// total: a kind added to consumerapi without a class here fails.
func TestErrorClassOfEveryKind(t *testing.T) {
	t.Parallel()
	var kinds []consumerapi.ErrorKind
	for k := consumerapi.KindUnknown; !strings.HasPrefix(k.String(), "ErrorKind("); k++ {
		kinds = append(kinds, k)
	}
	require.Len(t, errorClassOfKind, len(kinds), "one entry per kind, no stale entries")
	for _, k := range kinds {
		class, ok := errorClassOfKind[k]
		require.True(t, ok, "kind %s has no error class", k)
		require.Contains(t, pfm.ErrorClasses(), class)
		err := fmt.Errorf("sync: %w", &consumerapi.APIError{Kind: k, Endpoint: "GET /users/{userId}/accounts"})
		require.Equal(t, class, ErrorClassOf(err), "kind %s through wrapping", k)
		if k != consumerapi.KindUnknown {
			require.Equal(t, k.String(), string(class), "the client's name and the class agree")
		}
	}
	require.Equal(t, pfm.ClassInternal, ErrorClassOf(fmt.Errorf("boom")))
	require.Equal(t, pfm.ClassRateLimited, ErrorClassOf(consumerapi.ErrRequestBudget))
}

func TestTransactionInputSignRule(t *testing.T) {
	t.Parallel()
	raw := []byte(`{}`)
	for _, tt := range []struct {
		accountType, amount, signed string
	}{
		{"Deposit", "-18.99", "-18.99"},
		{"Deposit", "2500.00", "2500.00"},
		{"Line of Credit", "64.2500", "-64.2500"}, // a purchase: money out
		{"Line of Credit", "-500.00", "500.00"},   // a payment: money in
		{"Debt", "120.00", "-120.00"},
		{"Investment", "10.5", "10.5"},
		{"Something New", "1.00", "1.00"},
	} {
		tx := consumerapi.Transaction{ID: "tx-1", Amount: consumerapi.MustParseDecimal(tt.amount), Raw: raw}
		require.NoError(t, tx.DatePosted.UnmarshalJSON([]byte(`"2026-11-20T10:00:00Z"`)))
		in, err := transactionInput(tx, tt.accountType)
		require.NoError(t, err)
		require.Equal(t, tt.amount, in.Amount, tt.accountType)
		require.Equal(t, tt.signed, in.SignedAmount, "%s %s", tt.accountType, tt.amount)
	}
}
