package consumerapi

import (
	"iter"
	"math"
)

// IDList is a list of transaction ids held compactly: the ids' bytes one
// after another in one buffer, and where each ends (4 bytes an id),
// instead of a string and a string header per id. A sync's first page can
// list tens of thousands of inactivated ids that no earlier page listed;
// held as an IDList they cost their bytes plus 4 each, and strings are
// made only for the chunk being written ([IDList.Chunks]).
//
// The zero value is an empty list. An IDList is not safe for concurrent
// use while it is appended to.
type IDList struct {
	data []byte
	ends []uint32
}

// maxIDListBytes bounds an IDList's buffer (its offsets are 32-bit).
const maxIDListBytes = math.MaxUint32

// Len returns how many ids the list holds (duplicates count each time).
func (l *IDList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.ends)
}

// appendID adds id at the end. It reports false, adding nothing, when the
// list's buffer would outgrow its 32-bit offsets.
func (l *IDList) appendID(id []byte) bool {
	if uint64(len(l.data))+uint64(len(id)) > maxIDListBytes {
		return false
	}
	l.data = append(l.data, id...)
	l.ends = append(l.ends, uint32(len(l.data)))
	return true
}

// bytesAt returns id i's bytes, shared with the list.
func (l *IDList) bytesAt(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.data[start:l.ends[i]:l.ends[i]]
}

// At returns id i (0 ≤ i < Len) as a new string.
func (l *IDList) At(i int) string { return string(l.bytesAt(i)) }

// Chunks yields the ids in list order, n at a time (the last chunk may be
// shorter; n < 1 is taken as 1), as strings made for that chunk only: a
// caller that writes each chunk and lets it go holds at most n strings at
// once. Each chunk is a new slice the caller may keep.
func (l *IDList) Chunks(n int) iter.Seq[[]string] {
	n = max(n, 1)
	return func(yield func([]string) bool) {
		for start := 0; start < l.Len(); start += n {
			end := min(start+n, l.Len())
			chunk := make([]string, end-start)
			for i := range chunk {
				chunk[i] = l.At(start + i)
			}
			if !yield(chunk) {
				return
			}
		}
	}
}

// Strings returns every id as a string, in list order: empty, not nil,
// for an empty list, and nil for a nil list.
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
