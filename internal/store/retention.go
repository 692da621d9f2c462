package store

import (
	"context"
	"time"
)

// bumpHorizonsToHead moves the change-feed horizon of the owners of the
// given links past every seq handed out so far (a fresh value of the feed's
// sequence), under each owner's feed lock, when the link has synced data: any consumer's cursor is then
// below the horizon and gets the "reload" error, because rows it holds were
// deleted without a removal entry. Called before a link's data is purged.
func (s *Store) bumpHorizonsToHead(ctx context.Context, linkIDs []string) error {
	rows, err := s.db.Query(ctx, `
		SELECT DISTINCT l.app_user_ref FROM links l
		WHERE l.id = ANY($1::uuid[]) AND EXISTS (SELECT 1 FROM accounts a WHERE a.link_id = l.id)
		ORDER BY 1`, linkIDs)
	if err != nil {
		return translate(err, "find the owners of purged links")
	}
	var users []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return translate(err, "find the owners of purged links")
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err, "find the owners of purged links")
	}
	for _, u := range users {
		if err := s.lockFeed(ctx, u); err != nil {
			return err
		}
		_, err := s.db.Exec(ctx, `
			INSERT INTO transaction_change_horizons (app_user_ref, horizon_seq)
			VALUES ($1, nextval('transaction_change_seq'))
			ON CONFLICT (app_user_ref) DO UPDATE SET horizon_seq = EXCLUDED.horizon_seq, updated_at = now()`, u)
		if err != nil {
			return translate(err, "move the change feed horizon")
		}
	}
	return nil
}

// PurgeRevokedLinks deletes up to limit links that have been revoked since
// before t (oldest first), with everything synced for them and their
// queued jobs, and returns how many. Their owners' change-feed horizons
// move past the feed's head, so consumers reload. Call it repeatedly to
// purge in bounded batches.
func (s *Store) PurgeRevokedLinks(ctx context.Context, t time.Time, limit int) (int64, error) {
	var n int64
	err := s.Transact(ctx, func(tx *Store) error {
		rows, err := tx.db.Query(ctx, `
			SELECT id::text FROM links WHERE status = 'revoked' AND revoked_at < $1
			ORDER BY revoked_at LIMIT $2 FOR UPDATE SKIP LOCKED`, t, limit)
		if err != nil {
			return translate(err, "claim revoked links")
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return translate(err, "claim revoked links")
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err, "claim revoked links")
		}
		if len(ids) == 0 {
			return nil
		}
		if err := tx.bumpHorizonsToHead(ctx, ids); err != nil {
			return err
		}
		if _, err := tx.db.Exec(ctx, `DELETE FROM river_job WHERE args->>'link_id' = ANY($1::text[]) AND state <> 'running'`, ids); err != nil {
			return translate(err, "delete jobs of revoked links")
		}
		tag, err := tx.db.Exec(ctx, `DELETE FROM links WHERE id = ANY($1::uuid[])`, ids)
		if err != nil {
			return translate(err, "delete revoked links")
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}

// DeleteTransactionChangesBefore deletes the oldest change-feed pages
// recorded before t, about limit changes (whole pages: at least one, at
// most one page beyond limit), and returns how many changes went. Each
// affected app user's horizon moves to the highest seq deleted, so a
// cursor older than that fails in reporting.transaction_changes_since
// instead of silently skipping. Call it repeatedly to prune in bounded
// batches.
func (s *Store) DeleteTransactionChangesBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	var n int64
	err := s.Transact(ctx, func(tx *Store) error {
		return tx.db.QueryRow(ctx, `
			WITH oldest AS (
				SELECT p.app_user_ref, p.last_seq, sum(p.entries) OVER (ORDER BY p.changed_at, p.app_user_ref, p.last_seq) - p.entries AS before
				FROM (SELECT app_user_ref, last_seq, entries, changed_at FROM transaction_change_pages
					WHERE changed_at < $1 ORDER BY changed_at, app_user_ref, last_seq LIMIT $2) p
			), d AS (
				DELETE FROM transaction_change_pages WHERE (app_user_ref, last_seq) IN (
					SELECT app_user_ref, last_seq FROM oldest WHERE before < $2)
				RETURNING app_user_ref, last_seq, entries
			), h AS (
				INSERT INTO transaction_change_horizons (app_user_ref, horizon_seq)
				SELECT app_user_ref, max(last_seq) FROM d GROUP BY app_user_ref
				ON CONFLICT (app_user_ref) DO UPDATE
					SET horizon_seq = greatest(transaction_change_horizons.horizon_seq, EXCLUDED.horizon_seq), updated_at = now()
			)
			SELECT coalesce(sum(entries), 0) FROM d`, t, limit).Scan(&n)
	})
	if err != nil {
		return 0, translate(err, "delete change feed entries before %s", t.Format(time.RFC3339))
	}
	return n, nil
}

// DeleteEventsBefore deletes up to limit events written before t whose
// webhook is settled (delivered, dead or not_configured; never a pending
// one), lowest seq first, and returns how many. Each affected app user's
// events horizon moves to the highest seq deleted, so a cursor older than
// that fails in reporting.events_since instead of silently skipping. Call
// it repeatedly to prune in bounded batches.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	var n int64
	err := s.Transact(ctx, func(tx *Store) error {
		return tx.db.QueryRow(ctx, `
			WITH d AS (
				DELETE FROM events WHERE seq IN (
					SELECT seq FROM events WHERE created_at < $1 AND delivery_status <> 'pending'
					ORDER BY created_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
				RETURNING app_user_ref, seq
			), h AS (
				INSERT INTO event_horizons (app_user_ref, horizon_seq)
				SELECT app_user_ref, max(seq) FROM d GROUP BY app_user_ref
				ON CONFLICT (app_user_ref) DO UPDATE
					SET horizon_seq = greatest(event_horizons.horizon_seq, EXCLUDED.horizon_seq), updated_at = now()
			)
			SELECT count(*) FROM d`, t, limit).Scan(&n)
	})
	if err != nil {
		return 0, translate(err, "delete events before %s", t.Format(time.RFC3339))
	}
	return n, nil
}
