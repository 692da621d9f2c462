package store

import (
	"context"
	"errors"
)

// DefaultTransferVerdictBatch is how many transfer verdicts one transaction
// of FillTransferVerdicts stores by default.
const DefaultTransferVerdictBatch = 2000

// ErrTransferVerdictsBusy says that a write that can change an app user's
// transfer verdicts was under way: fill them again once it commits.
var ErrTransferVerdictsBusy = errors.New("a write to the app user's transactions is under way")

// FillTransferVerdicts stores the missing own-account transfer verdicts of
// an app user (migration 000100), batch rows per transaction (0:
// DefaultTransferVerdictBatch), and returns how many it stored. The views
// compute a missing verdict when read, so filling only makes reads
// cheaper; triggers keep stored verdicts exact. It returns
// ErrTransferVerdictsBusy, with what it stored so far, when a write that
// can change the app user's verdicts holds them (it never waits for one).
// It runs its own transactions and must not be called inside Transact.
func (s *Store) FillTransferVerdicts(ctx context.Context, appUserRef string, batch int) (int, error) {
	if s.tx != nil {
		return 0, errors.New("fill transfer verdicts: needs its own transactions, not a nested one")
	}
	if batch <= 0 {
		batch = DefaultTransferVerdictBatch
	}
	stored := 0
	for {
		// One statement is one READ COMMITTED transaction: the function
		// takes the app user's verdict lock, then computes from a snapshot
		// taken after it.
		var n int
		if err := s.db.QueryRow(ctx, `SELECT fill_transfer_verdicts($1, $2)`, appUserRef, batch).Scan(&n); err != nil {
			return stored, translate(err, "fill transfer verdicts")
		}
		if n < 0 {
			return stored, ErrTransferVerdictsBusy
		}
		stored += n
		if n < batch {
			return stored, nil
		}
	}
}

// MissingTransferVerdicts counts an app user's live transactions whose
// transfer test searches and that have no stored verdict.
func (s *Store) MissingTransferVerdicts(ctx context.Context, appUserRef string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `
		SELECT count(*)
		FROM links l
		JOIN accounts a ON a.link_id = l.id
		JOIN transactions t ON t.account_id = a.id
		WHERE l.app_user_ref = $1
		  AND t.removed_at IS NULL
		  AND t.signed_amount <> 0
		  AND lower(btrim(t.category)) <> 'income'
		  AND (lower(btrim(t.category)) IN ('', 'uncategorized', 'transfer', 'payment') OR upper(t.type) = 'TRANSFER' OR t.memo ~ '[0-9]{4}')
		  AND NOT EXISTS (
		      SELECT 1 FROM transaction_transfer_verdicts v
		      WHERE v.account_id = t.account_id AND v.provider_transaction_id = t.provider_transaction_id)
		  -- A pending row replaced by its posted version is not reported.
		  AND NOT (t.pending AND EXISTS (
		      SELECT 1 FROM transactions p
		      WHERE p.account_id = t.account_id
		        AND p.replaces_provider_transaction_id = t.provider_transaction_id
		        AND p.removed_at IS NULL
		        AND NOT p.pending))`, appUserRef).Scan(&n)
	return n, translate(err, "count missing transfer verdicts")
}
