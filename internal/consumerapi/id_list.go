package consumerapi

import (
	"iter"
	"math"
)

// IDList is a list of transaction ids held compactly, instead of a string
// and a string header per id. A sync's first page can list tens of
// thousands of inactivated ids that no earlier page listed; held as an
// IDList they cost 16 bytes each while every id is a UUID in its
// canonical form (the Consumer API's ids are UUIDs), else their bytes
// plus 4 each, and strings are made only for the chunk being written
// ([IDList.Chunks]).
//
// The zero value is an empty list. An IDList is not safe for concurrent
// use while it is appended to.
type IDList struct {
	// uuids holds the ids, 16 bytes each, while every id appended is a
	// canonical UUID (36 characters, lowercase hex, hyphens at 8, 13, 18
	// and 23); text is false then.
	uuids []byte
	// With text, data holds the ids' bytes one after another and ends
	// where each one ends.
	text bool
	data []byte
	ends []uint32
}

// maxIDListBytes bounds an IDList's buffer (its offsets are 32-bit).
const maxIDListBytes = math.MaxUint32

// uuidTextLen is the length of a UUID in its canonical text form.
const uuidTextLen = 36

// Len returns how many ids the list holds (duplicates count each time).
func (l *IDList) Len() int {
	switch {
	case l == nil:
		return 0
	case l.text:
		return len(l.ends)
	}
	return len(l.uuids) / 16
}

// appendID adds id at the end. It reports false, adding nothing, when the
// list's buffer would outgrow its 32-bit offsets.
func (l *IDList) appendID(id []byte) bool {
	if !l.text {
		// Bounded as the text form would be, which the list may yet
		// have to take.
		if uint64(l.Len()+1)*uuidTextLen+uint64(len(id)) > maxIDListBytes {
			return false
		}
		if u, ok := parseCanonicalUUID(id); ok {
			l.uuids = append(l.uuids, u[:]...)
			return true
		}
		l.toText()
	}
	if uint64(len(l.data))+uint64(len(id)) > maxIDListBytes {
		return false
	}
	l.data = append(l.data, id...)
	l.ends = append(l.ends, uint32(len(l.data)))
	return true
}

// toText moves the list to its text form, for an id that is not a
// canonical UUID.
func (l *IDList) toText() {
	n := l.Len()
	data, ends := make([]byte, 0, n*uuidTextLen), make([]uint32, 0, n)
	for i := range n {
		data = appendUUIDText(data, l.uuids[16*i:16*i+16])
		ends = append(ends, uint32(len(data)))
	}
	l.uuids, l.text, l.data, l.ends = nil, true, data, ends
}

// appendIDAt appends id i's bytes to dst.
func (l *IDList) appendIDAt(dst []byte, i int) []byte {
	if !l.text {
		return appendUUIDText(dst, l.uuids[16*i:16*i+16])
	}
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return append(dst, l.data[start:l.ends[i]]...)
}

// At returns id i (0 ≤ i < Len) as a new string.
func (l *IDList) At(i int) string {
	var buf [uuidTextLen]byte
	return string(l.appendIDAt(buf[:0], i))
}

// parseCanonicalUUID reads id as a UUID in canonical form: 36
// characters, lowercase hex digits, hyphens at 8, 13, 18 and 23. Only
// that form is taken, so that the text made back from the 16 bytes is
// always the id as sent.
func parseCanonicalUUID(id []byte) (u [16]byte, ok bool) {
	if len(id) != uuidTextLen {
		return u, false
	}
	j := 0
	for i := 0; i < uuidTextLen; i += 2 {
		switch i {
		case 8, 13, 18, 23:
			if id[i] != '-' {
				return u, false
			}
			i++
		}
		hi, ok1 := lowerHex(id[i])
		lo, ok2 := lowerHex(id[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, true
}

// lowerHex is the value of a lowercase hex digit.
func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendUUIDText appends the canonical text of the 16 bytes u.
func appendUUIDText(dst, u []byte) []byte {
	const digits = "0123456789abcdef"
	for i, b := range u[:16] {
		switch i {
		case 4, 6, 8, 10:
			dst = append(dst, '-')
		}
		dst = append(dst, digits[b>>4], digits[b&0x0f])
	}
	return dst
}

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
