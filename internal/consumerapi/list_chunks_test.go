package consumerapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireKeepsEveryNewID checks what a read with known chunks kept of
// list: a subsequence of it (in order, duplicates as listed), holding
// every occurrence of an id that prev (the ids read before) does not
// hold. A chunk around a new id may bring known ids with it; a new id is
// never left out.
func requireKeepsEveryNewID(t *testing.T, list, kept, prev []string, msg string) {
	t.Helper()
	old := map[string]bool{}
	for _, id := range prev {
		old[id] = true
	}
	j := 0
	for _, id := range list {
		switch {
		case j < len(kept) && kept[j] == id:
			j++
		case !old[id]:
			t.Fatalf("%s: new id %q left out (kept %q)", msg, id, kept)
		}
	}
	if j != len(kept) {
		t.Fatalf("%s: kept %q is not a part of the list %q", msg, kept, list)
	}
}

// chunksRead reads body's list with a fresh ListChunks and marks what it
// read known: the set a reader has after a page of that list.
func chunksRead(t *testing.T, body []byte) *ListChunks {
	t.Helper()
	c := NewListChunks()
	page, err := streamDecodeWith(body, 4096, newListDiverterNewChunks(c))
	require.NoError(t, err)
	c.Add(page.InactivatedChunks)
	return c
}

// requireNewChunksSameAsWholeBody checks that streaming body with the
// chunks of a list prev read before gives what decoding it whole gives,
// but for the list: the same error class, or the same page whose kept ids
// hold every id prev does not (requireKeepsEveryNewID); read again once
// its chunks are known, it keeps none.
func requireNewChunksSameAsWholeBody(t *testing.T, body []byte, prev []string) {
	t.Helper()
	want, wantErr := decodeTransactionPage(body)
	if wantErr != nil {
		wantErr = decodeError(wantErr)
	}
	known := func() *ListChunks {
		if prev == nil {
			return NewListChunks()
		}
		list, err := json.Marshal(prev)
		require.NoError(t, err)
		return chunksRead(t, append(append([]byte(`{"inactivatedTransactionIds":`), list...), '}'))
	}
	for _, size := range []int{1, 2, 3, 7, 64, 1 << 20} {
		chunks := known()
		got, err := streamDecodeWith(body, size, newListDiverterNewChunks(chunks))
		if wantErr != nil {
			requireSameRefusal(t, size, body, err, wantErr, newListDiverterNewChunks(known()))
			continue
		}
		if err != nil {
			t.Fatalf("pieces of %d: %s: %v", size, body, err)
		}
		if got.InactivatedTransactionIDs != nil || got.InactivatedRepeated || got.InactivatedDigest != ([32]byte{}) {
			t.Fatalf("pieces of %d: %s: a chunked read has neither ids nor digest", size, body)
		}
		if len(got.Transactions) != len(want.Transactions) || got.Offset != want.Offset || got.Limit != want.Limit {
			t.Fatalf("pieces of %d: %s: page differs", size, body)
		}
		if want.InactivatedTransactionIDs == nil {
			if got.InactivatedNew != nil || got.InactivatedChunks != nil {
				t.Fatalf("pieces of %d: %s: no list, yet ids kept", size, body)
			}
			continue
		}
		requireKeepsEveryNewID(t, want.InactivatedTransactionIDs, got.InactivatedNew.Strings(), prev, fmt.Sprintf("pieces of %d: %s", size, body))
		chunks.Add(got.InactivatedChunks)
		again, err := streamDecodeWith(body, size, newListDiverterNewChunks(chunks))
		require.NoError(t, err)
		if again.InactivatedNew.Len() != 0 || len(again.InactivatedChunks) != 0 {
			t.Fatalf("pieces of %d: %s: read again, kept %q", size, body, again.InactivatedNew.Strings())
		}
	}
}

func TestStreamedListNewChunksMatchesWholeBodyDecode(t *testing.T) {
	prevs := [][]string{nil, {}, {"x"}, {"x", "y", "top", "w", "z"}, {"y\"z", "\U0001F600", "café", "bad\ufffd", ""}}
	for _, body := range listBodies {
		for _, prev := range prevs {
			requireNewChunksSameAsWholeBody(t, []byte(body), prev)
		}
	}
}

// TestKnownChunksKeepOnlyNewIDs reads a long list whose first part is
// known: the new ids are kept in list order with duplicates, as one
// buffer, with at most a chunk of known ids around each change; the same
// list read again once its chunks are known keeps none and costs no
// string per id; an id changed in the middle of the list brings back
// only the chunks around it.
func TestKnownChunksKeepOnlyNewIDs(t *testing.T) {
	ids := make([]string, 0, 5003)
	for i := range 5000 {
		ids = append(ids, fmt.Sprintf("0b9d2c8e-%04x-4d2a-9c1e-%012x", i%65536, i))
	}
	ids = append(ids, ids[10], ids[2000], "esc\"aped")
	body := func(list []string) []byte {
		raw, err := json.Marshal(list)
		require.NoError(t, err)
		return append(append([]byte(`{"transactions":[],"inactivatedTransactionIds":`), raw...), '}')
	}
	prev := ids[:1000]
	for _, size := range []int{1, 5, 4096, 1 << 20} {
		known := chunksRead(t, body(prev))
		page, err := streamDecodeWith(body(ids), size, newListDiverterNewChunks(known))
		require.NoError(t, err)
		kept := page.InactivatedNew.Strings()
		requireKeepsEveryNewID(t, ids, kept, prev, fmt.Sprintf("pieces of %d", size))
		require.LessOrEqual(t, len(kept), len(ids)-1000+maxChunkIDs, "at most one chunk of known ids (where the known list ended)")
		require.NotEmpty(t, page.InactivatedChunks)
	}

	known := NewListChunks()
	first, err := streamDecodeWith(body(ids), 4096, newListDiverterNewChunks(known))
	require.NoError(t, err)
	require.Equal(t, ids, first.InactivatedNew.Strings(), "nothing known: every id")
	chunks := len(first.InactivatedChunks)
	require.InDelta(t, len(ids)>>chunkCutBits, chunks, float64(len(ids)>>chunkCutBits)/2, "chunks of about 2^%d ids", chunkCutBits)
	known.Add(first.InactivatedChunks)
	require.Equal(t, chunks, known.Len())

	// The same list again: nothing kept, the body holds null in its place.
	d := newListDiverterNewChunks(known)
	keptBody := d.filter(nil, body(ids))
	require.Equal(t, `{"transactions":[],"inactivatedTransactionIds":null}`, string(keptBody))
	again := &TransactionPage{}
	require.NoError(t, d.apply(again))
	require.Equal(t, []string{}, again.InactivatedNew.Strings())
	b := body(ids)
	allocs := testing.AllocsPerRun(5, func() { newListDiverterNewChunks(known).filter(make([]byte, 0, 64), b) })
	require.Less(t, allocs, 40.0, "a known list must cost no string per id")

	// One id in the middle changed, one added near the end: only the
	// chunks around them come back, and both new ids with them.
	changed := slices.Clone(ids)
	changed[2500] = "0b9d2c8e-ffff-4d2a-9c1e-000000000001"
	changed = slices.Insert(changed, 4000, "0b9d2c8e-ffff-4d2a-9c1e-000000000002")
	third, err := streamDecodeWith(body(changed), 4096, newListDiverterNewChunks(known))
	require.NoError(t, err)
	kept := third.InactivatedNew.Strings()
	requireKeepsEveryNewID(t, changed, kept, ids, "changed list")
	require.LessOrEqual(t, len(kept), 4*maxChunkIDs)
	require.Less(t, len(kept), len(ids)/4, "only the chunks around the changes: %d ids", len(kept))
	require.Contains(t, kept, changed[2500])
	require.Contains(t, kept, changed[4000])
	for c := range third.InactivatedNew.Chunks(1000) {
		require.LessOrEqual(t, len(c), 1000)
	}
}

// TestListChunksAreBounded: a list none of whose ids ends a chunk by its
// hash is still cut every maxChunkIDs ids.
func TestListChunksAreBounded(t *testing.T) {
	c := NewListChunks()
	r := newListChunker(c)
	var ids []string
	for i := 0; len(ids) < 3*maxChunkIDs; i++ {
		id := fmt.Sprintf("id-%d", i)
		if c.cuts([]byte(id)) {
			continue
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		require.True(t, r.add([]byte(id)))
	}
	require.True(t, r.end())
	require.Len(t, r.chunks, 3)
	require.Equal(t, ids, r.fresh.Strings())
	require.Equal(t, strings.Join(ids, ","), strings.Join(r.fresh.Strings(), ","))
}
