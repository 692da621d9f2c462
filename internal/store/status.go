package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

// The queries of the operator status page. They read links, sync runs,
// institutions and River's job table; never link_tokens or
// consent_requests.

// LinkStatusCounts counts links by status. Statuses without links are
// absent from the map.
func (s *Store) LinkStatusCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT status::text, count(*) FROM links GROUP BY status`)
	if err != nil {
		return nil, translate(err, "count links by status")
	}
	out := map[string]int{}
	var status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[status] = n
		return nil
	})
	if err != nil {
		return nil, translate(err, "count links by status")
	}
	return out, nil
}

// ListLinks lists links, the most recently attempted first (links never
// attempted last, newest first), skipping offset and returning at most
// limit. An empty status lists every link; an unknown one is refused with
// pfm.ErrInvalid.
func (s *Store) ListLinks(ctx context.Context, status string, offset, limit int) ([]pfm.Link, error) {
	if status != "" && !pfm.LinkStatus(status).Valid() {
		return nil, fmt.Errorf("list links with status %q: %w", status, pfm.ErrInvalid)
	}
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("list links: offset %d, limit %d: %w", offset, limit, pfm.ErrInvalid)
	}
	rows, err := s.db.Query(ctx, `SELECT `+linkColumns+linkFrom+`
		WHERE $1 = '' OR l.status::text = $1
		ORDER BY l.last_attempt_at DESC NULLS LAST, l.created_at DESC, l.id
		OFFSET $2 LIMIT $3`, status, offset, limit)
	if err != nil {
		return nil, translate(err, "list links")
	}
	out, err := pgx.CollectRows(rows, scanLink)
	return out, translate(err, "list links")
}

// SyncRunView is a sync run with the link and institution it belongs to.
type SyncRunView struct {
	SyncRun
	// AppUserRef is the link's app user.
	AppUserRef string
	// InstitutionSlug and InstitutionName name the link's institution.
	InstitutionSlug string
	InstitutionName string
}

// Duration is how long the run took, or zero while it runs (or if it
// never finished).
func (r SyncRunView) Duration() time.Duration {
	if r.FinishedAt == nil {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// RecentSyncRuns lists the most recent sync runs, newest first, at most
// limit: of one link when linkID is set, of every link otherwise.
func (s *Store) RecentSyncRuns(ctx context.Context, limit int, linkID string) ([]SyncRunView, error) {
	q := `
		SELECT sr.id, sr.link_id, coalesce(sr.job_id, 0), sr.attempt, sr.trigger, sr.started_at, sr.finished_at,
			coalesce(sr.outcome, ''), coalesce(sr.error_class, ''), coalesce(sr.error, ''), sr.accounts,
			sr.transactions_added, sr.transactions_modified, sr.transactions_removed, sr.api_calls,
			coalesce(sr.request_id, ''), l.app_user_ref, i.slug, i.display_name
		FROM sync_runs sr
		JOIN links l ON l.id = sr.link_id
		JOIN institutions i ON i.id = l.institution_id`
	args := []any{limit}
	if linkID != "" {
		q += ` WHERE sr.link_id = $2`
		args = append(args, linkID)
	}
	q += ` ORDER BY sr.started_at DESC, sr.id DESC LIMIT $1`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err, "list recent sync runs")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SyncRunView, error) {
		var r SyncRunView
		err := row.Scan(&r.ID, &r.LinkID, &r.JobID, &r.Attempt, &r.Trigger, &r.StartedAt, &r.FinishedAt,
			&r.Outcome, &r.ErrorClass, &r.Error, &r.Accounts, &r.Added, &r.Modified, &r.Removed, &r.APICalls,
			&r.RequestID, &r.AppUserRef, &r.InstitutionSlug, &r.InstitutionName)
		return r, err
	})
	return out, translate(err, "list recent sync runs")
}

// QueueStat describes one River queue: the jobs waiting in it and the jobs
// that ended badly lately.
type QueueStat struct {
	// Queue is the queue's name.
	Queue string
	// Available jobs can run now; Scheduled ones wait for their time;
	// Running ones are being worked; Retryable ones failed and wait for
	// their next attempt.
	Available int
	Scheduled int
	Running   int
	Retryable int
	// OldestAvailableAt is when the longest-waiting available job became
	// runnable (its scheduled_at), nil when none is available.
	OldestAvailableAt *time.Time
	// Lag is how long that job has waited at the time asked about (zero
	// when none is available).
	Lag time.Duration
	// Completed, Discarded (attempts exhausted) and Cancelled count the
	// jobs that ended so in the last 24 hours.
	Completed24h int
	Discarded24h int
	Cancelled24h int
}

// QueueStats describes every queue that has jobs waiting or running, or
// jobs that ended in the 24 hours before now, by queue name.
func (s *Store) QueueStats(ctx context.Context, now time.Time) ([]QueueStat, error) {
	rows, err := s.db.Query(ctx, `
		SELECT queue,
			count(*) FILTER (WHERE state = 'available'),
			count(*) FILTER (WHERE state = 'scheduled'),
			count(*) FILTER (WHERE state = 'running'),
			count(*) FILTER (WHERE state = 'retryable'),
			min(scheduled_at) FILTER (WHERE state = 'available'),
			count(*) FILTER (WHERE state = 'completed'),
			count(*) FILTER (WHERE state = 'discarded'),
			count(*) FILTER (WHERE state = 'cancelled')
		FROM river_job
		WHERE state IN ('available', 'scheduled', 'running', 'retryable')
		   OR (state IN ('completed', 'discarded', 'cancelled') AND finalized_at >= $1)
		GROUP BY queue
		ORDER BY queue`, now.Add(-24*time.Hour))
	if err != nil {
		return nil, translate(err, "read queue statistics")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (QueueStat, error) {
		var q QueueStat
		err := row.Scan(&q.Queue, &q.Available, &q.Scheduled, &q.Running, &q.Retryable, &q.OldestAvailableAt,
			&q.Completed24h, &q.Discarded24h, &q.Cancelled24h)
		if q.OldestAvailableAt != nil {
			q.Lag = max(0, now.Sub(*q.OldestAvailableAt))
		}
		return q, err
	})
	return out, translate(err, "read queue statistics")
}

// ClassCount is how many runs failed with one error class.
type ClassCount struct {
	Class pfm.ErrorClass
	Count int
}

// InstitutionHealth is how one institution's syncs went since a given
// time.
type InstitutionHealth struct {
	InstitutionID int64
	Slug          string
	Name          string
	// Links counts the institution's links; ActiveLinks those synced on
	// schedule.
	Links       int
	ActiveLinks int
	// Runs counts the sync runs started in the window, whatever their
	// outcome (running ones included).
	Runs int
	// Succeeded counts runs that ended success or partial.
	Succeeded int
	// Failed counts runs that ended failed or reauth_required.
	Failed int
	// ReauthRequired counts runs the bank ended by refusing the refresh
	// token (also counted in Failed).
	ReauthRequired int
	// Snoozed counts runs put off because the bank rate limited them: not
	// failures.
	Snoozed int
	// Unfinished counts runs with no outcome: running, or cut short by a
	// crash.
	Unfinished int
	// FailuresByClass breaks Failed down by error class, most frequent
	// first ("unknown" for a failure without a class).
	FailuresByClass []ClassCount
	// LastSuccessAt is the most recent successful sync of any of its
	// links, at any time; nil if none ever succeeded.
	LastSuccessAt *time.Time
}

// FailureRate is the percentage of failed runs among the runs that ended
// in success or failure (snoozed, skipped and unfinished runs are not
// counted). ok is false when no run ended so.
func (h InstitutionHealth) FailureRate() (pct float64, ok bool) {
	decided := h.Succeeded + h.Failed
	if decided == 0 {
		return 0, false
	}
	return 100 * float64(h.Failed) / float64(decided), true
}

// InstitutionHealth reports, for every institution by slug, the sync runs
// started at or after since: how many, how they ended, and why they
// failed.
func (s *Store) InstitutionHealth(ctx context.Context, since time.Time) ([]InstitutionHealth, error) {
	rows, err := s.db.Query(ctx, `
		WITH runs AS (
			SELECT l.institution_id, sr.outcome, sr.error_class
			FROM sync_runs sr
			JOIN links l ON l.id = sr.link_id
			WHERE sr.started_at >= $1
		)
		SELECT i.id, i.slug, i.display_name, lk.links, lk.active_links, lk.last_success_at,
			coalesce(r.runs, 0), coalesce(r.succeeded, 0), coalesce(r.failed, 0), coalesce(r.reauth, 0),
			coalesce(r.snoozed, 0), coalesce(r.unfinished, 0),
			coalesce(fc.classes, '{}'), coalesce(fc.counts, '{}')
		FROM institutions i
		CROSS JOIN LATERAL (
			SELECT count(*) AS links,
				count(*) FILTER (WHERE l.status = 'active') AS active_links,
				max(l.last_success_at) AS last_success_at
			FROM links l
			WHERE l.institution_id = i.id
		) lk
		LEFT JOIN (
			SELECT institution_id,
				count(*) AS runs,
				count(*) FILTER (WHERE outcome = ANY($2::text[])) AS succeeded,
				count(*) FILTER (WHERE outcome = ANY($3::text[])) AS failed,
				count(*) FILTER (WHERE outcome = $4::text) AS reauth,
				count(*) FILTER (WHERE outcome = $5::text) AS snoozed,
				count(*) FILTER (WHERE outcome IS NULL) AS unfinished
			FROM runs
			GROUP BY institution_id
		) r ON r.institution_id = i.id
		LEFT JOIN LATERAL (
			SELECT array_agg(c.class ORDER BY c.n DESC, c.class) AS classes,
				array_agg(c.n ORDER BY c.n DESC, c.class) AS counts
			FROM (
				SELECT coalesce(nullif(error_class, ''), $6::text) AS class, count(*) AS n
				FROM runs
				WHERE runs.institution_id = i.id AND outcome = ANY($3::text[])
				GROUP BY 1
			) c
		) fc ON true
		ORDER BY i.slug`, since, outcomeNames(pfm.SyncOutcomes(), pfm.SyncOutcome.Succeeded),
		outcomeNames(pfm.SyncOutcomes(), pfm.SyncOutcome.Failed), string(pfm.OutcomeReauthRequired),
		string(pfm.OutcomeSnoozed), string(pfm.ClassUnknown))
	if err != nil {
		return nil, translate(err, "read institution health")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (InstitutionHealth, error) {
		var h InstitutionHealth
		var classes []string
		var counts []int
		err := row.Scan(&h.InstitutionID, &h.Slug, &h.Name, &h.Links, &h.ActiveLinks, &h.LastSuccessAt,
			&h.Runs, &h.Succeeded, &h.Failed, &h.ReauthRequired, &h.Snoozed, &h.Unfinished, &classes, &counts)
		for i := range min(len(classes), len(counts)) {
			h.FailuresByClass = append(h.FailuresByClass, ClassCount{Class: pfm.ErrorClass(classes[i]), Count: counts[i]})
		}
		return h, err
	})
	return out, translate(err, "read institution health")
}

// SyncFreshness is how current the synced data is.
type SyncFreshness struct {
	// LastRunAt is when the most recent sync run started; nil if none
	// ever did.
	LastRunAt *time.Time
	// LastSuccessAt is the most recent successful sync of any link.
	LastSuccessAt *time.Time
	// StalestActiveSuccessAt is the oldest last success among active
	// links that have one: every active link synced since then.
	StalestActiveSuccessAt *time.Time
	// ActiveNeverSynced counts active links that never synced
	// successfully.
	ActiveNeverSynced int
	// Overdue counts active links whose next sync was due before the time
	// asked about and that the scheduler has not claimed.
	Overdue int
}

// SyncFreshness reports how current the synced data is; links due before
// overdueBefore and not yet claimed by the scheduler count as overdue.
func (s *Store) SyncFreshness(ctx context.Context, overdueBefore time.Time) (SyncFreshness, error) {
	var f SyncFreshness
	err := s.db.QueryRow(ctx, `
		SELECT
			(SELECT max(started_at) FROM sync_runs),
			max(last_success_at),
			min(last_success_at) FILTER (WHERE status = 'active'),
			count(*) FILTER (WHERE status = 'active' AND last_success_at IS NULL),
			count(*) FILTER (WHERE status = 'active' AND next_sync_at < $1)
		FROM links`, overdueBefore).Scan(&f.LastRunAt, &f.LastSuccessAt, &f.StalestActiveSuccessAt,
		&f.ActiveNeverSynced, &f.Overdue)
	if err != nil {
		return SyncFreshness{}, translate(err, "read sync freshness")
	}
	return f, nil
}

// LinkDataCounts is what one link has stored: its accounts (Closed of them
// marked inactive) and its transactions (Removed of them removed by the
// bank since).
type LinkDataCounts struct {
	Accounts, ClosedAccounts       int
	Transactions, Removed, Pending int
}

// LinkDataCounts counts the accounts and transactions stored for a link.
func (s *Store) LinkDataCounts(ctx context.Context, linkID string) (LinkDataCounts, error) {
	var c LinkDataCounts
	err := s.db.QueryRow(ctx, `
		SELECT
			(SELECT count(*) FROM accounts WHERE link_id = $1),
			(SELECT count(*) FROM accounts WHERE link_id = $1 AND inactive_at IS NOT NULL),
			count(t.id) FILTER (WHERE t.removed_at IS NULL),
			count(t.id) FILTER (WHERE t.removed_at IS NOT NULL),
			count(t.id) FILTER (WHERE t.removed_at IS NULL AND t.pending)
		FROM accounts a JOIN transactions t ON t.account_id = a.id
		WHERE a.link_id = $1`, linkID).Scan(&c.Accounts, &c.ClosedAccounts, &c.Transactions, &c.Removed, &c.Pending)
	return c, translate(err, "count link %s data", linkID)
}

// outcomeNames returns the outcomes for which keep is true, as text for a
// query parameter.
func outcomeNames(all []pfm.SyncOutcome, keep func(pfm.SyncOutcome) bool) []string {
	var out []string
	for _, o := range all {
		if keep(o) {
			out = append(out, string(o))
		}
	}
	return out
}
