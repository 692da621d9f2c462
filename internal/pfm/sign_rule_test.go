package pfm_test

import (
	"testing"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

func TestSignRule(t *testing.T) {
	t.Parallel()
	for accountType, liability := range map[string]bool{
		"Debt": true, "Line of Credit": true,
		"Deposit": false, "Investment": false, "Bill Pay": false, "Other": false, "Unknown": false,
		"": false, "debt": false, "Credit Card": false,
	} {
		if got := pfm.IsLiability(accountType); got != liability {
			t.Errorf("IsLiability(%q) = %v, want %v", accountType, got, liability)
		}
		want := 1
		if liability {
			want = -1
		}
		if got := pfm.UserSign(accountType); got != want {
			t.Errorf("UserSign(%q) = %d, want %d", accountType, got, want)
		}
	}
}
