package consumerapi

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIDSetHoldsWhatWasAdded(t *testing.T) {
	var none *IDSet
	require.Zero(t, none.Len())
	require.False(t, none.Contains("x"))
	require.False(t, (&IDSet{}).Contains(""))

	s := NewIDSet()
	require.False(t, s.Contains("x"))
	s.Add(nil)
	require.Zero(t, s.Len())
	s.Add([]string{"x", "y", "x", ""})
	require.Equal(t, 3, s.Len(), "duplicates count once")
	for _, id := range []string{"x", "y", ""} {
		require.True(t, s.Contains(id), id)
		require.True(t, s.containsBytes([]byte(id)), id)
	}
	require.False(t, s.Contains("z"))
	require.False(t, s.Contains("X"))

	// Many ids, added in several rounds that overlap: every bucket size
	// of the index is crossed on the way.
	var all []string
	for round := range 6 {
		batch := make([]string, 0, 9000)
		for i := range 9000 {
			batch = append(batch, fmt.Sprintf("tx-%06d", round*7000+i))
		}
		s.Add(batch)
		all = append(all, batch...)
		slices.Sort(all)
		all = slices.Compact(all)
		require.Equal(t, len(all)+3, s.Len())
	}
	for i, id := range all {
		if i%97 == 0 {
			require.True(t, s.Contains(id), id)
		}
	}
	for i := range 20000 {
		require.False(t, s.Contains(fmt.Sprintf("tx-%06d", 100000+i)))
		require.False(t, s.Contains(fmt.Sprintf("other-%d", i)))
	}

	// Another set hashes with other seeds and holds only its own ids.
	other := NewIDSet()
	other.Add([]string{"tx-000001"})
	require.True(t, other.Contains("tx-000001"))
	require.False(t, other.Contains("tx-000002"))
}

// requireExceptSameAsWholeBody checks that streaming body with a known
// set gives what decoding it whole gives, less the known ids: the same
// error class, or the same page whose list keeps only the ids known does
// not hold, in order.
func requireExceptSameAsWholeBody(t *testing.T, body []byte, known *IDSet) {
	t.Helper()
	want, wantErr := decodeTransactionPage(body)
	if wantErr != nil {
		wantErr = decodeError(wantErr)
	}
	for _, size := range []int{1, 2, 3, 7, 64, 1 << 20} {
		got, err := streamDecodeWith(body, size, newListDiverterExcept(known))
		if wantErr != nil {
			requireSameRefusal(t, size, body, err, wantErr, newListDiverterExcept(known))
			continue
		}
		if err != nil {
			t.Fatalf("chunks of %d: %s: %v", size, body, err)
		}
		var wantIDs []string
		if w := want.InactivatedTransactionIDs; w != nil {
			wantIDs = []string{}
			for _, id := range w {
				if !known.Contains(id) {
					wantIDs = append(wantIDs, id)
				}
			}
		}
		gotIDs := got.InactivatedNew.Strings()
		if fmt.Sprintf("%q", gotIDs) != fmt.Sprintf("%q", wantIDs) || (gotIDs == nil) != (wantIDs == nil) ||
			got.InactivatedTransactionIDs != nil {
			t.Fatalf("chunks of %d: %s: ids %q (and %q), want %q", size, body, gotIDs, got.InactivatedTransactionIDs, wantIDs)
		}
		if got.InactivatedRepeated || got.InactivatedDigest != ([32]byte{}) {
			t.Fatalf("chunks of %d: %s: a known-set read has no digest", size, body)
		}
		if len(got.Transactions) != len(want.Transactions) || got.Offset != want.Offset || got.Limit != want.Limit {
			t.Fatalf("chunks of %d: %s: page differs", size, body)
		}
	}
}

func TestStreamedListExceptKnownMatchesWholeBodyDecode(t *testing.T) {
	sets := []*IDSet{nil, NewIDSet()}
	for _, ids := range [][]string{{"x"}, {"x", "y", "top", "w", "z"}, {"y\"z", "\U0001F600", "café", "bad\ufffd", ""}} {
		s := NewIDSet()
		s.Add(ids)
		sets = append(sets, s)
	}
	for _, body := range listBodies {
		for _, known := range sets {
			requireExceptSameAsWholeBody(t, []byte(body), known)
		}
	}
}

func TestStreamedKnownListAllocatesNoIDs(t *testing.T) {
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprintf("inactivated-%08d", i)
	}
	body := []byte(`{"transactions":[],"inactivatedTransactionIds":["` + strings.Join(ids, `","`) + `"]}`)
	known := NewIDSet()
	first, err := streamDecodeWith(body, 4096, newListDiverterExcept(known))
	require.NoError(t, err)
	require.Equal(t, ids, first.InactivatedNew.Strings(), "nothing known: every id")
	known.AddList(first.InactivatedNew)

	// The same list again: nothing kept, the body holds null in its place.
	d := newListDiverterExcept(known)
	kept := d.filter(nil, body)
	require.Equal(t, `{"transactions":[],"inactivatedTransactionIds":null}`, string(kept))
	again := &TransactionPage{}
	require.NoError(t, d.apply(again))
	require.Equal(t, []string{}, again.InactivatedNew.Strings())
	allocs := testing.AllocsPerRun(5, func() { newListDiverterExcept(known).filter(make([]byte, 0, 64), body) })
	require.Less(t, allocs, 20.0, "a known list must cost no string per id")

	// Two ids changed, one of them to an id listed before: only the
	// new one is kept.
	changed := strings.Replace(string(body), "inactivated-00004990", "inactivated-changed!", 1)
	changed = strings.Replace(changed, "inactivated-00000007", "inactivated-00000008", 1)
	third, err := streamDecodeWith([]byte(changed), 4096, newListDiverterExcept(known))
	require.NoError(t, err)
	require.Equal(t, []string{"inactivated-changed!"}, third.InactivatedNew.Strings())
}

// TestIDSetFilledFromAListMatchesMerged fills an empty set from a first
// list (ids hashed in place, with duplicates), then merges a second that
// overlaps it: the set holds exactly the distinct ids of both, in the
// order lookups rely on, at 12 bytes an id.
func TestIDSetFilledFromAListMatchesMerged(t *testing.T) {
	list := func(from, to int) *IDList {
		var l IDList
		for i := from; i < to; i++ {
			require.True(t, l.appendID(fmt.Appendf(nil, "%08x-0000-4000-8000-%012x", i%20000, i%20000)))
		}
		return &l
	}
	s := NewIDSet()
	s.AddList(list(0, 30000)) // 20,000 distinct, 10,000 repeated
	require.Equal(t, 20000, s.Len())
	require.Equal(t, 12*s.Len(), 8*cap(s.hiSums)+4*cap(s.loSums), "12 bytes an id")
	s.AddList(list(15000, 25000)) // all held (past 20,000 the ids wrap to the first ones)
	require.Equal(t, 20000, s.Len())
	for i := 1; i < s.Len(); i++ {
		require.True(t, s.hiSums[i-1] < s.hiSums[i] || (s.hiSums[i-1] == s.hiSums[i] && s.loSums[i-1] < s.loSums[i]), "sorted at %d", i)
	}
	for i := range 20000 {
		require.True(t, s.Contains(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)), i)
	}
	require.False(t, s.Contains(fmt.Sprintf("%08x-0000-4000-8000-%012x", 20000, 20000)))

	grown := NewIDSet()
	grown.AddList(list(0, 100))
	grown.AddList(list(20100, 20200)) // ids 100..199 after the wrap
	require.Equal(t, 200, grown.Len())
	for i := range 200 {
		require.True(t, grown.Contains(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)), i)
	}
}

// TestIDSetWithListLeavesTheSnapshot makes sets from a nil set, an empty
// one and a filled one: each holds the ids of both, and the set it was
// made from holds what it held and answers the same, down to its bytes.
func TestIDSetWithListLeavesTheSnapshot(t *testing.T) {
	list := func(from, to int) *IDList {
		var l IDList
		for i := from; i < to; i++ {
			require.True(t, l.appendID(fmt.Appendf(nil, "%08x-0000-4000-8000-%012x", i, i)))
		}
		return &l
	}
	id := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

	var none *IDSet
	first := none.WithList(list(0, 100))
	require.Equal(t, 100, first.Len())
	require.Zero(t, none.Len())

	empty := NewIDSet()
	fromEmpty := empty.WithList(list(0, 10))
	require.Zero(t, empty.Len(), "the empty set stays empty")
	require.Equal(t, 10, fromEmpty.Len())

	hi, lo, index := slices.Clone(first.hiSums), slices.Clone(first.loSums), slices.Clone(first.index)
	second := first.WithList(list(50, 300))
	require.Equal(t, 300, second.Len())
	require.Equal(t, 100, first.Len())
	require.Equal(t, hi, first.hiSums, "the snapshot's sums are untouched")
	require.Equal(t, lo, first.loSums)
	require.Equal(t, index, first.index)
	for i := range 300 {
		require.True(t, second.Contains(id(i)), i)
		require.Equal(t, i < 100, first.Contains(id(i)), i)
	}
	// The same seeds: a list already held adds nothing.
	require.Equal(t, 300, second.WithList(list(0, 300)).Len())
}
