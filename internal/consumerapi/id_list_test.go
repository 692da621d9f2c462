package consumerapi

import (
	"encoding/json"
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

	// The set takes the list's ids as it takes their strings.
	s := NewIDSet()
	s.AddList(&l)
	s.AddList(nil)
	require.Equal(t, 6, s.Len())
	require.Equal(t, 12*s.Len(), 8*cap(s.hiSums)+4*cap(s.loSums), "12 bytes an id")
	for _, id := range ids {
		require.True(t, s.Contains(id), id)
	}
	require.False(t, s.Contains("tx-3"))
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
	s := NewIDSet()
	s.AddList(&l)
	require.Equal(t, 3, s.Len())
	for _, id := range uuids {
		require.True(t, s.Contains(id), id)
	}

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

// TestKnownSetReadKeepsNewIDsCompactly reads a page whose list is partly
// known: only the new ids are kept, in list order with duplicates, as one
// buffer, and a repeated read of the same list after adding them keeps
// none.
func TestKnownSetReadKeepsNewIDsCompactly(t *testing.T) {
	ids := make([]string, 0, 2600)
	for i := range 2500 {
		ids = append(ids, fmt.Sprintf("0b9d2c8e-%04x-4d2a-9c1e-%012x", i%65536, i))
	}
	ids = append(ids, ids[10], ids[2000], "esc\"aped")
	list, err := json.Marshal(ids)
	require.NoError(t, err)
	body := append(append([]byte(`{"transactions":[],"inactivatedTransactionIds":`), list...), '}')

	known := NewIDSet()
	known.Add(ids[:1000])
	want := slices.Concat(ids[1000:2500], []string{ids[2000], "esc\"aped"})
	for _, size := range []int{1, 5, 4096, 1 << 20} {
		page, err := streamDecodeWith(body, size, newListDiverterExcept(known))
		require.NoError(t, err)
		require.Nil(t, page.InactivatedTransactionIDs)
		require.Equal(t, want, page.InactivatedNew.Strings(), "chunks of %d", size)
		var chunked []string
		for c := range page.InactivatedNew.Chunks(removalChunkForTest) {
			require.LessOrEqual(t, len(c), removalChunkForTest)
			chunked = append(chunked, c...)
		}
		require.Equal(t, want, chunked)
	}

	// New ids cost their bytes, not a string each.
	allocs := testing.AllocsPerRun(5, func() { newListDiverterExcept(nil).filter(make([]byte, 0, 64), body) })
	require.Less(t, allocs, 100.0, "%d new ids must not cost a string each", len(ids))

	page, err := streamDecodeWith(body, 4096, newListDiverterExcept(known))
	require.NoError(t, err)
	known.AddList(page.InactivatedNew)
	again, err := streamDecodeWith(body, 4096, newListDiverterExcept(known))
	require.NoError(t, err)
	require.NotNil(t, again.InactivatedNew, "the page had a list")
	require.Zero(t, again.InactivatedNew.Len(), "every id is known now")
}

const removalChunkForTest = 1000

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
		kept, err := readFilteredBody(resp, 1<<30, newListDiverterExcept(nil))
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
