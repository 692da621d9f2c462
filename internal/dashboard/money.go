package dashboard

import (
	"math"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// formatMoney renders an amount to the cent with thousands separators and
// a leading minus for negatives: -$1,234.56. Amounts are rounded half away
// from zero for display only.
func formatMoney(d decimal.Decimal, currency string) string {
	s := d.StringFixed(2)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "0.00" {
		neg = false
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := currencySymbol(currency) + b.String() + "." + frac
	if neg {
		return "-" + out
	}
	return out
}

// currencySymbol is "$" for US dollars, else the ISO code and a space.
func currencySymbol(currency string) string {
	switch currency {
	case "", "USD":
		return "$"
	}
	return currency + " "
}

// compactMoney renders an axis label: $950, $12k, -$1.5M. Exact amounts
// are in the charts' titles and data attributes, never only here.
func compactMoney(v float64, currency string) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	var s string
	switch {
	case v >= 1e6:
		s = strconv.FormatFloat(math.Round(v/1e5)/10, 'f', -1, 64) + "M"
	case v >= 1e3:
		s = strconv.FormatFloat(math.Round(v/1e2)/10, 'f', -1, 64) + "k"
	default:
		s = strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return sign + currencySymbol(currency) + s
}

// exactString renders an amount with every digit it was read with
// (6500.00 stays 6500.00, 13665.8654 keeps its sub-cent digits): the
// value of the charts' data attributes.
func exactString(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}
