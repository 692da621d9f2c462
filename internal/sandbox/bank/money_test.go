package bank

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMoneyString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{0, "0.00"},
		{123400, "12.34"},
		{-500, "-0.05"},
		{12345, "1.2345"},
		{420, "0.042"},
		{-420, "-0.042"},
		{1, "0.0001"},
		{-1, "-0.0001"},
		{10, "0.001"},
		{100, "0.01"},
		{10000, "1.00"},
		{-10000, "-1.00"},
		{12300, "1.23"},
		{12340, "1.234"},
		{1234567890000, "123456789.00"},
		{math.MaxInt64, "922337203685477.5807"},
		{math.MinInt64, "-922337203685477.5808"},
	} {
		require.Equal(t, tc.want, tc.m.String(), "Money(%d)", int64(tc.m))
		js, err := json.Marshal(tc.m)
		require.NoError(t, err)
		require.Equal(t, `"`+tc.want+`"`, string(js))
		if tc.m != math.MinInt64 && tc.m != math.MaxInt64 {
			back, err := ParseMoney(tc.want)
			require.NoError(t, err)
			require.Equal(t, tc.m, back)
			var u Money
			require.NoError(t, json.Unmarshal(js, &u))
			require.Equal(t, tc.m, u)
		}
	}
}

func TestParseMoneyRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", ".", "1.23456", "abc", "1,00", "--1", "1.2.3", "1e5"} {
		_, err := ParseMoney(s)
		require.ErrorIs(t, err, ErrInvalidMoney, "%q", s)
	}
}

func TestOptionalMoneyOmitted(t *testing.T) {
	t.Parallel()
	js, err := json.Marshal(Account{})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(js, &m))
	for _, k := range []string{"availableBalance", "creditLimit", "availableCredit", "paymentDueAmount", "paymentDueDate", "interestRate"} {
		require.NotContains(t, m, k)
	}
	require.Equal(t, "0.00", m["balance"])
}
