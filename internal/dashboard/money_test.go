package dashboard

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0":              "$0.00",
		"-0.004":         "$0.00",
		"5":              "$5.00",
		"999.995":        "$1,000.00",
		"1234.5":         "$1,234.50",
		"-1234.56":       "-$1,234.56",
		"1234567.891":    "$1,234,567.89",
		"-100000":        "-$100,000.00",
		"13665.8654":     "$13,665.87",
		"-0.005":         "-$0.01",
		"123456789012.3": "$123,456,789,012.30",
	} {
		require.Equal(t, want, formatMoney(decimal.RequireFromString(in), "USD"), in)
	}
	require.Equal(t, "EUR 1,000.00", formatMoney(decimal.RequireFromString("1000"), "EUR"))
}

func TestCompactMoney(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "$0", 950: "$950", 12000: "$12k", 12500: "$12.5k", -1500000: "-$1.5M", -250: "-$250"} {
		require.Equal(t, want, compactMoney(v, "USD"), v)
	}
}
