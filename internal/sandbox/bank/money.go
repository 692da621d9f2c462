package bank

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an exact amount in ten-thousandths of a currency unit: 12.34 is
// Money(123400). Cores may return sub-cent digits, so four decimals are kept.
type Money int64

// Common Money units.
const (
	Cent   Money = 100
	Dollar Money = 10000
)

// String formats m as a decimal with at least two and at most four decimals,
// trimming zeros beyond the second: "12.34", "-0.05", "0.00", "1.2345", "0.042".
func (m Money) String() string {
	var buf [24]byte
	return string(m.appendTo(buf[:0]))
}

func (m Money) appendTo(b []byte) []byte {
	u := uint64(m)
	if m < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/10000, 10)
	frac := u % 10000
	digits := [4]byte{
		byte('0' + frac/1000),
		byte('0' + frac/100%10),
		byte('0' + frac/10%10),
		byte('0' + frac%10),
	}
	n := 4
	for n > 2 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// AppendJSON appends m as a JSON string holding [Money.String].
func (m Money) AppendJSON(b []byte) []byte {
	b = append(b, '"')
	b = m.appendTo(b)
	return append(b, '"')
}

// MarshalJSON encodes m as a JSON string holding [Money.String].
func (m Money) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(make([]byte, 0, 24)), nil
}

// UnmarshalJSON accepts a JSON string or number holding a decimal amount.
func (m *Money) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		return nil
	}
	s = strings.Trim(s, `"`)
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ErrInvalidMoney is returned by [ParseMoney] for text that is not a decimal
// amount with at most four decimals.
var ErrInvalidMoney = errors.New("invalid money amount")

// ParseMoney parses a decimal amount such as "12.34", "-0.05" or "1.2345".
func ParseMoney(s string) (Money, error) {
	orig := s
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 4 || len(whole) > 14 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidMoney, orig)
	}
	var v int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrInvalidMoney, orig)
		}
		v = v*10 + int64(c-'0')
	}
	for i := 0; i < 4; i++ {
		v *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w: %q", ErrInvalidMoney, orig)
			}
			v += int64(c - '0')
		}
	}
	if neg {
		v = -v
	}
	return Money(v), nil
}

// moneyPtr returns a pointer to a copy of m, for optional JSON fields.
func moneyPtr(m Money) *Money { return &m }
