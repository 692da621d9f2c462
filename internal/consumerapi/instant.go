package consumerapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidTime is returned (wrapped) when an instant or a date cannot be
// parsed.
var ErrInvalidTime = errors.New("invalid time")

// maxTimeLen bounds the length of a time string accepted by the parsers.
const maxTimeLen = 64

// instantLayouts are tried in order by ParseInstant. Go's parser accepts an
// optional fractional second wherever the layout has ".999999999" after the
// seconds, so each layout covers both the with- and without-milliseconds
// forms.
var instantLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00", // 2017-07-23T12:30:12.123Z, ...+02:00
	"2006-01-02T15:04:05.999999999Z0700",  // ...+0200
	"2006-01-02T15:04:05.999999999Z07",    // ...+02
	"2006-01-02T15:04:05.999999999",       // no zone: UTC
	"2006-01-02T15:04Z07:00",              // no seconds
	"2006-01-02T15:04",                    // no seconds, no zone: UTC
}

// Instant is a point in time as Banno sends it: ISO-8601 / RFC 3339, usually
// UTC with milliseconds ("2017-07-23T12:30:12.123Z"), but also without
// fractional seconds, with a numeric offset ("+02:00", "+0200", "+02"), or
// without any zone (read as UTC). A bare date ("2022-06-30") in an instant
// field is read as midnight UTC.
//
// The zero Instant means the field was missing, null or "".
type Instant struct {
	time.Time
}

// ParseInstant parses s in any form [Instant] accepts. The empty string
// yields the zero time and no error.
func ParseInstant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) > maxTimeLen {
		return time.Time{}, fmt.Errorf("%w: instant longer than %d characters", ErrInvalidTime, maxTimeLen)
	}
	if len(s) == len("2006-01-02") {
		d, err := ParseDate(s)
		if err != nil {
			return time.Time{}, err
		}
		return d.Time(time.UTC), nil
	}
	// A lower-case 't' or 'z' is allowed by RFC 3339.
	if strings.ContainsAny(s, "tz") {
		s = strings.ToUpper(s)
	}
	for _, layout := range instantLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: instant %q", ErrInvalidTime, s)
}

// MarshalJSON encodes the instant in RFC 3339 with as many fractional digits
// as needed, keeping its offset; the zero Instant encodes as null.
func (i Instant) MarshalJSON() ([]byte, error) {
	if i.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(time.RFC3339Nano)+2)
	b = append(b, '"')
	b = i.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts every form [ParseInstant] does, null and "".
func (i *Instant) UnmarshalJSON(b []byte) error {
	s, null, err := jsonStringOrNull(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTime, err)
	}
	if null {
		*i = Instant{}
		return nil
	}
	t, err := ParseInstant(s)
	if err != nil {
		return err
	}
	i.Time = t
	return nil
}

// Date is a calendar date without a time zone, sent by Banno as yyyy-MM-dd
// (for example an account's paymentDueDate). The zero Date means absent.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses yyyy-MM-dd. For tolerance, a full instant is accepted too
// and its calendar date (in its own offset) is kept. The empty string yields
// the zero Date and no error.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	if len(s) > maxTimeLen {
		return Date{}, fmt.Errorf("%w: date longer than %d characters", ErrInvalidTime, maxTimeLen)
	}
	if len(s) == len("2006-01-02") {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Date{}, fmt.Errorf("%w: date %q", ErrInvalidTime, s)
		}
		return DateOf(t), nil
	}
	t, err := ParseInstant(s)
	if err != nil {
		return Date{}, fmt.Errorf("%w: date %q", ErrInvalidTime, s)
	}
	return DateOf(t), nil
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// IsZero reports whether the date is absent.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight of the date in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats the date as yyyy-MM-dd, or "" when absent.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Time(time.UTC).Format(time.DateOnly)
}

// MarshalJSON encodes yyyy-MM-dd, or null when absent.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return fmt.Appendf(nil, "%q", d.String()), nil
}

// UnmarshalJSON accepts yyyy-MM-dd, an instant, null and "".
func (d *Date) UnmarshalJSON(b []byte) error {
	s, null, err := jsonStringOrNull(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTime, err)
	}
	if null {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// jsonStringOrNull decodes a JSON string or null without reflection for the
// common unescaped case.
func jsonStringOrNull(b []byte) (s string, null bool, err error) {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return "", true, nil
	case len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 && bytes.IndexByte(b[1:len(b)-1], '"') < 0:
		return string(b[1 : len(b)-1]), false, nil
	case len(b) > 0 && b[0] == '"':
		err := json.Unmarshal(b, &s)
		return s, false, err
	default:
		return "", false, fmt.Errorf("expected a string, got %s", truncateForError(b))
	}
}
