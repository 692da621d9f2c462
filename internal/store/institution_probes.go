package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

// InstitutionProbe is one run of the institution probe: its findings and
// the evidence the next run compares against, as JSON.
type InstitutionProbe struct {
	ID            int64
	InstitutionID int64
	// LinkID is the link whose consent the probe used ("" once erased).
	LinkID          string
	StartedAt       time.Time
	FinishedAt      time.Time
	Requests        int
	MatchedProfiles []string
	Findings        json.RawMessage
	Evidence        json.RawMessage
}

// InsertInstitutionProbe records a probe run and returns its id.
func (s *Store) InsertInstitutionProbe(ctx context.Context, p InstitutionProbe) (int64, error) {
	if p.MatchedProfiles == nil {
		p.MatchedProfiles = []string{}
	}
	if len(p.Evidence) == 0 {
		p.Evidence = json.RawMessage(`{}`)
	}
	var link *string
	if p.LinkID != "" {
		link = &p.LinkID
	}
	var id int64
	err := s.db.QueryRow(ctx, `
		INSERT INTO institution_probes (institution_id, link_id, started_at, finished_at, requests, matched_profiles, findings, evidence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		p.InstitutionID, link, p.StartedAt, p.FinishedAt, p.Requests, p.MatchedProfiles, []byte(p.Findings), []byte(p.Evidence)).Scan(&id)
	if err != nil {
		return 0, translate(err, "record a probe of institution %d", p.InstitutionID)
	}
	return id, nil
}

// LatestInstitutionProbe returns the most recent probe run of an
// institution that used the given link, or pfm.ErrNotFound.
func (s *Store) LatestInstitutionProbe(ctx context.Context, institutionID int64, linkID string) (InstitutionProbe, error) {
	var (
		p        InstitutionProbe
		link     *string
		findings []byte
		evidence []byte
	)
	err := s.db.QueryRow(ctx, `
		SELECT id, institution_id, link_id::text, started_at, finished_at, requests, matched_profiles, findings, evidence
		FROM institution_probes WHERE institution_id = $1 AND link_id = $2
		ORDER BY finished_at DESC, id DESC LIMIT 1`, institutionID, linkID).
		Scan(&p.ID, &p.InstitutionID, &link, &p.StartedAt, &p.FinishedAt, &p.Requests, &p.MatchedProfiles, &findings, &evidence)
	if errors.Is(err, pgx.ErrNoRows) {
		return InstitutionProbe{}, pfm.ErrNotFound
	}
	if err != nil {
		return InstitutionProbe{}, translate(err, "read the latest probe of institution %d", institutionID)
	}
	if link != nil {
		p.LinkID = *link
	}
	p.Findings, p.Evidence = findings, evidence
	return p, nil
}

// InstitutionProbeCount counts the probe runs of an institution.
func (s *Store) InstitutionProbeCount(ctx context.Context, institutionID int64) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM institution_probes WHERE institution_id = $1`, institutionID).Scan(&n); err != nil {
		return 0, translate(err, "count the probes of institution %d", institutionID)
	}
	return n, nil
}
