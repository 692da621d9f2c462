package consumerapi

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestIDListYieldsItsIDsInChunks(t *testing.T) {
	var none *IDList
	require.Zero(t, none.Len())
	require.Nil(t, none.Strings())
	for range none.Chunks(3) {
		t.Fatal("a nil list has no chunk")
	}
	require.Equal(t, []string{}, (&IDList{}).Strings())

	ids := []string{"a", "", "tx-1", "a", "café", "\U0001F600", "tx-2"}
	var l IDList
	for _, id := range ids {
		require.True(t, l.appendID([]byte(id)))
	}
	require.Equal(t, len(ids), l.Len(), "duplicates and empty ids are kept")
	require.Equal(t, ids, l.Strings())
	for i, id := range ids {
		require.Equal(t, id, l.At(i))
	}
	for _, n := range []int{-1, 0, 1, 2, 3, 7, 100} {
		var chunks [][]string
		for c := range l.Chunks(n) {
			chunks = append(chunks, c)
		}
		size := max(n, 1)
		require.Len(t, chunks, (len(ids)+size-1)/size, "chunks of %d", n)
		for i, c := range chunks {
			require.Equal(t, ids[i*size:min((i+1)*size, len(ids))], c, "chunk %d of %d", i, n)
		}
	}
	// A caller may stop early.
	n := 0
	for range l.Chunks(2) {
		n++
		break
	}
	require.Equal(t, 1, n)
}

// TestIDListHoldsUUIDsIn16Bytes appends canonical UUIDs, which take 16
// bytes each, then ids that are not (upper case, braces, one digit short,
// a hyphen moved, not an id at all): from the first such id the list
// keeps every id's text, and every id reads back as it was appended.
func TestIDListHoldsUUIDsIn16Bytes(t *testing.T) {
	uuids := []string{
		"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
		"0b6e0cba-5a34-4d3a-8d6f-2a1b7c9e4f01", "0b6e0cba-5a34-4d3a-8d6f-2a1b7c9e4f01",
	}
	var l IDList
	for _, id := range uuids {
		require.True(t, l.appendID([]byte(id)))
	}
	require.Len(t, l.uuids, 16*len(uuids), "16 bytes an id")
	require.Empty(t, l.data)
	require.Equal(t, uuids, l.Strings())

	for _, other := range []string{
		"0B6E0CBA-5A34-4D3A-8D6F-2A1B7C9E4F01", "{0b6e0cba-5a34-4d3a-8d6f-2a1b7c9e4f0}", "0b6e0cba-5a34-4d3a-8d6f-2a1b7c9e4f0",
		"0b6e0cba5-a34-4d3a-8d6f-2a1b7c9e4f01", "0b6e0cba-5a34-4d3a-8d6f-2a1b7c9e4f0g", "tx-1",
	} {
		var m IDList
		ids := append(slices.Clone(uuids), other, uuids[2])
		for _, id := range ids {
			require.True(t, m.appendID([]byte(id)))
		}
		require.Nil(t, m.uuids, other)
		require.Equal(t, ids, m.Strings(), other)
		var chunks []string
		for c := range m.Chunks(4) {
			chunks = append(chunks, c...)
		}
		require.Equal(t, ids, chunks, other)
	}
}

// TestFilteredBodyKeepsEveryByteAcrossBlocks streams a body several
// kept blocks long in pieces of various sizes: what is kept is the body
// with the list replaced by null, byte for byte, in one slice of its
// exact size.
func TestFilteredBodyKeepsEveryByteAcrossBlocks(t *testing.T) {
	var txs []string
	for i := range 3000 {
		txs = append(txs, fmt.Sprintf(`{"id":"tx-%05d","amount":"-%d.25","memo":"%s"}`, i, i, strings.Repeat("m", i%97)))
	}
	head := `{"transactions":[` + strings.Join(txs, ",") + `],"inactivatedTransactionIds":`
	body := []byte(head + `["a","b"],"offset":0}`)
	want := head + `null,"offset":0}`
	require.Greater(t, len(want), 3*keptBlockSize)
	for _, size := range []int{1, 1000, keptBlockSize - 1, keptBlockSize, 1 << 20} {
		resp := &http.Response{Body: io.NopCloser(iotest.HalfReader(&chunkReader{b: body, size: size})), ContentLength: int64(len(body))}
		kept, err := readFilteredBody(resp, 1<<30, newListDiverterNewChunks(NewListChunks()))
		require.NoError(t, err)
		require.Equal(t, want, string(kept), "pieces of %d", size)
		require.Equal(t, len(kept), cap(kept), "pieces of %d", size)
	}
}

// Strings returns every id as a string, in list order: empty, not nil,
// for an empty list, and nil for a nil list. Tests only: the sync never
// makes a whole list strings.
func (l *IDList) Strings() []string {
	if l == nil {
		return nil
	}
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}
