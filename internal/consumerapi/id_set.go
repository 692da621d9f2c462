package consumerapi

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sort"
)

// IDSet is a set of transaction ids held compactly: 12 bytes per id (a
// 96-bit hash under two random per-set seeds) instead of the id's string
// and a map entry, about 100 bytes. A sync keeps in one the ids of every
// inactivatedTransactionIds list it has read, so that a list repeated on
// every page of a query is applied once and its ids are never written
// again, without the set growing with the size of the ids.
//
// Two different ids share a hash with probability 2⁻⁹⁶ per pair: with
// 50,000 ids in a set and tens of millions of lookups in a sync, about
// one wrongly matched id in 10¹⁷ syncs. The seeds are random and never
// leave the process, so a bank cannot choose colliding ids. The zero
// value and nil are empty sets; Add needs a set from [NewIDSet]. An IDSet
// is not safe for concurrent use.
type IDSet struct {
	lo, hi maphash.Seed
	// hiSums and loSums are the two parts of each id's hash, sorted by
	// (hi, lo) in step (two slices: one slice of 12-byte structs would be
	// padded to 16); index[b] is the first sum whose top bits are b, so a
	// lookup scans a handful of sums.
	hiSums []uint64
	loSums []uint32
	index  []uint32
	shift  uint
}

type idSum struct {
	a uint64
	b uint32
}

func compareSums(x, y idSum) int {
	if c := cmp.Compare(x.a, y.a); c != 0 {
		return c
	}
	return cmp.Compare(x.b, y.b)
}

// NewIDSet returns an empty set.
func NewIDSet() *IDSet {
	return &IDSet{lo: maphash.MakeSeed(), hi: maphash.MakeSeed()}
}

// Len returns how many distinct ids the set holds.
func (s *IDSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.hiSums)
}

// Contains reports whether id is in the set.
func (s *IDSet) Contains(id string) bool {
	if s.Len() == 0 {
		return false
	}
	return s.has(idSum{maphash.String(s.hi, id), uint32(maphash.String(s.lo, id))})
}

// containsBytes is Contains for an id not yet made a string.
func (s *IDSet) containsBytes(id []byte) bool {
	if s.Len() == 0 {
		return false
	}
	return s.has(s.sumBytes(id))
}

func (s *IDSet) sumBytes(id []byte) idSum {
	return idSum{maphash.Bytes(s.hi, id), uint32(maphash.Bytes(s.lo, id))}
}

func (s *IDSet) has(h idSum) bool {
	b := h.a >> s.shift
	for i := s.index[b]; i < s.index[b+1]; i++ {
		if s.hiSums[i] == h.a && s.loSums[i] == h.b {
			return true
		}
	}
	return false
}

// Add puts ids in the set (duplicates and ids already held are ignored).
func (s *IDSet) Add(ids []string) {
	if len(ids) == 0 {
		return
	}
	hi, lo := make([]uint64, len(ids)), make([]uint32, len(ids))
	for i, id := range ids {
		hi[i], lo[i] = maphash.String(s.hi, id), uint32(maphash.String(s.lo, id))
	}
	s.merge(hi, lo)
}

// AddList puts the ids of l in the set, as Add does, without making them
// strings.
func (s *IDSet) AddList(l *IDList) {
	n := l.Len()
	if n == 0 {
		return
	}
	hi, lo := make([]uint64, n), make([]uint32, n)
	var buf []byte
	for i := range n {
		buf = l.appendIDAt(buf[:0], i)
		h := s.sumBytes(buf)
		hi[i], lo[i] = h.a, h.b
	}
	s.merge(hi, lo)
}

// WithList returns a set of s's ids and those of l, leaving s as it was:
// s stays a snapshot that readers may go on using (a read of a page looks
// its list up in the set as the body streams in) while the next set is
// made. Its memory is that of AddList on s. s must come from [NewIDSet]
// (a nil s: an empty set from NewIDSet).
func (s *IDSet) WithList(l *IDList) *IDSet {
	if s == nil {
		s = NewIDSet()
	}
	// merge never writes to the slices it was given by the set: it makes
	// new ones, or takes the new sums as the slices of an empty set.
	next := *s
	next.AddList(l)
	return &next
}

// merge adds the sums hi and lo (parallel slices, in any order,
// duplicates allowed), which it may reorder and keep. An empty set takes
// them as its own once sorted: a sync's first page can list tens of
// thousands of ids, all new, and a merge would hold them twice. Either
// way the set's slices are of the exact size: its memory is its
// contents, not the spare capacity of repeated appends.
func (s *IDSet) merge(hi []uint64, lo []uint32) {
	sort.Sort(sumPairs{hi, lo})
	if s.Len() == 0 {
		k := 0
		for i := range hi {
			if k > 0 && hi[k-1] == hi[i] && lo[k-1] == lo[i] {
				continue
			}
			hi[k], lo[k] = hi[i], lo[i]
			k++
		}
		if k < len(hi) {
			hi, lo = append(make([]uint64, 0, k), hi[:k]...), append(make([]uint32, 0, k), lo[:k]...)
		}
		s.hiSums, s.loSums = hi, lo
		s.reindex()
		return
	}
	n := len(s.hiSums) + len(hi)
	hiSums, loSums := make([]uint64, 0, n), make([]uint32, 0, n)
	i, j := 0, 0
	for i < len(s.hiSums) || j < len(hi) {
		var next idSum
		switch {
		case j == len(hi) || (i < len(s.hiSums) && compareSums(idSum{s.hiSums[i], s.loSums[i]}, idSum{hi[j], lo[j]}) <= 0):
			next, i = idSum{s.hiSums[i], s.loSums[i]}, i+1
		default:
			next, j = idSum{hi[j], lo[j]}, j+1
		}
		if k := len(hiSums); k == 0 || hiSums[k-1] != next.a || loSums[k-1] != next.b {
			hiSums, loSums = append(hiSums, next.a), append(loSums, next.b)
		}
	}
	s.hiSums, s.loSums = slices.Clip(hiSums), slices.Clip(loSums)
	s.reindex()
}

// sumPairs sorts two parallel slices of hash parts in the set's order
// (compareSums).
type sumPairs struct {
	hi []uint64
	lo []uint32
}

func (p sumPairs) Len() int { return len(p.hi) }
func (p sumPairs) Less(i, j int) bool {
	return compareSums(idSum{p.hi[i], p.lo[i]}, idSum{p.hi[j], p.lo[j]}) < 0
}
func (p sumPairs) Swap(i, j int) {
	p.hi[i], p.hi[j] = p.hi[j], p.hi[i]
	p.lo[i], p.lo[j] = p.lo[j], p.lo[i]
}

// reindex rebuilds the bucket index: about four sums per bucket.
func (s *IDSet) reindex() {
	bits := uint(1)
	for (1<<bits)*4 < len(s.hiSums) && bits < 24 {
		bits++
	}
	s.shift = 64 - bits
	index := make([]uint32, (1<<bits)+1)
	k := 0
	for b := range index {
		for k < len(s.hiSums) && s.hiSums[k]>>s.shift < uint64(b) {
			k++
		}
		index[b] = uint32(k)
	}
	s.index = index
}
