package jobs

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
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
//   - the ids themselves are recorded in the database under listing, a
//     token of this sync of the account, in the transaction of the page
//     that brought them (store.RemoveListedTransactions), and every page
//     is upserted leaving out the transactions listed under it
//     (store.UpsertTransactionsUnlisted): a transaction read as
//     inactivated is never written live again in the sync.
//
// The account's pages commit one at a time (store.LockAccountSync). A
// page read before another reader's page listed one of its transactions
// leaves it out when it commits second, and is tombstoned by the other
// page when it commits first: either way the tombstone stands.
type inactivatedLists struct {
	chunks  *consumerapi.ListChunks
	listing int64
}

func newInactivatedLists() *inactivatedLists {
	return &inactivatedLists{chunks: consumerapi.NewListChunks(), listing: newListing()}
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
