package store

import (
	"slices"

	"github.com/jackc/pgx/v5/pgtype"
)

// pageRecords are the raw JSON records of the transactions one upsert
// writes, sent as one jsonb parameter: a JSON array of the records in row
// order. Each record must be one JSON value. One that held two would
// shift the array's elements, and is refused: the extra element's row has
// no provider id (NOT NULL). One without JSON leaves the array malformed
// or short (a row without raw JSON), and is refused too.
//
// The array is written straight into the statement's parameter buffer
// (recordsCodec), grown once to its final size: built as a slice of its
// own first, a page's records were copied twice before pgx sent them,
// and the buffer grew by doubling to hold the copy.
type pageRecords []TransactionInput

// size is the length of the array's JSON text.
func (r pageRecords) size() int {
	n := 2 + max(len(r)-1, 0)
	for _, t := range r {
		n += len(t.Raw)
	}
	return n
}

// appendJSON appends the array's JSON text to buf.
func (r pageRecords) appendJSON(buf []byte) []byte {
	buf = append(buf, '[')
	for i, t := range r {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, t.Raw...)
	}
	return append(buf, ']')
}

// recordsCodec is the jsonb codec of a connection that writes pages: the
// connection's own jsonb codec, plus an encoding of pageRecords.
type recordsCodec struct{ pgtype.Codec }

// PlanEncode plans pageRecords itself and hands every other value to the
// connection's jsonb codec.
func (c recordsCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(pageRecords); ok {
		return recordsEncodePlan{binary: format == pgtype.BinaryFormatCode}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

// recordsEncodePlan encodes pageRecords as jsonb in the text format or in
// the binary one (a version byte, 1, then the text).
type recordsEncodePlan struct{ binary bool }

func (p recordsEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	r := value.(pageRecords)
	n := r.size()
	if p.binary {
		n++
	}
	buf = slices.Grow(buf, n)
	if p.binary {
		buf = append(buf, 1)
	}
	return r.appendJSON(buf), nil
}

// useRecordsCodec makes the jsonb codec of a connection's type map m
// recordsCodec, once per connection: the change lasts as long as the
// connection and leaves every other jsonb value encoded and decoded as
// before.
func useRecordsCodec(m *pgtype.Map) {
	t, ok := m.TypeForOID(pgtype.JSONBOID)
	if !ok {
		return
	}
	if _, ok := t.Codec.(recordsCodec); ok {
		return
	}
	m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: recordsCodec{t.Codec}})
}
