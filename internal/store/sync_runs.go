package store

import (
	"context"
	"errors"
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
	// RequestID is the institution's x-request-id of the failed response.
	RequestID string
	Accounts  int
	Added     int
	Modified  int
	Removed   int
	APICalls  int
	// PartialReason says why a partial run is partial (forbidden,
	// quarantined, or both comma-separated).
	PartialReason string
	// Quarantined counts bank records set aside in quarantined_records.
	Quarantined int
	// StalePendingRemoved counts pending rows tombstoned as stale.
	StalePendingRemoved int
	// Reconcile is what the reconciliation pass did, if it ran.
	Reconcile ReconcileResult
}

// ReconcileResult is what a reconciliation pass repaired.
type ReconcileResult struct {
	// Ran is true when the run included a reconciliation pass; Reason
	// says why (scheduled, old_pending, repeated_page, shrunk_count).
	Ran    bool
	Reason string
	// Removed, Modified and Added are the repairs: live rows the bank no
	// longer returns, rows it returns changed, rows the feed never gave.
	Removed, Modified, Added int
	// RowsRead counts the stored rows compared; Requests the bank calls.
	RowsRead, Requests int
}

// Repairs is the total number of rows repaired.
func (r ReconcileResult) Repairs() int { return r.Removed + r.Modified + r.Added }

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
			accounts = $5, transactions_added = $6, transactions_modified = $7, transactions_removed = $8, api_calls = $9,
			partial_reason = nullif($10, ''), quarantined = $11, stale_pending_removed = $12, reconciled = $13,
			reconcile_reason = nullif($14, ''), repaired_removed = $15, repaired_modified = $16, repaired_added = $17,
			request_id = nullif($18, '')
		WHERE id = $1`,
		r.ID, string(r.Outcome), string(r.ErrorClass), r.Error, r.Accounts, r.Added, r.Modified, r.Removed, r.APICalls,
		r.PartialReason, r.Quarantined, r.StalePendingRemoved, r.Reconcile.Ran, r.Reconcile.Reason,
		r.Reconcile.Removed, r.Reconcile.Modified, r.Reconcile.Added, r.RequestID)
	return translate(err, "finish sync run %d", r.ID)
}

// SyncRuns lists a link's most recent runs, newest first.
func (s *Store) SyncRuns(ctx context.Context, linkID string, limit int) ([]SyncRun, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, link_id, coalesce(job_id, 0), attempt, trigger, started_at, finished_at, coalesce(outcome, ''),
			coalesce(error_class, ''), coalesce(error, ''), accounts, transactions_added, transactions_modified,
			transactions_removed, api_calls, coalesce(partial_reason, ''), quarantined, stale_pending_removed,
			reconciled, coalesce(reconcile_reason, ''), repaired_removed, repaired_modified, repaired_added,
			coalesce(request_id, '')
		FROM sync_runs WHERE link_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, linkID, limit)
	if err != nil {
		return nil, translate(err, "list sync runs of link %s", linkID)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SyncRun, error) {
		var r SyncRun
		err := row.Scan(&r.ID, &r.LinkID, &r.JobID, &r.Attempt, &r.Trigger, &r.StartedAt, &r.FinishedAt, &r.Outcome,
			&r.ErrorClass, &r.Error, &r.Accounts, &r.Added, &r.Modified, &r.Removed, &r.APICalls,
			&r.PartialReason, &r.Quarantined, &r.StalePendingRemoved, &r.Reconcile.Ran, &r.Reconcile.Reason,
			&r.Reconcile.Removed, &r.Reconcile.Modified, &r.Reconcile.Added, &r.RequestID)
		return r, err
	})
	return out, translate(err, "list sync runs of link %s", linkID)
}

// RecordSyncSuccess marks a link synced: failures reset, missing scopes
// recorded, next sync at next.
func (s *Store) RecordSyncSuccess(ctx context.Context, linkID string, missingScopes []string, next time.Time) error {
	_, err := s.db.Exec(ctx, `
		UPDATE links SET last_success_at = now(), consecutive_failures = 0, consecutive_auth_failures = 0,
			last_error_class = NULL,
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

// RecordAuthFailure records a refresh the institution refused with a
// non-standard authentication error: one more failure and one more
// consecutive authentication failure. When the count reaches threshold (and
// the user has not consented again after consentedAt), the link moves to
// reauth_required; it reports whether it did.
func (s *Store) RecordAuthFailure(ctx context.Context, linkID string, consentedAt time.Time, threshold int, errClass pfm.ErrorClass, errMsg string) (bool, error) {
	var status string
	err := s.db.QueryRow(ctx, `
		UPDATE links SET consecutive_failures = consecutive_failures + 1,
			consecutive_auth_failures = consecutive_auth_failures + 1,
			status = CASE WHEN consecutive_auth_failures + 1 >= $2 AND consented_at <= $3
				THEN 'reauth_required'::link_status ELSE status END,
			next_sync_at = CASE WHEN consecutive_auth_failures + 1 >= $2 AND consented_at <= $3
				THEN NULL ELSE next_sync_at END,
			last_error_class = nullif($4, ''), last_error = nullif($5, ''), updated_at = now()
		WHERE id = $1 AND status = 'active'
		RETURNING status::text`, linkID, threshold, consentedAt, string(errClass), errMsg).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, translate(err, "record authentication failure of link %s", linkID)
	}
	return status == string(pfm.LinkReauthRequired), nil
}

// RescheduleDiscardedSyncs finds sync jobs (River kind jobKind, the link id
// in args.link_id) that River discarded after exhausting their attempts,
// finalized after since and not yet recorded on their link. Each active
// link gets the job recorded, the error class errClass and a sync due now,
// so that the next scheduler pass queues it again. It returns the links.
func (s *Store) RescheduleDiscardedSyncs(ctx context.Context, jobKind string, since time.Time, errClass pfm.ErrorClass) ([]string, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE links l SET last_discarded_job_id = j.id, last_discarded_at = j.finalized_at,
			next_sync_at = now(), consecutive_failures = consecutive_failures + 1,
			last_error_class = $3,
			last_error = 'the sync job was discarded after ' || j.attempt || ' attempts; scheduled again',
			updated_at = now()
		FROM (
			SELECT DISTINCT ON (args->>'link_id') id, attempt, finalized_at, args->>'link_id' AS link_id
			FROM river_job
			WHERE kind = $1 AND state = 'discarded' AND finalized_at > $2
			ORDER BY args->>'link_id', id DESC
		) j
		WHERE l.id::text = j.link_id AND l.status = 'active'
			AND (l.last_discarded_job_id IS NULL OR l.last_discarded_job_id < j.id)
		RETURNING l.id::text`, jobKind, since, string(errClass))
	if err != nil {
		return nil, translate(err, "reschedule discarded syncs")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "reschedule discarded syncs")
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
