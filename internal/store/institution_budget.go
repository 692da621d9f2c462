package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// BudgetGrant is the answer to TakeRequestTokens.
type BudgetGrant struct {
	// Granted is how many of the asked tokens were granted (0 to n).
	Granted int
	// Left is the bucket's remaining (fractional) tokens after the grant.
	Left float64
	// PausedFor is what remains of a pause the institution asked for; no
	// token is granted while it lasts.
	PausedFor time.Duration
}

// EnsureInstitutionBudget creates the institution's request bucket (full,
// holding size tokens) and its slots 1..slots, when missing. Existing rows
// are kept: several processes call it at start.
func (s *Store) EnsureInstitutionBudget(ctx context.Context, slug string, size float64, slots int) error {
	_, err := s.db.Exec(ctx, `
		WITH budget AS (
			INSERT INTO institution_budgets (institution_slug, tokens) VALUES ($1, $2)
			ON CONFLICT (institution_slug) DO NOTHING
		)
		INSERT INTO institution_sync_slots (institution_slug, slot)
		SELECT $1, g FROM generate_series(1, $3::int) AS g
		ON CONFLICT (institution_slug, slot) DO NOTHING`, slug, size, slots)
	return translate(err, "create request budget of institution %s", slug)
}

// TakeRequestTokens takes up to n request tokens from the institution's
// shared bucket in one statement: the bucket is refilled at rate tokens per
// second (database clock) up to size, then min(n, whole tokens available)
// are granted, none while the institution's pause lasts.
func (s *Store) TakeRequestTokens(ctx context.Context, slug string, n int, rate, size float64) (BudgetGrant, error) {
	var g BudgetGrant
	var pausedMS float64
	// avail is the refilled bucket; now() is the statement's start, and a
	// refill never goes backwards when another process's clock ran ahead.
	// The commit does not wait for the WAL flush: a database crash can at
	// worst forget the last few debits, while a flush per take would cost
	// more than the request it gates. The three statements travel in one
	// round trip.
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN`)
	batch.Queue(`SET LOCAL synchronous_commit TO off`)
	batch.Queue(`
		UPDATE institution_budgets b SET
			tokens = c.avail - c.granted,
			refilled_at = greatest(b.refilled_at, now()),
			updated_at = now()
		FROM (
			SELECT institution_slug, avail,
			       CASE WHEN paused_until > now() THEN 0 ELSE least($2::int, floor(avail)::int) END AS granted,
			       coalesce(greatest(extract(epoch FROM paused_until - now())::float8, 0), 0) * 1000 AS paused_ms
			FROM (
				SELECT institution_slug, paused_until,
				       least($4::float8, tokens + greatest(0, extract(epoch FROM now() - refilled_at)::float8) * $3::float8) AS avail
				FROM institution_budgets WHERE institution_slug = $1 FOR UPDATE
			) r
		) c
		WHERE b.institution_slug = c.institution_slug
		RETURNING c.granted, c.avail - c.granted, c.paused_ms`, slug, n, rate, size).QueryRow(func(row pgx.Row) error {
		return row.Scan(&g.Granted, &g.Left, &pausedMS)
	})
	batch.Queue(`COMMIT`)
	err := s.db.SendBatch(ctx, batch).Close()
	if err != nil {
		return BudgetGrant{}, translate(err, "take request tokens of institution %s", slug)
	}
	g.PausedFor = time.Duration(pausedMS * float64(time.Millisecond))
	return g, nil
}

// PauseInstitution stops every process's requests to the institution for
// d from now (database clock), unless a longer pause is already set, and
// returns how long the pause in force lasts from now.
func (s *Store) PauseInstitution(ctx context.Context, slug string, d time.Duration, reason string) (time.Duration, error) {
	var ms float64
	err := s.db.QueryRow(ctx, `
		UPDATE institution_budgets SET
			paused_until = greatest(coalesce(paused_until, now()), now() + $2::bigint * interval '1 microsecond'),
			pause_reason = CASE WHEN paused_until IS NULL OR paused_until < now() + $2::bigint * interval '1 microsecond' THEN $3 ELSE pause_reason END,
			updated_at = now()
		WHERE institution_slug = $1
		RETURNING extract(epoch FROM paused_until - now())::float8 * 1000`, slug, d.Microseconds(), reason).Scan(&ms)
	if err != nil {
		return 0, translate(err, "pause institution %s", slug)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// SyncSlotLease is a held concurrent-sync slot.
type SyncSlotLease struct {
	Slug    string
	Slot    int
	LeaseID string
}

// AcquireSyncSlot leases a free slot among the institution's first max
// slots (a slot is free when unleased or its lease expired) for ttl, and
// reports false when all are taken. Concurrent callers never get the same
// slot: the row is claimed with FOR UPDATE SKIP LOCKED.
func (s *Store) AcquireSyncSlot(ctx context.Context, slug string, max int, holder string, ttl time.Duration) (SyncSlotLease, bool, error) {
	rows, err := s.db.Query(ctx, `
		UPDATE institution_sync_slots s SET
			lease_id = gen_random_uuid(),
			holder = $3,
			expires_at = now() + $4::bigint * interval '1 microsecond'
		WHERE (s.institution_slug, s.slot) = (
			SELECT institution_slug, slot FROM institution_sync_slots
			WHERE institution_slug = $1 AND slot <= $2 AND (expires_at IS NULL OR expires_at < now())
			ORDER BY slot LIMIT 1
			FOR UPDATE SKIP LOCKED)
		RETURNING s.slot, s.lease_id::text`, slug, max, holder, ttl.Microseconds())
	if err != nil {
		return SyncSlotLease{}, false, translate(err, "acquire sync slot of institution %s", slug)
	}
	defer rows.Close()
	l := SyncSlotLease{Slug: slug}
	if !rows.Next() {
		return SyncSlotLease{}, false, translate(rows.Err(), "acquire sync slot of institution %s", slug)
	}
	if err := rows.Scan(&l.Slot, &l.LeaseID); err != nil {
		return SyncSlotLease{}, false, translate(err, "acquire sync slot of institution %s", slug)
	}
	return l, true, translate(rows.Err(), "acquire sync slot of institution %s", slug)
}

// RenewSyncSlot extends a lease by ttl from now. It reports false when the
// lease is no longer held (it expired and another process took the slot).
func (s *Store) RenewSyncSlot(ctx context.Context, l SyncSlotLease, ttl time.Duration) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		UPDATE institution_sync_slots SET expires_at = now() + $4::bigint * interval '1 microsecond'
		WHERE institution_slug = $1 AND slot = $2 AND lease_id = $3::uuid`, l.Slug, l.Slot, l.LeaseID, ttl.Microseconds())
	if err != nil {
		return false, translate(err, "renew sync slot %d of institution %s", l.Slot, l.Slug)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseSyncSlot frees a lease; a lease already reclaimed by another
// process is left alone.
func (s *Store) ReleaseSyncSlot(ctx context.Context, l SyncSlotLease) error {
	_, err := s.db.Exec(ctx, `
		UPDATE institution_sync_slots SET lease_id = NULL, holder = NULL, expires_at = NULL
		WHERE institution_slug = $1 AND slot = $2 AND lease_id = $3::uuid`, l.Slug, l.Slot, l.LeaseID)
	if err != nil {
		return translate(err, "release sync slot %d of institution %s", l.Slot, l.Slug)
	}
	return nil
}
