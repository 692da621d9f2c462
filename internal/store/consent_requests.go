package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

const consentColumns = `id, state_hash, nonce, sealed_verifier, institution_id, app_user_ref,
	coalesce(link_id::text, ''), coalesce(return_url, ''), created_at, expires_at, used_at, browser_hash`

func scanConsent(row pgx.CollectableRow) (pfm.ConsentRequest, error) {
	var c pfm.ConsentRequest
	err := row.Scan(&c.ID, &c.StateHash, &c.Nonce, &c.SealedVerifier, &c.InstitutionID, &c.AppUserRef,
		&c.LinkID, &c.ReturnURL, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt, &c.BrowserHash)
	return c, err
}

// CreateConsentRequest stores a one-time consent request. c.ID must be set
// (the verifier is sealed to it).
func (s *Store) CreateConsentRequest(ctx context.Context, c pfm.ConsentRequest) (pfm.ConsentRequest, error) {
	rows, err := s.db.Query(ctx, `
		INSERT INTO consent_requests (id, state_hash, nonce, sealed_verifier, institution_id, app_user_ref, link_id, return_url, expires_at, browser_hash)
		VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')::uuid, nullif($8, ''), $9, $10)
		RETURNING `+consentColumns,
		c.ID, c.StateHash, c.Nonce, c.SealedVerifier, c.InstitutionID, c.AppUserRef, c.LinkID, c.ReturnURL, c.ExpiresAt, c.BrowserHash)
	if err != nil {
		return pfm.ConsentRequest{}, translate(err, "create consent request")
	}
	out, err := pgx.CollectExactlyOneRow(rows, scanConsent)
	return out, translate(err, "create consent request")
}

// ConsumeConsentRequest marks the request with this state hash used and
// returns it, exactly once. An unknown state is pfm.ErrNotFound, a second
// use pfm.ErrConsentRequestUsed, an expired one pfm.ErrConsentRequestExpired.
func (s *Store) ConsumeConsentRequest(ctx context.Context, stateHash []byte, now time.Time) (pfm.ConsentRequest, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE consent_requests SET used_at = $2
		WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING `+consentColumns, stateHash, now)
	if err != nil {
		return pfm.ConsentRequest{}, translate(err, "consume consent request")
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanConsent)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return pfm.ConsentRequest{}, translate(err, "consume consent request")
	}
	// Say why: unknown, already used, or expired.
	rows, err = s.db.Query(ctx, `SELECT `+consentColumns+` FROM consent_requests WHERE state_hash = $1`, stateHash)
	if err != nil {
		return pfm.ConsentRequest{}, translate(err, "consume consent request")
	}
	c, err = pgx.CollectExactlyOneRow(rows, scanConsent)
	switch {
	case err != nil:
		return pfm.ConsentRequest{}, translate(err, "consume consent request")
	case c.UsedAt != nil:
		return pfm.ConsentRequest{}, fmt.Errorf("consume consent request: %w", pfm.ErrConsentRequestUsed)
	default:
		return pfm.ConsentRequest{}, fmt.Errorf("consume consent request: %w", pfm.ErrConsentRequestExpired)
	}
}

// DeleteConsentRequestsBefore deletes requests that expired before t and
// returns how many.
func (s *Store) DeleteConsentRequestsBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM consent_requests WHERE expires_at < $1`, t)
	if err != nil {
		return 0, translate(err, "delete expired consent requests")
	}
	return tag.RowsAffected(), nil
}
