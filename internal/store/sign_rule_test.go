package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

// TestSignRuleAgreesWithTheSchema holds the datastore's generated
// accounts.is_liability, and the reporting views' signed balances built on
// it, to pfm's sign rule for every account type Banno documents (and some
// it does not).
func TestSignRuleAgreesWithTheSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	link := linkFixture(t, s, "u1")
	for _, typ := range []string{"Deposit", "Line of Credit", "Debt", "Investment", "Bill Pay", "Other", "Unknown", "debt", "Credit Card"} {
		acct := accountFixture(t, s, link.ID, "acc-"+typ, typ)
		require.Equal(t, pfm.IsLiability(typ), acct.IsLiability, "accounts.is_liability of %q", typ)
		var signed string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT current_balance_signed::text FROM reporting.accounts WHERE account_id = $1`, acct.ID).Scan(&signed))
		want := "100.00"
		if pfm.UserSign(typ) < 0 {
			want = "-100.00"
		}
		require.Equal(t, want, signed, "reporting.accounts.current_balance_signed of %q", typ)
	}
}
