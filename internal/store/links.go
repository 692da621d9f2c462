package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

const linkColumns = `l.id, l.institution_id, i.slug, l.app_user_ref, l.banno_user_id, l.status,
	l.granted_scopes, l.missing_scopes, l.sync_interval, l.next_sync_at, l.last_attempt_at,
	l.last_success_at, coalesce(l.last_error_class, ''), coalesce(l.last_error, ''),
	l.consecutive_failures, l.consented_at, l.created_at, l.updated_at`

const linkFrom = ` FROM links l JOIN institutions i ON i.id = l.institution_id `

func scanLink(row pgx.CollectableRow) (pfm.Link, error) {
	var l pfm.Link
	var status string
	err := row.Scan(&l.ID, &l.InstitutionID, &l.InstitutionSlug, &l.AppUserRef, &l.BannoUserID, &status,
		&l.GrantedScopes, &l.MissingScopes, &l.SyncInterval, &l.NextSyncAt, &l.LastAttemptAt,
		&l.LastSuccessAt, &l.LastErrorClass, &l.LastError,
		&l.ConsecutiveFailures, &l.ConsentedAt, &l.CreatedAt, &l.UpdatedAt)
	l.Status = pfm.LinkStatus(status)
	return l, err
}

// LinkConsent is what a completed consent writes to its link.
type LinkConsent struct {
	InstitutionID int64
	AppUserRef    string
	BannoUserID   string
	// BannoInstitutionID is the ID token's institution_id claim (empty:
	// not sent; a re-consent without it keeps the one stored).
	BannoInstitutionID string
	GrantedScopes      []string
	MissingScopes      []string
	// NextSyncAt is when the scheduler should next consider the link.
	NextSyncAt time.Time
}

// UpsertLinkConsent records a consent: a new link, or the existing link of
// the same institution, Banno user and app user updated and reactivated
// (never duplicated; a link an operator disabled stays disabled). It
// reports whether the link was created.
func (s *Store) UpsertLinkConsent(ctx context.Context, c LinkConsent) (pfm.Link, bool, error) {
	var id string
	var created bool
	err := s.db.QueryRow(ctx, `
		INSERT INTO links (institution_id, app_user_ref, banno_user_id, granted_scopes, missing_scopes, next_sync_at, banno_institution_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (institution_id, banno_user_id, app_user_ref) DO UPDATE SET
			-- An operator's "disabled" outlives a re-consent.
			status               = CASE WHEN links.status = 'disabled' THEN links.status ELSE 'active' END,
			granted_scopes       = EXCLUDED.granted_scopes,
			banno_institution_id = coalesce(nullif(EXCLUDED.banno_institution_id, ''), links.banno_institution_id),
			missing_scopes       = EXCLUDED.missing_scopes,
			next_sync_at         = CASE WHEN links.status = 'disabled' THEN NULL ELSE EXCLUDED.next_sync_at END,
			consecutive_failures = 0,
			last_error_class     = NULL,
			last_error           = NULL,
			consented_at         = now(),
			updated_at           = now()
		RETURNING id, (xmax = 0)`,
		c.InstitutionID, c.AppUserRef, c.BannoUserID, nonNil(c.GrantedScopes), nonNil(c.MissingScopes), c.NextSyncAt, c.BannoInstitutionID,
	).Scan(&id, &created)
	if err != nil {
		return pfm.Link{}, false, translate(err, "upsert link for app user")
	}
	l, err := s.Link(ctx, id)
	return l, created, err
}

// Link returns one link.
func (s *Store) Link(ctx context.Context, id string) (pfm.Link, error) {
	rows, err := s.db.Query(ctx, `SELECT `+linkColumns+linkFrom+`WHERE l.id = $1`, id)
	if err != nil {
		return pfm.Link{}, translate(err, "get link %s", id)
	}
	l, err := pgx.CollectExactlyOneRow(rows, scanLink)
	return l, translate(err, "get link %s", id)
}

// LinksByAppUser lists an app user's links, newest consent first.
func (s *Store) LinksByAppUser(ctx context.Context, appUserRef string) ([]pfm.Link, error) {
	rows, err := s.db.Query(ctx, `SELECT `+linkColumns+linkFrom+`WHERE l.app_user_ref = $1 ORDER BY l.consented_at DESC, l.id`, appUserRef)
	if err != nil {
		return nil, translate(err, "list links of app user")
	}
	out, err := pgx.CollectRows(rows, scanLink)
	return out, translate(err, "list links of app user")
}

// Links lists every link, by institution, then app user, then id.
func (s *Store) Links(ctx context.Context) ([]pfm.Link, error) {
	rows, err := s.db.Query(ctx, `SELECT `+linkColumns+linkFrom+`ORDER BY i.slug, l.app_user_ref, l.id`)
	if err != nil {
		return nil, translate(err, "list links")
	}
	out, err := pgx.CollectRows(rows, scanLink)
	return out, translate(err, "list links")
}

// SetLinkStatus moves a link to status, recording an error class and message
// (empty for none). Only active links keep a next_sync_at.
func (s *Store) SetLinkStatus(ctx context.Context, id string, status pfm.LinkStatus, errClass pfm.ErrorClass, errMsg string) error {
	tag, err := s.db.Exec(ctx, `
		UPDATE links SET
			status           = $2::link_status,
			next_sync_at     = CASE WHEN $2::link_status = 'active' THEN coalesce(next_sync_at, now()) ELSE NULL END,
			last_error_class = nullif($3, ''),
			last_error       = nullif($4, ''),
			updated_at       = now()
		WHERE id = $1`, id, string(status), string(errClass), errMsg)
	if err != nil {
		return translate(err, "set status of link %s", id)
	}
	if tag.RowsAffected() == 0 {
		return translate(pgx.ErrNoRows, "set status of link %s", id)
	}
	return nil
}

// MarkReauthRequired records that the bank refused the link's refresh token,
// unless the user consented again after consentedAt (the consent the
// failing sync started from): a re-consent racing a failing sync wins. It
// reports whether the link changed.
func (s *Store) MarkReauthRequired(ctx context.Context, id string, consentedAt time.Time, errClass pfm.ErrorClass, errMsg string) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		UPDATE links SET status = 'reauth_required', next_sync_at = NULL,
			last_error_class = nullif($3, ''), last_error = nullif($4, ''), updated_at = now()
		WHERE id = $1 AND status = 'active' AND consented_at <= $2`, id, consentedAt, string(errClass), errMsg)
	if err != nil {
		return false, translate(err, "mark link %s reauth_required", id)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteLink deletes a link with everything synced for it (accounts,
// transactions, balances, sync history, its token, its change-feed
// entries). The owner's change-feed horizon moves past the feed's head, so
// a consumer's next read tells it to reload.
func (s *Store) DeleteLink(ctx context.Context, id string) error {
	return s.Transact(ctx, func(tx *Store) error {
		if err := tx.bumpHorizonsToHead(ctx, []string{id}); err != nil {
			return err
		}
		tag, err := tx.db.Exec(ctx, `DELETE FROM links WHERE id = $1`, id)
		if err != nil {
			return translate(err, "delete link %s", id)
		}
		if tag.RowsAffected() == 0 {
			return translate(pgx.ErrNoRows, "delete link %s", id)
		}
		return nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
