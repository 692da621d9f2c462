package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// SyncState is one account's sync progress.
type SyncState struct {
	AccountID string
	// Watermark is the highest lastUpdated seen (nil: none yet).
	Watermark *time.Time
	// BackfillBefore: everything posted at or after it has been read
	// (nil: backfill not started).
	BackfillBefore   *time.Time
	BackfillComplete bool
	// ReconciledAt is when the recent window was last reconciled (nil:
	// never). SaveSyncState leaves it alone; see MarkReconciled.
	ReconciledAt *time.Time
	// ReconciledThrough is the bank's clock at that reconciliation (nil:
	// never): the next pass reads back from a window before it.
	ReconciledThrough *time.Time
}

// AccountSyncState returns an account's progress (zero state when none).
func (s *Store) AccountSyncState(ctx context.Context, accountID string) (SyncState, error) {
	st := SyncState{AccountID: accountID}
	err := s.db.QueryRow(ctx, `SELECT watermark, backfill_before, backfill_complete, reconciled_at, reconciled_through FROM sync_state WHERE account_id = $1`, accountID).
		Scan(&st.Watermark, &st.BackfillBefore, &st.BackfillComplete, &st.ReconciledAt, &st.ReconciledThrough)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	return st, translate(err, "get sync state of account %s", accountID)
}

// SaveSyncState writes an account's progress. Call it in the transaction
// that wrote the rows it describes, or after it committed. Progress never
// moves back: the watermark only forwards, backfill_before only to older
// instants, and a complete backfill stays complete (ResetSyncState
// forgets it), so a save that lands after a later one, as two readers of
// one account's backfill may make, changes nothing.
func (s *Store) SaveSyncState(ctx context.Context, st SyncState) error {
	_, err := s.db.Exec(ctx, `
		INSERT INTO sync_state (account_id, watermark, backfill_before, backfill_complete)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO UPDATE SET
			watermark = GREATEST(sync_state.watermark, EXCLUDED.watermark),
			backfill_before = LEAST(sync_state.backfill_before, EXCLUDED.backfill_before),
			backfill_complete = sync_state.backfill_complete OR EXCLUDED.backfill_complete,
			updated_at = now()`,
		st.AccountID, st.Watermark, st.BackfillBefore, st.BackfillComplete)
	return translate(err, "save sync state of account %s", st.AccountID)
}

// ResetSyncState forgets a link's sync progress, so its next sync reads
// the whole backfill depth again (rows already stored are kept and
// reconciled, not duplicated).
func (s *Store) ResetSyncState(ctx context.Context, linkID string) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM sync_state WHERE account_id IN (SELECT id FROM accounts WHERE link_id = $1)`, linkID)
	if err != nil {
		return 0, translate(err, "reset sync state of link %s", linkID)
	}
	return tag.RowsAffected(), nil
}
