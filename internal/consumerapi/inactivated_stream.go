package consumerapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
)

// bodyFilter sees a response body as it is read and returns what is kept
// of it: filter appends the bytes of p to keep to dst. A body is then
// never held whole.
type bodyFilter interface {
	filter(dst, p []byte) []byte
}

// inactivatedKey is the top-level key whose value listDiverter diverts.
const inactivatedKey = "inactivatedTransactionIds"

// listDiverter is the bodyFilter of a transactions response: it keeps the
// body but the value of inactivatedTransactionIds, which it replaces by
// null and reads as it passes instead. The list is hashed on the way
// (SHA-256 of its raw JSON, as [TransactionPage.InactivatedDigest]) and
// compared id by id with prev's list; strings are allocated only from the
// first id that differs, so a repeated list (the bank repeats it on every
// page of a query) costs neither a buffer nor a decoded copy.
//
// With a set of known chunks (newListDiverterNewChunks, see [ListChunks])
// the list is not compared with a previous one: it is cut into chunks as
// it passes, and only the ids of chunks the set does not know are kept,
// in an [IDList] (their bytes in one buffer, no strings), so a list the
// reader has applied already costs nothing whatever its length, and a new
// one costs its bytes (no digest is computed:
// [TransactionPage.InactivatedDigest] stays zero).
//
// Keys are matched the way encoding/json matches them (escapes decoded,
// case folded; the last of several matches wins). The rest of the body is
// not validated here: it is decoded afterwards, and a body cut short
// inside the list leaves an unterminated object that the decoder reports
// as truncated.
type listDiverter struct {
	prevIDs    []string
	prevDigest [sha256.Size]byte
	chunks     *ListChunks

	st     divertState
	key    []byte
	keyEsc bool
	val    valueSkipper
	list   *listScanner

	// Results, once the body is read.
	found     bool
	ids       []string
	newIDs    *IDList // with chunks: the ids of the chunks it does not know
	newChunks []ListChunk
	digest    [sha256.Size]byte
	repeated  bool
	err       error
}

type divertState uint8

const (
	dsBegin    divertState = iota // before the top-level object
	dsKey                         // in the object, expecting a key, ',' or '}'
	dsKeyStr                      // inside a key
	dsColon                       // after a key
	dsValStart                    // after ':', before the value
	dsValue                       // inside a value that is kept
	dsList                        // inside the diverted value
	dsPass                        // nothing more to divert
)

func newListDiverter(prev *TransactionPage) *listDiverter {
	d := &listDiverter{}
	if prev != nil {
		d.prevIDs, d.prevDigest = prev.InactivatedTransactionIDs, prev.InactivatedDigest
	}
	return d
}

// newListDiverterNewChunks returns a listDiverter that keeps only the ids
// of the list's chunks that chunks does not know (see [ListChunks]).
func newListDiverterNewChunks(chunks *ListChunks) *listDiverter {
	return &listDiverter{chunks: chunks}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *listDiverter) filter(dst, p []byte) []byte {
	for i := 0; i < len(p); {
		switch d.st {
		case dsPass:
			return append(dst, p[i:]...)
		case dsList:
			n, done := d.list.write(p[i:])
			i += n
			if done {
				d.finishList()
				d.st = dsKey
			}
			continue
		case dsValue:
			n, done := d.val.skip(p[i:])
			dst = append(dst, p[i:i+n]...)
			i += n
			if done {
				d.st = dsKey
			}
			continue
		}
		c := p[i]
		switch d.st {
		case dsBegin:
			switch {
			case isSpace(c):
			case c == '{':
				d.st = dsKey
			default:
				d.st = dsPass
				continue
			}
		case dsKey:
			switch {
			case isSpace(c) || c == ',':
			case c == '"':
				d.key, d.keyEsc, d.st = d.key[:0], false, dsKeyStr
			default: // '}' or not JSON: the decoder has the last word
				d.st = dsPass
				continue
			}
		case dsKeyStr:
			switch {
			case d.keyEsc:
				d.keyEsc = false
			case c == '\\':
				d.keyEsc = true
			case c == '"':
				d.st = dsColon
				dst = append(dst, c)
				i++
				continue
			}
			d.key = append(d.key, c)
		case dsColon:
			switch {
			case isSpace(c):
			case c == ':':
				d.st = dsValStart
			default:
				d.st = dsPass
				continue
			}
		case dsValStart:
			if !isSpace(c) {
				// Only a list is diverted: any other value is kept (and
				// decoded, or refused, with the rest), replacing a list
				// an earlier duplicate key gave.
				if d.keyMatches() && c != '[' {
					d.found, d.ids, d.newIDs, d.newChunks, d.digest, d.repeated = false, nil, nil, nil, [sha256.Size]byte{}, false
				}
				if d.keyMatches() && c == '[' {
					dst = append(dst, "null"...)
					d.list, d.st = newListScanner(d.prevIDs), dsList
					if d.chunks != nil {
						// Nothing is compared by digest: no hash.
						d.list.chunks, d.list.h = newListChunker(d.chunks), nil
					}
				} else {
					d.val, d.st = valueSkipper{}, dsValue
				}
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// keyMatches reports whether the key just read selects the list, as
// encoding/json would decide.
func (d *listDiverter) keyMatches() bool {
	key := d.key
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s); err != nil {
			return false
		}
		key = []byte(s)
	}
	return bytes.EqualFold(key, []byte(inactivatedKey))
}

// finishList records the list just read; a later match replaces it.
func (d *listDiverter) finishList() {
	l := d.list
	d.list = nil
	d.found = true
	if l.err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("%w: %s: %w", ErrMalformedBody, inactivatedKey, l.err)
		}
		return
	}
	if l.null {
		d.ids, d.newIDs, d.newChunks, d.digest, d.repeated = nil, nil, nil, [sha256.Size]byte{}, false
		return
	}
	if l.chunks != nil {
		if !l.chunks.end() {
			d.err = fmt.Errorf("%w: %s: list longer than %d bytes", ErrMalformedBody, inactivatedKey, maxIDListBytes)
			return
		}
		l.chunks.release()
		fresh := l.chunks.fresh
		d.ids, d.newIDs, d.newChunks, d.repeated = nil, &fresh, l.chunks.chunks, false
		return
	}
	if l.h != nil {
		l.h.Sum(d.digest[:0])
	}
	d.ids, d.repeated = l.result(), false
	if d.prevDigest != ([sha256.Size]byte{}) && d.digest == d.prevDigest {
		d.ids, d.repeated = d.prevIDs, true
	}
}

// complete reports whether the body ended outside the diverted value.
func (d *listDiverter) complete() bool { return d.st != dsList }

// apply sets page's list from what was read. It returns the list's error
// (malformed) if any.
func (d *listDiverter) apply(page *TransactionPage) error {
	if d.err != nil {
		return d.err
	}
	if d.found {
		page.InactivatedTransactionIDs, page.InactivatedDigest, page.InactivatedRepeated = d.ids, d.digest, d.repeated
		page.InactivatedNew, page.InactivatedChunks = d.newIDs, d.newChunks
	}
	return nil
}

// valueSkipper finds the end of one JSON value read in pieces.
type valueSkipper struct {
	started, scalar, inStr, esc bool
	depth                       int
}

// skip consumes the bytes of p that belong to the value; done is true
// once the value ended (a scalar ends before its delimiter, which is not
// consumed).
func (v *valueSkipper) skip(p []byte) (n int, done bool) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !v.started {
			v.started = true
			switch c {
			case '"':
				v.inStr = true
			case '{', '[':
				v.depth = 1
			case ',', '}', ']':
				return i, true
			default:
				v.scalar = true
			}
			continue
		}
		if v.inStr {
			// Jump to the next quote or backslash.
			j := quoteOrBackslash(p[i:])
			if v.esc {
				v.esc, j = false, 0
			} else if j < 0 {
				return len(p), false
			} else if p[i+j] == '\\' {
				v.esc = true
			} else {
				v.inStr = false
				if v.depth == 0 {
					return i + j + 1, true
				}
			}
			i += j
			continue
		}
		if v.scalar {
			if c == ',' || c == '}' || c == ']' || isSpace(c) {
				return i, true
			}
			continue
		}
		switch c {
		case '"':
			v.inStr = true
		case '{', '[':
			v.depth++
		case '}', ']':
			v.depth--
			if v.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(p), false
}

// listScanner reads the value of inactivatedTransactionIds in pieces.
type listScanner struct {
	prev []string
	// chunks, when set, replaces prev: ids are kept by chunk (see
	// ListChunks).
	chunks *listChunker
	h      hash.Hash
	st     listState
	elem   []byte // the element being read (a string with its quotes, or a literal)
	esc    bool
	hasE   bool // the string has escapes
	skip   valueSkipper
	// matched counts the leading ids equal to prev's; ids holds the list
	// once it differs from prev.
	matched  int
	diverged bool
	ids      []string
	null     bool
	err      error
}

type listState uint8

const (
	lsStart   listState = iota // the value's first byte
	lsFirst                    // after '[': an element or ']'
	lsNext                     // after ',': an element
	lsAfter                    // after an element: ',' or ']'
	lsString                   // inside a string element
	lsLiteral                  // inside a literal element (only null is a string)
	lsTopNull                  // the value is a literal (only null is valid)
	lsSkip                     // skipping the rest after an error
)

func newListScanner(prev []string) *listScanner {
	return &listScanner{prev: prev, h: sha256.New()}
}

// write consumes the bytes of p that belong to the list; done is true once
// the list ended.
func (l *listScanner) write(p []byte) (n int, done bool) {
	n, done = l.scan(p)
	if l.h != nil {
		l.h.Write(p[:n])
	}
	return n, done
}

func (l *listScanner) scan(p []byte) (int, bool) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch l.st {
		case lsStart:
			switch c {
			case '[':
				l.st = lsFirst
			case 'n':
				l.st, l.elem = lsTopNull, append(l.elem[:0], c)
			default:
				l.fail(fmt.Errorf("not a list"), 0)
				i--
			}
		case lsTopNull:
			if c == ',' || c == '}' || c == ']' || isSpace(c) {
				if string(l.elem) != "null" {
					l.fail(fmt.Errorf("not a list"), 0)
				}
				l.null = l.err == nil
				return i, true
			}
			if len(l.elem) < 8 {
				l.elem = append(l.elem, c)
			} else {
				l.elem = append(l.elem[:0], '?')
			}
		case lsFirst, lsNext:
			switch {
			case isSpace(c):
			case c == ']' && l.st == lsFirst:
				return i + 1, true
			case c == '"':
				l.st, l.elem, l.esc, l.hasE = lsString, append(l.elem[:0], c), false, false
			case c == '[' || c == '{' || c == ']':
				l.fail(fmt.Errorf("element is not a string"), 1)
				i--
			default:
				l.st, l.elem = lsLiteral, append(l.elem[:0], c)
			}
		case lsAfter:
			switch {
			case isSpace(c):
			case c == ',':
				l.st = lsNext
			case c == ']':
				return i + 1, true
			default:
				l.fail(fmt.Errorf("invalid character %q after an element", c), 1)
				i--
			}
		case lsString:
			// Copy up to the next quote or backslash at once.
			j := quoteOrBackslash(p[i:])
			if l.esc {
				l.esc, j = false, 0
			} else if j < 0 {
				l.elem = append(l.elem, p[i:]...)
				return len(p), false
			} else if p[i+j] == '\\' {
				l.esc, l.hasE = true, true
			} else {
				l.elem = append(l.elem, p[i:i+j+1]...)
				i += j
				l.st = lsAfter
				l.addString()
				continue
			}
			l.elem = append(l.elem, p[i:i+j+1]...)
			i += j
		case lsLiteral:
			if c == ',' || c == ']' || isSpace(c) {
				if string(l.elem) == "null" {
					// encoding/json leaves the element empty.
					l.add(nil)
				} else {
					l.fail(fmt.Errorf("element is not a string"), 1)
				}
				l.st = lsAfter
				if l.err != nil {
					l.st = lsSkip
				}
				i--
				continue
			}
			if len(l.elem) < 8 {
				l.elem = append(l.elem, c)
			} else {
				l.elem = append(l.elem[:0], '?')
			}
		case lsSkip:
			n, done := l.skip.skip(p[i:])
			if done {
				return i + n, true
			}
			return len(p), false
		}
	}
	return len(p), false
}

// fail records err and skips the rest of the value; depth is how many
// containers are open.
func (l *listScanner) fail(err error, depth int) {
	if l.err == nil {
		l.err = err
	}
	l.st = lsSkip
	l.skip = valueSkipper{started: depth > 0, depth: depth}
}

// addString adds the string element in l.elem.
func (l *listScanner) addString() {
	inner := l.elem[1 : len(l.elem)-1]
	if !l.hasE && plainASCII(inner) {
		l.add(inner)
		return
	}
	var s string
	if err := json.Unmarshal(l.elem, &s); err != nil {
		l.fail(err, 1)
		return
	}
	l.add([]byte(s))
}

// quoteOrBackslash returns the index of the first '"' or '\\' in p, or -1
// if there is none: the end of a JSON string's run of plain bytes. Two
// IndexByte calls, which are vectorised, read an id's 36 bytes several
// times faster than IndexAny, which tests each byte against a set.
func quoteOrBackslash(p []byte) int {
	q := bytes.IndexByte(p, '"')
	before := p
	if q >= 0 {
		before = p[:q]
	}
	if e := bytes.IndexByte(before, '\\'); e >= 0 {
		return e
	}
	return q
}

// plainASCII reports whether b needs no decoding as a JSON string body.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// add appends one id, allocating only once the list differs from prev.
func (l *listScanner) add(id []byte) {
	if l.chunks != nil {
		if !l.chunks.add(id) {
			l.fail(fmt.Errorf("list longer than %d bytes", maxIDListBytes), 1)
		}
		return
	}
	if !l.diverged {
		if l.matched < len(l.prev) && l.prev[l.matched] == string(id) {
			l.matched++
			return
		}
		l.diverged = true
		l.ids = append(make([]string, 0, max(l.matched+1, len(l.prev))), l.prev[:l.matched]...)
	}
	l.ids = append(l.ids, string(id))
}

// result returns the ids read (empty, not nil, for an empty list).
func (l *listScanner) result() []string {
	switch {
	case l.diverged:
		return l.ids
	case l.matched == len(l.prev) && l.matched > 0:
		return l.prev
	default:
		return append([]string{}, slices.Clip(l.prev[:l.matched])...)
	}
}
