package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

func scanToken(row pgx.CollectableRow) (pfm.SealedToken, error) {
	var t pfm.SealedToken
	err := row.Scan(&t.LinkID, &t.Sealed, &t.KeyID, &t.Version, &t.UpdatedAt)
	return t, err
}

// PutLinkToken stores a link's sealed refresh token, replacing any other,
// and returns the stored row. The caller seals it; this never sees plaintext.
func (s *Store) PutLinkToken(ctx context.Context, linkID string, sealed []byte, keyID string) (pfm.SealedToken, error) {
	rows, err := s.db.Query(ctx, `
		INSERT INTO link_tokens (link_id, sealed, key_id) VALUES ($1, $2, $3)
		ON CONFLICT (link_id) DO UPDATE SET
			sealed = EXCLUDED.sealed, key_id = EXCLUDED.key_id,
			version = link_tokens.version + 1, updated_at = now()
		RETURNING link_id, sealed, key_id, version, updated_at`, linkID, sealed, keyID)
	if err != nil {
		return pfm.SealedToken{}, translate(err, "store token of link %s", linkID)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	return t, translate(err, "store token of link %s", linkID)
}

// ReplaceLinkToken stores a new sealed token only if the stored one is
// still at version; otherwise it returns pfm.ErrStaleToken.
func (s *Store) ReplaceLinkToken(ctx context.Context, linkID string, version int64, sealed []byte, keyID string) (pfm.SealedToken, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE link_tokens SET sealed = $3, key_id = $4, version = version + 1, updated_at = now()
		WHERE link_id = $1 AND version = $2
		RETURNING link_id, sealed, key_id, version, updated_at`, linkID, version, sealed, keyID)
	if err != nil {
		return pfm.SealedToken{}, translate(err, "replace token of link %s", linkID)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if err == pgx.ErrNoRows {
		return pfm.SealedToken{}, fmt.Errorf("replace token of link %s at version %d: %w", linkID, version, pfm.ErrStaleToken)
	}
	return t, translate(err, "replace token of link %s", linkID)
}

// LinkToken returns a link's sealed token.
func (s *Store) LinkToken(ctx context.Context, linkID string) (pfm.SealedToken, error) {
	return s.linkToken(ctx, linkID, "")
}

// LockLinkToken returns a link's sealed token and locks its row until the
// transaction ends, so that no other process refreshes or replaces the
// token meanwhile. It must run inside Transact.
func (s *Store) LockLinkToken(ctx context.Context, linkID string) (pfm.SealedToken, error) {
	if s.tx == nil {
		return pfm.SealedToken{}, fmt.Errorf("lock token of link %s: needs a transaction", linkID)
	}
	return s.linkToken(ctx, linkID, " FOR UPDATE")
}

func (s *Store) linkToken(ctx context.Context, linkID, lock string) (pfm.SealedToken, error) {
	rows, err := s.db.Query(ctx, `SELECT link_id, sealed, key_id, version, updated_at FROM link_tokens WHERE link_id = $1`+lock, linkID)
	if err != nil {
		return pfm.SealedToken{}, translate(err, "get token of link %s", linkID)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	return t, translate(err, "get token of link %s", linkID)
}

// DeleteLinkToken forgets a link's token (after unlinking).
func (s *Store) DeleteLinkToken(ctx context.Context, linkID string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM link_tokens WHERE link_id = $1`, linkID)
	return translate(err, "delete token of link %s", linkID)
}

// LinkTokensSealedWithout lists up to limit tokens, in link id order after
// afterLinkID, sealed under a key other than keyID: the work list of the
// re-seal command.
func (s *Store) LinkTokensSealedWithout(ctx context.Context, keyID, afterLinkID string, limit int) ([]pfm.SealedToken, error) {
	rows, err := s.db.Query(ctx, `
		SELECT link_id, sealed, key_id, version, updated_at FROM link_tokens
		WHERE key_id <> $1 AND link_id > $2::uuid ORDER BY link_id LIMIT $3`,
		keyID, afterLinkIDOrZero(afterLinkID), limit)
	if err != nil {
		return nil, translate(err, "list tokens to re-seal")
	}
	out, err := pgx.CollectRows(rows, scanToken)
	return out, translate(err, "list tokens to re-seal")
}

func afterLinkIDOrZero(id string) string {
	if id == "" {
		return "00000000-0000-0000-0000-000000000000"
	}
	return id
}
