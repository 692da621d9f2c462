package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// TestPageRecordsAreOneJSONArray encodes a page's records through the
// codec UseRecordsCodec installs, in both of jsonb's formats, and checks
// that every other jsonb value still goes through the codec it replaced.
func TestPageRecordsAreOneJSONArray(t *testing.T) {
	m := pgtype.NewMap()
	store.UseRecordsCodec(m)
	store.UseRecordsCodec(m) // once per connection: not wrapped twice
	typ, ok := m.TypeForOID(pgtype.JSONBOID)
	require.True(t, ok)
	is, nested := store.IsRecordsCodec(typ.Codec)
	require.True(t, is)
	require.False(t, nested)

	records := store.PageRecords{{Raw: []byte(`{"id":"a","amount":"1.00"}`)}, {Raw: []byte(` {"id":"b"} `)}}
	text, err := m.Encode(pgtype.JSONBOID, pgtype.TextFormatCode, records, []byte("kept"))
	require.NoError(t, err)
	require.Equal(t, `kept[{"id":"a","amount":"1.00"}, {"id":"b"} ]`, string(text), "appended to what the buffer held")
	binary, err := m.Encode(pgtype.JSONBOID, pgtype.BinaryFormatCode, records, nil)
	require.NoError(t, err)
	require.Equal(t, append([]byte{1}, text[len("kept"):]...), binary, "jsonb's binary format: version 1, then the text")
	empty, err := m.Encode(pgtype.JSONBOID, pgtype.TextFormatCode, store.PageRecords{}, nil)
	require.NoError(t, err)
	require.Equal(t, `[]`, string(empty))

	// Any other value is the replaced codec's.
	other, err := m.Encode(pgtype.JSONBOID, pgtype.TextFormatCode, map[string]int{"n": 1}, nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(other))
	var back map[string]int
	require.NoError(t, m.Scan(pgtype.JSONBOID, pgtype.BinaryFormatCode, []byte("\x01{\"n\": 2}"), &back))
	require.Equal(t, map[string]int{"n": 2}, back)
}

// TestUpsertParametersEncodeInTheirPreferredFormat prepares the upsert
// against PostgreSQL and encodes each of its parameters the way pgx
// chooses a format: every one must encode on the first try. A parameter
// whose preferred format fails is encoded again in the other one by pgx,
// after an error message that prints the whole value (the amounts as
// numeric[] did that on every page).
func TestUpsertParametersEncodeInTheirPreferredFormat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	sd, err := conn.Conn().Prepare(ctx, "", store.UpsertTransactionsSQL)
	require.NoError(t, err)

	running, sequence, updated := "-12.50", int64(3), time.Now()
	in := []store.TransactionInput{
		{ProviderID: "a", Amount: "1.00", SignedAmount: "-1.00", PostedAt: updated, Raw: []byte(`{"id":"a"}`),
			RunningBalance: &running, Sequence: &sequence, ProviderUpdatedAt: &updated},
		{ProviderID: "b", Amount: "2.00", SignedAmount: "2.00", PostedAt: updated, Raw: []byte(`{"id":"b"}`)},
	}
	args := store.UpsertTransactionsArgs(store.FeedScope{AppUserRef: "user", LinkID: "link", AccountID: "account"}, in)
	require.Len(t, args, len(sd.ParamOIDs))
	m := conn.Conn().TypeMap()
	store.UseRecordsCodec(m)
	for i, oid := range sd.ParamOIDs {
		format := m.FormatCodeForOID(oid)
		if _, ok := args[i].(string); ok {
			format = pgtype.TextFormatCode // as pgx sends a Go string
		}
		_, err := m.Encode(oid, format, args[i], nil)
		require.NoError(t, err, "parameter $%d (type oid %d)", i+1, oid)
	}
}
