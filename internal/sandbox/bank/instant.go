package bank

import (
	"fmt"
	"time"
)

// instantLayout is the wire layout of instants: UTC with milliseconds.
const instantLayout = "2006-01-02T15:04:05.000Z"

// dateLayout is the wire layout of calendar dates.
const dateLayout = "2006-01-02"

// Instant is a point in time that marshals as an ISO-8601 UTC instant with
// milliseconds, e.g. "2017-07-23T12:30:12.123Z".
type Instant struct{ time.Time }

// instantFromMillis builds an Instant from Unix milliseconds.
func instantFromMillis(ms int64) Instant { return Instant{time.UnixMilli(ms).UTC()} }

// String formats t in the wire layout.
func (t Instant) String() string {
	var buf [len(instantLayout)]byte
	return string(t.appendText(buf[:0]))
}

// appendText appends t in the wire layout. Years 0 to 9999 (every instant
// the sandbox serves) are formatted digit by digit, as
// [time.Time.AppendFormat] would; other years by AppendFormat itself.
func (t Instant) appendText(b []byte) []byte {
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(b, instantLayout)
	}
	hour, minute, second := u.Clock()
	b = appendPadded(b, year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(month), 2)
	b = append(b, '-')
	b = appendPadded(b, day, 2)
	b = append(b, 'T')
	b = appendPadded(b, hour, 2)
	b = append(b, ':')
	b = appendPadded(b, minute, 2)
	b = append(b, ':')
	b = appendPadded(b, second, 2)
	b = append(b, '.')
	b = appendPadded(b, u.Nanosecond()/int(time.Millisecond), 3)
	return append(b, 'Z')
}

// appendPadded appends v (0 <= v < 10^width) as width decimal digits.
func appendPadded(b []byte, v, width int) []byte {
	n := len(b) + width
	b = append(b, "0000"[:width]...)
	for i := n - 1; i >= n-width; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// AppendJSON appends t as a JSON string in the wire layout.
func (t Instant) AppendJSON(b []byte) []byte {
	b = append(b, '"')
	b = t.appendText(b)
	return append(b, '"')
}

// MarshalJSON encodes t as a JSON string in the wire layout.
func (t Instant) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, len(instantLayout)+2)), nil
}

// UnmarshalJSON accepts any RFC 3339 instant.
func (t *Instant) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(data))
	if err != nil {
		return fmt.Errorf("parse instant: %w", err)
	}
	t.Time = v.UTC()
	return nil
}

// Date is a calendar date that marshals as "yyyy-MM-dd".
type Date struct{ time.Time }

// String formats d as yyyy-MM-dd.
func (d Date) String() string { return d.UTC().Format(dateLayout) }

// MarshalJSON encodes d as a JSON string "yyyy-MM-dd".
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON accepts "yyyy-MM-dd".
func (d *Date) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	v, err := time.Parse(`"`+dateLayout+`"`, string(data))
	if err != nil {
		return fmt.Errorf("parse date: %w", err)
	}
	d.Time = v
	return nil
}

// floorMillis converts t to Unix milliseconds, rounding towards the past.
func floorMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).After(t) {
		ms--
	}
	return ms
}

// ceilMillis converts t to Unix milliseconds, rounding towards the future.
func ceilMillis(t time.Time) int64 {
	ms := floorMillis(t)
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

const (
	msSecond = int64(1000)
	msMinute = 60 * msSecond
	msHour   = 60 * msMinute
	msDay    = 24 * msHour
)

// dayOf returns the UTC day number (days since the Unix epoch) of ms.
func dayOf(ms int64) int64 {
	d := ms / msDay
	if ms < 0 && ms%msDay != 0 {
		d--
	}
	return d
}
