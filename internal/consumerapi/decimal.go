package consumerapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// maxDecimalLen bounds the length of a decimal string. Real amounts are a few
// dozen characters at most; the bound keeps a hostile body from making the
// parser allocate huge numbers.
const maxDecimalLen = 64

// ErrInvalidDecimal is returned (wrapped) when a decimal string does not
// follow the grammar Banno uses for amounts.
var ErrInvalidDecimal = errors.New("invalid decimal")

// Decimal is an exact decimal number as Banno sends money, balances and rates:
// a decimal string such as "-12.345" (some cores send sub-cent digits, which
// are kept). It is never converted through float64.
//
// The zero Decimal is "absent": the field was missing, null or an empty
// string. [Decimal.Valid] tells absent from zero.
//
// Sign conventions are those of the field that holds the value: see
// [Transaction.Amount] and [Account.Balance].
type Decimal struct {
	value decimal.Decimal
	text  string
	valid bool
}

// NewDecimal wraps a shopspring decimal.
func NewDecimal(d decimal.Decimal) Decimal {
	return Decimal{value: d, text: canonicalText(d), valid: true}
}

// MustParseDecimal is like [ParseDecimal] but panics on error. It is meant
// for constants in tests and examples.
func MustParseDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseDecimal parses a decimal string: an optional sign, at least one digit,
// and optionally a point followed by at least one digit. Surrounding spaces
// are ignored. Exponents, thousands separators, "NaN" and "Inf" are rejected.
// The empty string yields an absent Decimal and no error.
func ParseDecimal(s string) (Decimal, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Decimal{}, nil
	}
	if len(s) > maxDecimalLen {
		return Decimal{}, fmt.Errorf("%w: longer than %d characters", ErrInvalidDecimal, maxDecimalLen)
	}
	if !validDecimalSyntax(s) {
		return Decimal{}, fmt.Errorf("%w: %q", ErrInvalidDecimal, s)
	}
	v, err := decimal.NewFromString(s)
	if err != nil {
		return Decimal{}, fmt.Errorf("%w: %q: %w", ErrInvalidDecimal, s, err)
	}
	text := s
	if !isCanonical(s, v) {
		text = canonicalText(v)
	}
	return Decimal{value: v, text: text, valid: true}, nil
}

// isCanonical reports whether s (already known to be valid syntax) is the
// text canonicalText would produce for v: no plus sign, no superfluous
// leading zero, no negative zero.
func isCanonical(s string, v decimal.Decimal) bool {
	if s[0] == '+' {
		return false
	}
	digits := s
	if s[0] == '-' {
		if v.IsZero() {
			return false
		}
		digits = s[1:]
	}
	return !(len(digits) > 1 && digits[0] == '0' && digits[1] != '.')
}

// validDecimalSyntax checks [+-]?[0-9]+(\.[0-9]+)?
func validDecimalSyntax(s string) bool {
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	start = i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > start && i == len(s)
}

// canonicalText renders d keeping its scale: "1.50" stays "1.50".
func canonicalText(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.String()
}

// Valid reports whether the value was present.
func (d Decimal) Valid() bool { return d.valid }

// Value returns the exact value; zero when absent.
func (d Decimal) Value() decimal.Decimal { return d.value }

// String returns the exact decimal text with the scale it was sent with
// ("1.50", "-0.005"), or "" when absent.
func (d Decimal) String() string { return d.text }

// Equal reports whether both are absent or both hold the same number
// ("1.5" equals "1.50").
func (d Decimal) Equal(o Decimal) bool {
	if d.valid != o.valid {
		return false
	}
	return !d.valid || d.value.Equal(o.value)
}

// Neg returns -d; an absent value stays absent.
func (d Decimal) Neg() Decimal {
	if !d.valid {
		return d
	}
	return NewDecimal(d.value.Neg())
}

// MarshalJSON encodes the value as a decimal string, or null when absent.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if !d.valid {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(d.text)+2)
	b = append(b, '"')
	b = append(b, d.text...)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a decimal string, a JSON number (read from its exact
// text, never through float64), null or "".
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("%w: empty JSON value", ErrInvalidDecimal)
	}
	switch b[0] {
	case 'n':
		if string(b) != "null" {
			return fmt.Errorf("%w: %s", ErrInvalidDecimal, truncateForError(b))
		}
		*d = Decimal{}
		return nil
	case '"':
		var s string
		if len(b) >= 2 && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
			s = string(b[1 : len(b)-1])
		} else if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidDecimal, err)
		}
		v, err := ParseDecimal(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	default:
		v, err := ParseDecimal(string(b))
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
}

// truncateForError keeps error messages short when echoing input.
func truncateForError(b []byte) string {
	const n = 32
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
