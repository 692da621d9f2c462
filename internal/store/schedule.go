package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DueLink is a link whose sync is due.
type DueLink struct {
	ID           string
	SyncInterval time.Duration
}

// ClaimDueLinks selects up to limit active links due at now (oldest first)
// and moves each one's next_sync_at to now + its interval + jitter(interval),
// all in the caller's transaction. Rows other transactions hold are
// skipped (FOR UPDATE SKIP LOCKED), so several schedulers never claim the
// same link. Insert the sync jobs in the same transaction: if it rolls
// back, the links stay due.
func (s *Store) ClaimDueLinks(ctx context.Context, now time.Time, limit int, jitter func(time.Duration) time.Duration) ([]DueLink, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, sync_interval FROM links
		WHERE status = 'active' AND next_sync_at <= $1
		ORDER BY next_sync_at
		LIMIT $2
		FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, translate(err, "claim due links")
	}
	due, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DueLink, error) {
		var d DueLink
		err := row.Scan(&d.ID, &d.SyncInterval)
		return d, err
	})
	if err != nil || len(due) == 0 {
		return due, translate(err, "claim due links")
	}
	ids, nexts := make([]string, len(due)), make([]time.Time, len(due))
	for i, d := range due {
		ids[i] = d.ID
		nexts[i] = now.Add(d.SyncInterval + jitter(d.SyncInterval))
	}
	_, err = s.db.Exec(ctx, `
		UPDATE links SET next_sync_at = t.next
		FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, next)
		WHERE links.id = t.id`, ids, nexts)
	return due, translate(err, "claim due links")
}
