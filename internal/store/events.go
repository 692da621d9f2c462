package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventsChannel is the Postgres NOTIFY channel every event is published on,
// in the transaction that writes it.
const EventsChannel = "pfmsync_events"

// Delivery statuses of an event's webhook.
const (
	EventPending       = "pending"
	EventDelivered     = "delivered"
	EventDead          = "dead"
	EventNotConfigured = "not_configured"
)

// EventInput is a new event of the outbox.
type EventInput struct {
	AppUserRef string
	LinkID     string
	Type       string
	Payload    json.RawMessage
	// Deliver queues a webhook delivery; without it the event is recorded
	// as not_configured (it still reaches NOTIFY and events_since).
	Deliver bool
}

// Event is one row of the outbox.
type Event struct {
	Seq            int64
	ID             string
	AppUserRef     string
	LinkID         string
	Type           string
	Payload        json.RawMessage
	CreatedAt      time.Time
	DeliveryStatus string
	Attempts       int
	LastError      string
	NextAttemptAt  *time.Time
	DeliveredAt    *time.Time
}

// errOutsideTransaction refuses an event written on its own: it must share
// the transaction of the change it reports.
var errOutsideTransaction = errors.New("an event must be written in the transaction of the change it reports")

// InsertEvent writes an event to the outbox and publishes it on
// EventsChannel. It must run inside Transact: the event commits or rolls
// back with the change. Writers of one app user are serialized, so seq is
// in commit order per app user.
func (s *Store) InsertEvent(ctx context.Context, in EventInput) (Event, error) {
	if s.tx == nil {
		return Event{}, errOutsideTransaction
	}
	if _, err := s.db.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('pfmsync.events:' || $1, 0))`, in.AppUserRef); err != nil {
		return Event{}, translate(err, "lock events of app user")
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = json.RawMessage(`{}`)
	}
	status := EventNotConfigured
	if in.Deliver {
		status = EventPending
	}
	rows, err := s.db.Query(ctx, `
		WITH ins AS (
			INSERT INTO events (app_user_ref, link_id, type, payload, delivery_status)
			VALUES ($1, nullif($2, '')::uuid, $3, $4, $5::event_delivery_status)
			RETURNING *
		), note AS (
			SELECT pg_notify($6, CASE WHEN octet_length(j::text) < 7900 THEN j::text
				ELSE (j - 'data' || '{"data_omitted": true}')::text END)
			FROM (SELECT jsonb_build_object('seq', seq, 'id', id, 'type', type, 'app_user_ref', app_user_ref,
				'link_id', link_id, 'created_at', created_at, 'data', payload) AS j FROM ins) n
		)
		SELECT `+eventColumns+` FROM ins, (SELECT count(*) FROM note) n`,
		in.AppUserRef, in.LinkID, in.Type, []byte(payload), status, EventsChannel)
	if err != nil {
		return Event{}, translate(err, "insert %s event", in.Type)
	}
	ev, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	return ev, translate(err, "insert %s event", in.Type)
}

const eventColumns = `seq, id, app_user_ref, coalesce(link_id::text, ''), type, payload, created_at,
	delivery_status::text, attempts, coalesce(last_error, ''), next_attempt_at, delivered_at`

func scanEvent(row pgx.CollectableRow) (Event, error) {
	var e Event
	err := row.Scan(&e.Seq, &e.ID, &e.AppUserRef, &e.LinkID, &e.Type, &e.Payload, &e.CreatedAt,
		&e.DeliveryStatus, &e.Attempts, &e.LastError, &e.NextAttemptAt, &e.DeliveredAt)
	return e, err
}

// Event returns one event by seq.
func (s *Store) Event(ctx context.Context, seq int64) (Event, error) {
	rows, err := s.db.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE seq = $1`, seq)
	if err != nil {
		return Event{}, translate(err, "get event %d", seq)
	}
	ev, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	return ev, translate(err, "get event %d", seq)
}

// EventsSince returns up to limit events of an app user after seq, in seq
// order.
func (s *Store) EventsSince(ctx context.Context, appUserRef string, afterSeq int64, limit int) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE app_user_ref = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		appUserRef, afterSeq, limit)
	if err != nil {
		return nil, translate(err, "list events of app user")
	}
	out, err := pgx.CollectRows(rows, scanEvent)
	return out, translate(err, "list events of app user")
}

// EarlierPendingEvent returns the first event of the same link before seq
// whose delivery is still pending: a later event waits for it. ok is false
// when there is none.
func (s *Store) EarlierPendingEvent(ctx context.Context, linkID string, seq int64) (ev Event, ok bool, err error) {
	if linkID == "" {
		return Event{}, false, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE link_id = $1 AND seq < $2 AND delivery_status = 'pending' ORDER BY seq LIMIT 1`, linkID, seq)
	if err != nil {
		return Event{}, false, translate(err, "find earlier pending event of link %s", linkID)
	}
	ev, err = pgx.CollectExactlyOneRow(rows, scanEvent)
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, false, nil
	}
	return ev, err == nil, translate(err, "find earlier pending event of link %s", linkID)
}

// MarkEventDelivered records a successful delivery attempt.
func (s *Store) MarkEventDelivered(ctx context.Context, seq int64) error {
	_, err := s.db.Exec(ctx, `UPDATE events SET delivery_status = 'delivered', attempts = attempts + 1,
		delivered_at = now(), next_attempt_at = NULL, last_error = NULL WHERE seq = $1`, seq)
	return translate(err, "mark event %d delivered", seq)
}

// MarkEventAttemptFailed records a failed delivery attempt: the event is
// retried at next, or dead when dead is set.
func (s *Store) MarkEventAttemptFailed(ctx context.Context, seq int64, errMsg string, next time.Time, dead bool) error {
	_, err := s.db.Exec(ctx, `UPDATE events SET attempts = attempts + 1, last_error = $2,
		delivery_status = CASE WHEN $4 THEN 'dead'::event_delivery_status ELSE delivery_status END,
		next_attempt_at = CASE WHEN $4 THEN NULL ELSE $3::timestamptz END
		WHERE seq = $1 AND delivery_status = 'pending'`, seq, errMsg, next, dead)
	return translate(err, "record failed delivery of event %d", seq)
}

// MarkEventNotConfigured records that no endpoint takes the event.
func (s *Store) MarkEventNotConfigured(ctx context.Context, seq int64) error {
	_, err := s.db.Exec(ctx, `UPDATE events SET delivery_status = 'not_configured', next_attempt_at = NULL
		WHERE seq = $1 AND delivery_status = 'pending'`, seq)
	return translate(err, "mark event %d not configured", seq)
}

// DeleteEventsOfAppUser deletes every event of an app user (erasure) and
// returns how many.
func (s *Store) DeleteEventsOfAppUser(ctx context.Context, appUserRef string) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM events WHERE app_user_ref = $1`, appUserRef)
	if err != nil {
		return 0, translate(err, "delete events of app user")
	}
	return tag.RowsAffected(), nil
}

// EventDeliveryStats summarizes webhook delivery for the status page and
// metrics.
type EventDeliveryStats struct {
	Pending, Delivered, Dead, NotConfigured int64
	// OldestPending is when the oldest pending event was written.
	OldestPending *time.Time
	// LastDelivered is when the latest delivery succeeded.
	LastDelivered *time.Time
	// LastError is the error of the most recently failed pending or dead
	// event.
	LastError string
}

// EventDeliveryStats reads the delivery figures without counting the
// events table: the counts come from event_delivery_counts (deltas kept by
// triggers, folded by FoldEventDeliveryCounts), the rest from indexes on
// the few undelivered events and on delivered_at.
func (s *Store) EventDeliveryStats(ctx context.Context) (EventDeliveryStats, error) {
	var st EventDeliveryStats
	err := s.db.QueryRow(ctx, `
		SELECT coalesce(sum(n) FILTER (WHERE delivery_status = 'pending'), 0)::bigint,
			coalesce(sum(n) FILTER (WHERE delivery_status = 'delivered'), 0)::bigint,
			coalesce(sum(n) FILTER (WHERE delivery_status = 'dead'), 0)::bigint,
			coalesce(sum(n) FILTER (WHERE delivery_status = 'not_configured'), 0)::bigint,
			(SELECT min(created_at) FROM events WHERE delivery_status = 'pending'),
			(SELECT max(delivered_at) FROM events WHERE delivered_at IS NOT NULL),
			coalesce((SELECT last_error FROM events WHERE last_error IS NOT NULL AND delivery_status IN ('pending', 'dead')
				ORDER BY seq DESC LIMIT 1), '')
		FROM event_delivery_counts`).Scan(&st.Pending, &st.Delivered, &st.Dead, &st.NotConfigured, &st.OldestPending, &st.LastDelivered, &st.LastError)
	return st, translate(err, "read event delivery figures")
}

// FoldEventDeliveryCounts folds the delivery count deltas the triggers
// appended into one row per status, so EventDeliveryStats reads a handful
// of rows. The scheduler pass calls it; it is safe to run concurrently
// with writers and with itself (a row is folded by whoever deletes it).
func (s *Store) FoldEventDeliveryCounts(ctx context.Context) (int64, error) {
	var folded int64
	err := s.db.QueryRow(ctx, `
		WITH d AS (
			DELETE FROM event_delivery_counts RETURNING delivery_status, n
		), ins AS (
			INSERT INTO event_delivery_counts (delivery_status, n)
			SELECT delivery_status, sum(n) FROM d GROUP BY delivery_status HAVING sum(n) <> 0
		)
		SELECT count(*) FROM d`).Scan(&folded)
	return folded, translate(err, "fold event delivery counts")
}

// PendingEventsWithoutJob locks (SKIP LOCKED, until the transaction ends)
// and returns up to limit pending events, oldest first, that no River job
// of kind jobKind in a non-final state delivers: their job was lost
// (deleted, or discarded without settling the event). It must run inside
// Transact, which also queues their new jobs.
func (s *Store) PendingEventsWithoutJob(ctx context.Context, jobKind string, limit int) ([]int64, error) {
	if s.tx == nil {
		return nil, errors.New("find pending events without a job: needs a transaction")
	}
	rows, err := s.db.Query(ctx, `
		SELECT e.seq FROM events e
		WHERE e.delivery_status = 'pending'
		  AND NOT EXISTS (SELECT 1 FROM river_job j
			WHERE j.kind = $1 AND j.args @> jsonb_build_object('seq', e.seq)
			  AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
		ORDER BY e.seq LIMIT $2
		FOR UPDATE OF e SKIP LOCKED`, jobKind, limit)
	if err != nil {
		return nil, translate(err, "find pending events without a delivery job")
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return seqs, translate(err, "find pending events without a delivery job")
}
