package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

// SyncRun is one sync attempt of a link.
type SyncRun struct {
	ID         int64
	LinkID     string
	JobID      int64
	Attempt    int
	Trigger    string
	StartedAt  time.Time
	FinishedAt *time.Time
	Outcome    pfm.SyncOutcome
	ErrorClass pfm.ErrorClass
	Error      string
	Accounts   int
	Added      int
	Modified   int
	Removed    int
	APICalls   int
}

// StartSyncRun records the start of a sync attempt and returns its id.
func (s *Store) StartSyncRun(ctx context.Context, linkID string, jobID int64, attempt int, trigger string) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `
		INSERT INTO sync_runs (link_id, job_id, attempt, trigger) VALUES ($1, $2, $3, $4) RETURNING id`,
		linkID, jobID, attempt, trigger).Scan(&id)
	if err != nil {
		return 0, translate(err, "start sync run of link %s", linkID)
	}
	_, err = s.db.Exec(ctx, `UPDATE links SET last_attempt_at = now() WHERE id = $1`, linkID)
	return id, translate(err, "start sync run of link %s", linkID)
}

// FinishSyncRun records how a sync attempt ended.
func (s *Store) FinishSyncRun(ctx context.Context, r SyncRun) error {
	_, err := s.db.Exec(ctx, `
		UPDATE sync_runs SET finished_at = now(), outcome = $2, error_class = nullif($3, ''), error = nullif($4, ''),
			accounts = $5, transactions_added = $6, transactions_modified = $7, transactions_removed = $8, api_calls = $9
		WHERE id = $1`,
		r.ID, string(r.Outcome), string(r.ErrorClass), r.Error, r.Accounts, r.Added, r.Modified, r.Removed, r.APICalls)
	return translate(err, "finish sync run %d", r.ID)
}

// SyncRuns lists a link's most recent runs, newest first.
func (s *Store) SyncRuns(ctx context.Context, linkID string, limit int) ([]SyncRun, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, link_id, coalesce(job_id, 0), attempt, trigger, started_at, finished_at, coalesce(outcome, ''),
			coalesce(error_class, ''), coalesce(error, ''), accounts, transactions_added, transactions_modified,
			transactions_removed, api_calls
		FROM sync_runs WHERE link_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, linkID, limit)
	if err != nil {
		return nil, translate(err, "list sync runs of link %s", linkID)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SyncRun, error) {
		var r SyncRun
		err := row.Scan(&r.ID, &r.LinkID, &r.JobID, &r.Attempt, &r.Trigger, &r.StartedAt, &r.FinishedAt, &r.Outcome,
			&r.ErrorClass, &r.Error, &r.Accounts, &r.Added, &r.Modified, &r.Removed, &r.APICalls)
		return r, err
	})
	return out, translate(err, "list sync runs of link %s", linkID)
}

// RecordSyncSuccess marks a link synced: failures reset, missing scopes
// recorded, next sync at next.
func (s *Store) RecordSyncSuccess(ctx context.Context, linkID string, missingScopes []string, next time.Time) error {
	_, err := s.db.Exec(ctx, `
		UPDATE links SET last_success_at = now(), consecutive_failures = 0, last_error_class = NULL,
			last_error = NULL, missing_scopes = $2,
			next_sync_at = CASE WHEN status = 'active' THEN $3::timestamptz ELSE NULL END, updated_at = now()
		WHERE id = $1`, linkID, nonNil(missingScopes), next)
	return translate(err, "record sync success of link %s", linkID)
}

// RecordSyncFailure records a failed attempt: the error class and message,
// one more consecutive failure.
func (s *Store) RecordSyncFailure(ctx context.Context, linkID string, errClass pfm.ErrorClass, errMsg string) error {
	_, err := s.db.Exec(ctx, `
		UPDATE links SET consecutive_failures = consecutive_failures + 1, last_error_class = nullif($2, ''),
			last_error = nullif($3, ''), updated_at = now()
		WHERE id = $1`, linkID, string(errClass), errMsg)
	return translate(err, "record sync failure of link %s", linkID)
}

// DeleteSyncRunsBefore deletes up to limit sync runs that started before t
// (oldest first) and returns how many; call it repeatedly to prune in
// bounded batches.
func (s *Store) DeleteSyncRunsBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	tag, err := s.db.Exec(ctx, `
		DELETE FROM sync_runs WHERE id IN (
			SELECT id FROM sync_runs WHERE started_at < $1 ORDER BY started_at LIMIT $2)`, t, limit)
	if err != nil {
		return 0, translate(err, "delete sync runs before %s", t.Format(time.RFC3339))
	}
	return tag.RowsAffected(), nil
}
