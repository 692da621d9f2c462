package consumerapi

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
)

// ListChunks remembers which parts of inactivatedTransactionIds lists a
// reader has taken in, by digest only, so that a list the bank repeats on
// every page is applied once without holding its ids: a few bytes per
// hundred ids instead of the ids themselves (or their hashes), whatever
// the length of the account's history.
//
// A list is cut into chunks where its content says (after an id whose
// hash under the cut seed ends in chunkCutBits zero bits, or after
// maxChunkIDs ids), so the same ids in the same order cut the same way on
// every page, and an id added or dropped anywhere changes only the chunk
// around it. Each chunk is known by a 128-bit digest of its ids in order,
// each with its length (two hashes under random seeds that never leave
// the process: a bank cannot choose a list whose chunk passes for
// another, and two different chunks share a digest with probability
// 2⁻¹²⁸). A page read with
// [Session.TransactionsTolerantNewChunks] keeps the ids of the chunks not
// yet known, and names those chunks; the reader marks them known with
// [ListChunks.Add] once it has taken the page.
//
// A ListChunks is safe for concurrent use: an account's readers share one.
type ListChunks struct {
	cut, a, b maphash.Seed

	mu    sync.Mutex
	known map[ListChunk]struct{}
	// bufs holds the buffers of the chunks being read (listChunker.buf),
	// so a page does not grow one anew.
	bufs sync.Pool
}

// ListChunk is the digest of one chunk of an inactivated list.
type ListChunk struct{ a, b uint64 }

const (
	// chunkCutBits: a chunk ends after an id whose cut hash ends in this
	// many zero bits, so chunks hold about 2^chunkCutBits ids.
	chunkCutBits = 7
	// maxChunkIDs bounds a chunk (and the ids held while it is read).
	maxChunkIDs = 1024
)

// NewListChunks returns an empty set of chunks.
func NewListChunks() *ListChunks {
	return &ListChunks{cut: maphash.MakeSeed(), a: maphash.MakeSeed(), b: maphash.MakeSeed(), known: map[ListChunk]struct{}{}}
}

// Len returns how many chunks are known.
func (c *ListChunks) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.known)
}

// Add marks chunks as known.
func (c *ListChunks) Add(chunks []ListChunk) {
	if len(chunks) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range chunks {
		c.known[k] = struct{}{}
	}
}

// cuts reports whether a chunk ends after id.
func (c *ListChunks) cuts(id []byte) bool {
	return maphash.Bytes(c.cut, id)&(1<<chunkCutBits-1) == 0
}

func (c *ListChunks) has(k ListChunk) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.known[k]
	return ok
}

// listChunker cuts one list into chunks as its ids pass, and keeps the ids
// of the chunks its ListChunks does not know.
type listChunker struct {
	set *ListChunks
	// buf holds the chunk being read: each id as its length (a uvarint)
	// and its bytes, so that the digest of buf names the ids exactly.
	buf []byte
	n   int
	// fresh holds the ids of the unknown chunks, in list order; chunks
	// names those chunks.
	fresh  IDList
	chunks []ListChunk
}

func newListChunker(set *ListChunks) *listChunker {
	r := &listChunker{set: set}
	if b, ok := set.bufs.Get().(*[]byte); ok {
		r.buf = (*b)[:0]
	}
	return r
}

// release gives the chunk buffer back once the list is read.
func (r *listChunker) release() {
	if r.buf != nil {
		b := r.buf[:0]
		r.set.bufs.Put(&b)
		r.buf = nil
	}
}

// add takes one id of the list. It reports false when the ids kept would
// outgrow an IDList.
func (r *listChunker) add(id []byte) bool {
	r.buf = binary.AppendUvarint(r.buf, uint64(len(id)))
	r.buf = append(r.buf, id...)
	r.n++
	if r.set.cuts(id) || r.n >= maxChunkIDs {
		return r.end()
	}
	return true
}

// end closes the chunk being read (none: nothing to do).
func (r *listChunker) end() bool {
	if r.n == 0 {
		return true
	}
	k := ListChunk{maphash.Bytes(r.set.a, r.buf), maphash.Bytes(r.set.b, r.buf)}
	ok := true
	if !r.set.has(k) {
		r.chunks = append(r.chunks, k)
		for p := r.buf; len(p) > 0; {
			l, w := binary.Uvarint(p)
			id := p[w : w+int(l)]
			p = p[w+int(l):]
			if !r.fresh.appendID(id) {
				ok = false
				break
			}
		}
	}
	r.buf, r.n = r.buf[:0], 0
	return ok
}
