package jobs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/store"
)

// inactivatedLists is what one account's sync has read of the bank's
// inactivatedTransactionIds lists (accountTarget.lists), shared by the
// account's readers. The bank repeats the account's whole list on every
// page, and the list grows with the history (tens of thousands of ids),
// so the sync does not hold it:
//
//   - chunks remembers, by digest, the parts of the list a page has
//     brought (consumerapi.ListChunks: a few bytes per hundred ids), so a
//     page keeps only the ids of parts no earlier page read, and a list
//     repeated on every page is applied once;
//   - the ids themselves are recorded, in the transaction of the page
//     that brought them (Syncer.tombstone), in the database under
//     listing, a token of this sync of the account
//     (store.RemoveListedTransactions, deleted when the sync of the
//     account ends: store.ForgetListedTransactions), and in filter;
//   - filter, a Bloom filter of those ids (2.5 bytes an id), tells which
//     of a page's transactions may have been listed: only those are
//     looked up in the database (store.ListedTransactionIDs), and the ones
//     found are left out of the page. A transaction read as inactivated is
//     never written live again in the sync.
//
// The account's pages commit one at a time (store.LockAccountSync), and a
// page looks its transactions up after taking the lock. A page read
// before another reader's page listed one of its transactions leaves it
// out when it commits second (the other page's ids entered the filter in
// that page's transaction, before it committed; a transaction that fails
// leaves only false hits there), and is tombstoned by the
// other page when it commits first: either way the tombstone stands.
type inactivatedLists struct {
	chunks  *consumerapi.ListChunks
	filter  *listedFilter
	listing int64
}

func newInactivatedLists() *inactivatedLists {
	return &inactivatedLists{chunks: consumerapi.NewListChunks(), filter: newListedFilter(), listing: newListing()}
}

// newListing returns a random listing token, never 0.
func newListing() int64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		if l := int64(binary.LittleEndian.Uint64(b[:])); l != 0 {
			return l
		}
	}
}

// leaveOutListed returns inputs, a page's transactions, without those the
// sync has recorded as listed inactivated, in tx (after LockAccountSync).
func (l *inactivatedLists) leaveOutListed(ctx context.Context, tx *store.Store, accountID string, inputs []store.TransactionInput) ([]store.TransactionInput, error) {
	var maybe []string
	for _, in := range inputs {
		if l.filter.mayHold(in.ProviderID) {
			maybe = append(maybe, in.ProviderID)
		}
	}
	if len(maybe) == 0 {
		return inputs, nil
	}
	listed, err := tx.ListedTransactionIDs(ctx, accountID, l.listing, maybe)
	if err != nil || len(listed) == 0 {
		return inputs, err
	}
	return slices.DeleteFunc(slices.Clone(inputs), func(in store.TransactionInput) bool {
		return slices.Contains(listed, in.ProviderID)
	}), nil
}

// listedFilter is a Bloom filter of transaction ids: mayHold is true for
// every id added, and for about one other id in 15,000 (20 bits and 14
// hashes an id). It grows by layers, each sized for at least as many ids
// as all the layers before it, so a filter of n ids has O(log n) layers
// and stays within twice the bits its ids need. It is safe for concurrent
// use.
type listedFilter struct {
	a, b maphash.Seed

	mu     sync.RWMutex
	layers []filterLayer
}

type filterLayer struct {
	bits     []uint64
	ids, cap int
}

const (
	filterBitsPerID = 20
	filterHashes    = 14
	filterMinIDs    = 1024
)

func newListedFilter() *listedFilter {
	return &listedFilter{a: maphash.MakeSeed(), b: maphash.MakeSeed()}
}

// reserve makes room for n more ids in the filter's last layer, so that
// ids added in several calls share one layer.
func (f *listedFilter) reserve(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomFor(n)
}

func (f *listedFilter) roomFor(n int) {
	if n == 0 || len(f.layers) > 0 && f.layers[len(f.layers)-1].ids+n <= f.layers[len(f.layers)-1].cap {
		return
	}
	total := 0
	for _, ly := range f.layers {
		total += ly.cap
	}
	c := max(n, total, filterMinIDs)
	f.layers = append(f.layers, filterLayer{bits: make([]uint64, (c*filterBitsPerID+63)/64), cap: c})
}

// add puts ids in the filter.
func (f *listedFilter) add(ids []string) {
	if len(ids) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roomFor(len(ids))
	ly := &f.layers[len(f.layers)-1]
	ly.ids += len(ids)
	m := uint64(len(ly.bits)) * 64
	for _, id := range ids {
		h1, h2 := f.sums(id)
		for i := range uint64(filterHashes) {
			p := (h1 + i*h2) % m
			ly.bits[p/64] |= 1 << (p % 64)
		}
	}
}

// mayHold reports whether id may have been added: always when it was.
func (f *listedFilter) mayHold(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if len(f.layers) == 0 {
		return false
	}
	h1, h2 := f.sums(id)
layers:
	for _, ly := range f.layers {
		m := uint64(len(ly.bits)) * 64
		for i := range uint64(filterHashes) {
			p := (h1 + i*h2) % m
			if ly.bits[p/64]&(1<<(p%64)) == 0 {
				continue layers
			}
		}
		return true
	}
	return false
}

// sums returns the two hashes an id's bits are drawn from (the second
// odd, so the positions differ).
func (f *listedFilter) sums(id string) (uint64, uint64) {
	return maphash.String(f.a, id), maphash.String(f.b, id) | 1
}
