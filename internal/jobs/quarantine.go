package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/store"
)

// syncObservations is what a link's sync noticed along the way: records set
// aside, and suspicious signs that call for a reconciliation.
type syncObservations struct {
	quarantined int
	// shrunkCount: an account the bank listed before vanished from the
	// list without being inactivated.
	shrunkCount bool
}

// quarantined turns rejected page records and records that could not be
// mapped into quarantine rows.
func quarantined(rejected []consumerapi.RejectedTransaction) []store.QuarantinedRecord {
	out := make([]store.QuarantinedRecord, 0, len(rejected))
	for _, r := range rejected {
		out = append(out, store.QuarantinedRecord{ProviderID: r.ID, Reason: r.Reason, Raw: string(r.Raw)})
	}
	return out
}

// unmappable quarantines a decoded transaction that cannot be stored
// faithfully (no amount, no date).
func unmappable(t consumerapi.Transaction, err error) consumerapi.RejectedTransaction {
	return consumerapi.RejectedTransaction{ID: t.ID, Raw: t.Raw, Reason: err.Error()}
}

// isMalformed reports whether err means the bank sent something pfmsync
// cannot read.
func isMalformed(err error) bool {
	return errors.Is(err, errMalformed) || errors.Is(err, consumerapi.ErrMalformedBody)
}

// setAside quarantines a page's rejected records and resolves quarantined
// records the page served correctly; it runs in the page's transaction.
func (s *Syncer) setAside(ctx context.Context, tx *store.Store, t accountTarget, scope store.FeedScope,
	stored []store.TransactionInput, rejected []consumerapi.RejectedTransaction, now time.Time) error {
	if len(rejected) > 0 {
		if err := tx.Quarantine(ctx, scope.LinkID, scope.AccountID, quarantined(rejected), now); err != nil {
			return err
		}
		if t.obs != nil {
			t.obs.quarantined += len(rejected)
		}
		s.logger.Warn("bank records quarantined", "link_id", scope.LinkID, "account_id", scope.AccountID, "records", len(rejected), "reason", rejected[0].Reason)
	}
	if t.openQuarantine && len(stored) > 0 {
		ids := make([]string, len(stored))
		for i, in := range stored {
			ids[i] = in.ProviderID
		}
		if _, err := tx.ResolveQuarantine(ctx, scope.AccountID, ids, now); err != nil {
			return err
		}
	}
	return nil
}

// fetchPage reads one page for a reader that remembers the chunks of
// inactivated lists it has read (see
// consumerapi.Session.TransactionsTolerantNewChunks: the page holds only
// the ids of the others). A page with a rejected record is read once
// more, so a record garbled in transit is not quarantined (a bank that
// always serves it bad serves it bad again).
func (s *Syncer) fetchPage(ctx context.Context, session *consumerapi.Session, accountID string, q consumerapi.TransactionQuery, chunks *consumerapi.ListChunks) (*consumerapi.TransactionPage, []consumerapi.RejectedTransaction, error) {
	return readAgainIfRejected(func() (*consumerapi.TransactionPage, []consumerapi.RejectedTransaction, error) {
		return session.TransactionsTolerantNewChunks(ctx, accountID, q, chunks)
	})
}

// readAgainIfRejected reads a page with read, and once more when the page
// had a rejected record.
func readAgainIfRejected(read func() (*consumerapi.TransactionPage, []consumerapi.RejectedTransaction, error)) (*consumerapi.TransactionPage, []consumerapi.RejectedTransaction, error) {
	page, rejected, err := read()
	if err != nil || len(rejected) == 0 {
		return page, rejected, err
	}
	return read()
}
