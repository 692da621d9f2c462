package jobs

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestListedFilterHoldsEveryIDItWasGiven: every id added is held, in the
// first layer or a later one; ids never added are held about once in
// 15,000; the layers grow so that their number stays logarithmic and
// their bits within twice what the ids need.
func TestListedFilterHoldsEveryIDItWasGiven(t *testing.T) {
	t.Parallel()
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%08x-4d2a-9c1e-%012x", prefix, i, i*7919)
		}
		return out
	}
	f := newListedFilter()
	require.False(t, f.mayHold("anything"), "an empty filter holds nothing")

	first := ids("first", 30_000) // a first page's whole list
	f.reserve(len(first))
	f.add(first[:1000])
	f.add(first[1000:])
	require.Len(t, f.layers, 1)
	var added []string
	added = append(added, first...)
	for round := range 12 { // later pages: a changed chunk now and then
		more := ids(fmt.Sprintf("later%d", round), 128)
		f.add(more)
		added = append(added, more...)
	}
	for _, id := range added {
		require.True(t, f.mayHold(id), id)
	}
	require.Len(t, f.layers, 2, "the second layer, as large as the first, takes the later ids")
	bits := 0
	for _, ly := range f.layers {
		bits += 64 * len(ly.bits)
	}
	require.LessOrEqual(t, bits, 2*filterBitsPerID*len(added)+128)

	held := 0
	others := ids("never", 200_000)
	for _, id := range others {
		if f.mayHold(id) {
			held++
		}
	}
	// One in 15,000 expected (13 of 200,000); 60 would be one in 3,300.
	require.Less(t, held, 60, "%d of %d ids never added were held", held, len(others))
}
