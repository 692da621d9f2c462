package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

const institutionColumns = `id, slug, display_name, issuer_url, api_base_url, client_id, created_at, updated_at`

func scanInstitution(row pgx.CollectableRow) (pfm.Institution, error) {
	var i pfm.Institution
	err := row.Scan(&i.ID, &i.Slug, &i.DisplayName, &i.IssuerURL, &i.APIBaseURL, &i.ClientID, &i.CreatedAt, &i.UpdatedAt)
	return i, err
}

// UpsertInstitution registers an institution or updates the one with the
// same slug, and returns the stored row. Configuration is the source of
// truth: binaries call this at start for every configured institution.
func (s *Store) UpsertInstitution(ctx context.Context, in pfm.Institution) (pfm.Institution, error) {
	rows, err := s.db.Query(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (slug) DO UPDATE SET
			display_name = EXCLUDED.display_name,
			issuer_url   = EXCLUDED.issuer_url,
			api_base_url = EXCLUDED.api_base_url,
			client_id    = EXCLUDED.client_id,
			updated_at   = CASE
				WHEN (institutions.display_name, institutions.issuer_url, institutions.api_base_url, institutions.client_id)
				     IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.issuer_url, EXCLUDED.api_base_url, EXCLUDED.client_id)
				THEN now() ELSE institutions.updated_at END
		RETURNING `+institutionColumns,
		in.Slug, in.DisplayName, in.IssuerURL, in.APIBaseURL, in.ClientID)
	if err != nil {
		return pfm.Institution{}, translate(err, "upsert institution %s", in.Slug)
	}
	out, err := pgx.CollectExactlyOneRow(rows, scanInstitution)
	return out, translate(err, "upsert institution %s", in.Slug)
}

// Institution returns the institution with the given slug, or an error
// matching pfm.ErrNotFound.
func (s *Store) Institution(ctx context.Context, slug string) (pfm.Institution, error) {
	rows, err := s.db.Query(ctx, `SELECT `+institutionColumns+` FROM institutions WHERE slug = $1`, slug)
	if err != nil {
		return pfm.Institution{}, translate(err, "get institution %s", slug)
	}
	out, err := pgx.CollectExactlyOneRow(rows, scanInstitution)
	return out, translate(err, "get institution %s", slug)
}

// Institutions lists every registered institution by slug.
func (s *Store) Institutions(ctx context.Context) ([]pfm.Institution, error) {
	rows, err := s.db.Query(ctx, `SELECT `+institutionColumns+` FROM institutions ORDER BY slug`)
	if err != nil {
		return nil, translate(err, "list institutions")
	}
	out, err := pgx.CollectRows(rows, scanInstitution)
	return out, translate(err, "list institutions")
}
