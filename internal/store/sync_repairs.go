package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reasons recorded in transactions.removal_reason.
const (
	RemovalStalePending = "stale_pending"
	RemovalReconciled   = "reconciled"
)

// TombstoneTransactions removes the account's live transactions with these
// provider ids like RemoveTransactions, recording why. It must run inside
// Transact.
func (s *Store) TombstoneTransactions(ctx context.Context, scope FeedScope, providerIDs []string, at time.Time, reason string) (WriteCounts, error) {
	return s.tombstone(ctx, scope, providerIDs, at, &reason, 0)
}

// StalePendingIDs returns the provider ids of the account's live pending
// transactions that the bank last dated or updated before cutoff.
func (s *Store) StalePendingIDs(ctx context.Context, accountID string, cutoff time.Time) ([]string, error) {
	rows, err := s.db.Query(ctx, `
		SELECT provider_transaction_id FROM transactions
		WHERE account_id = $1 AND removed_at IS NULL AND pending
		  AND greatest(posted_at, coalesce(provider_updated_at, posted_at)) < $2
		ORDER BY id`, accountID, cutoff)
	if err != nil {
		return nil, translate(err, "list stale pending transactions of account %s", accountID)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "list stale pending transactions of account %s", accountID)
}

// LiveTransactionIDsPostedBetween returns the provider ids of the account's
// live transactions posted in [from, to].
func (s *Store) LiveTransactionIDsPostedBetween(ctx context.Context, accountID string, from, to time.Time) ([]string, error) {
	rows, err := s.db.Query(ctx, `
		SELECT provider_transaction_id FROM transactions
		WHERE account_id = $1 AND removed_at IS NULL AND posted_at >= $2 AND posted_at <= $3`, accountID, from, to)
	if err != nil {
		return nil, translate(err, "list live transactions of account %s", accountID)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "list live transactions of account %s", accountID)
}

// MarkReconciled records that the account's recent window was reconciled
// at t (the wall clock), through the bank's clock through.
func (s *Store) MarkReconciled(ctx context.Context, accountID string, t, through time.Time) error {
	_, err := s.db.Exec(ctx, `
		INSERT INTO sync_state (account_id, reconciled_at, reconciled_through) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET reconciled_at = EXCLUDED.reconciled_at,
			reconciled_through = EXCLUDED.reconciled_through, updated_at = now()`, accountID, t, through)
	return translate(err, "mark account %s reconciled", accountID)
}

// QuarantinedRecord is one bank record the sync could not store.
type QuarantinedRecord struct {
	ID          int64
	LinkID      string
	AccountID   string
	ProviderID  string
	Reason      string
	Raw         string
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	TimesSeen   int
}

// QuarantineKey is the record key of a quarantined record: its provider
// id, else a hash of its raw JSON.
func QuarantineKey(providerID string, raw []byte) string {
	if providerID != "" {
		return "id:" + providerID
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Quarantine records bank records of one account that could not be
// stored; a record seen again updates its last sighting and reason.
func (s *Store) Quarantine(ctx context.Context, linkID, accountID string, recs []QuarantinedRecord, at time.Time) error {
	if len(recs) == 0 {
		return nil
	}
	keys, ids, reasons, raws := make([]string, 0, len(recs)), make([]string, 0, len(recs)), make([]string, 0, len(recs)), make([]string, 0, len(recs))
	seen := map[string]bool{}
	for _, r := range recs {
		k := QuarantineKey(r.ProviderID, []byte(r.Raw))
		if seen[k] {
			continue
		}
		seen[k] = true
		keys, ids, reasons, raws = append(keys, k), append(ids, r.ProviderID), append(reasons, r.Reason), append(raws, r.Raw)
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO quarantined_records (link_id, account_id, record_key, provider_id, reason, raw, first_seen_at, last_seen_at)
		SELECT $1, $2, t.k, t.id, t.reason, t.raw, $7, $7
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t(k, id, reason, raw)
		ON CONFLICT (account_id, record_key) DO UPDATE SET
			reason = EXCLUDED.reason, raw = EXCLUDED.raw, last_seen_at = EXCLUDED.last_seen_at,
			times_seen = quarantined_records.times_seen + 1, resolved_at = NULL`,
		linkID, accountID, keys, ids, reasons, raws, at)
	return translate(err, "quarantine records of account %s", accountID)
}

// ResolveQuarantine marks the account's quarantined records with these
// provider ids resolved (the bank served them in a form that was stored).
func (s *Store) ResolveQuarantine(ctx context.Context, accountID string, providerIDs []string, at time.Time) (int64, error) {
	if len(providerIDs) == 0 {
		return 0, nil
	}
	tag, err := s.db.Exec(ctx, `
		UPDATE quarantined_records SET resolved_at = $3
		WHERE account_id = $1 AND provider_id = ANY($2) AND resolved_at IS NULL`, accountID, providerIDs, at)
	if err != nil {
		return 0, translate(err, "resolve quarantined records of account %s", accountID)
	}
	return tag.RowsAffected(), nil
}

// HasOpenQuarantine reports whether the account has unresolved
// quarantined records.
func (s *Store) HasOpenQuarantine(ctx context.Context, accountID string) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM quarantined_records WHERE account_id = $1 AND resolved_at IS NULL)`, accountID).Scan(&ok)
	return ok, translate(err, "check quarantine of account %s", accountID)
}

// LinkQuarantineCount counts a link's unresolved quarantined records.
func (s *Store) LinkQuarantineCount(ctx context.Context, linkID string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM quarantined_records WHERE link_id = $1 AND resolved_at IS NULL`, linkID).Scan(&n)
	return n, translate(err, "count quarantined records of link %s", linkID)
}

// LinkQuarantine lists a link's unresolved quarantined records, most
// recently seen first, at most limit.
func (s *Store) LinkQuarantine(ctx context.Context, linkID string, limit int) ([]QuarantinedRecord, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, link_id, account_id, provider_id, reason, raw, first_seen_at, last_seen_at, times_seen
		FROM quarantined_records WHERE link_id = $1 AND resolved_at IS NULL
		ORDER BY last_seen_at DESC, id DESC LIMIT $2`, linkID, limit)
	if err != nil {
		return nil, translate(err, "list quarantined records of link %s", linkID)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (QuarantinedRecord, error) {
		var r QuarantinedRecord
		err := row.Scan(&r.ID, &r.LinkID, &r.AccountID, &r.ProviderID, &r.Reason, &r.Raw, &r.FirstSeenAt, &r.LastSeenAt, &r.TimesSeen)
		return r, err
	})
	return out, translate(err, "list quarantined records of link %s", linkID)
}
