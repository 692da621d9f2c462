package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The queries behind the metrics gauges: small aggregates read at each
// metrics collection. They read links, institutions and River's job
// table; never tokens.

// TelemetrySnapshot is the state of the datastore the gauges report.
type TelemetrySnapshot struct {
	// Links counts links per institution and status, with a zero for
	// every status an institution has no link in.
	Links []TelemetryLinkCount
	// Jobs counts River jobs waiting or running, per queue and state
	// (available, pending, scheduled, running, retryable); only non-zero
	// counts are listed.
	Jobs []TelemetryJobCount
	// Lags is, per queue with available jobs, how long the oldest of them
	// has been runnable.
	Lags []TelemetryQueueLag
}

// TelemetryLinkCount is the number of links of one institution in one
// status.
type TelemetryLinkCount struct {
	Institution string
	Status      string
	Links       int64
}

// TelemetryJobCount is the number of River jobs of one queue in one state.
type TelemetryJobCount struct {
	Queue string
	State string
	Jobs  int64
}

// TelemetryQueueLag is how long the oldest available job of a queue has
// waited since it became runnable.
type TelemetryQueueLag struct {
	Queue string
	Lag   time.Duration
}

// TelemetrySnapshot reads the gauges' figures. The job counts use River's
// (state, queue, …) index; the link counts scan links once.
func (s *Store) TelemetrySnapshot(ctx context.Context) (TelemetrySnapshot, error) {
	var snap TelemetrySnapshot
	rows, err := s.db.Query(ctx, `
		SELECT i.slug, st.status::text, count(l.id)
		FROM institutions i
		CROSS JOIN unnest(enum_range(NULL::link_status)) AS st(status)
		LEFT JOIN links l ON l.institution_id = i.id AND l.status = st.status
		GROUP BY i.slug, st.status
		ORDER BY i.slug, st.status`)
	if err != nil {
		return snap, translate(err, "count links for metrics")
	}
	snap.Links, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (TelemetryLinkCount, error) {
		var c TelemetryLinkCount
		err := row.Scan(&c.Institution, &c.Status, &c.Links)
		return c, err
	})
	if err != nil {
		return snap, translate(err, "count links for metrics")
	}

	// One pass over the unfinished jobs gives the counts and, for
	// available ones, the oldest scheduled_at (measured against the
	// database clock, like River's own scheduling).
	rows, err = s.db.Query(ctx, `
		SELECT queue, state::text, count(*),
			extract(epoch FROM greatest(now() - min(scheduled_at), interval '0'))::float8
		FROM river_job
		WHERE state IN ('available', 'pending', 'scheduled', 'running', 'retryable')
		GROUP BY queue, state
		ORDER BY queue, state`)
	if err != nil {
		return snap, translate(err, "count queued jobs for metrics")
	}
	var queue, state string
	var n int64
	var waited float64
	_, err = pgx.ForEachRow(rows, []any{&queue, &state, &n, &waited}, func() error {
		snap.Jobs = append(snap.Jobs, TelemetryJobCount{Queue: queue, State: state, Jobs: n})
		if state == "available" {
			snap.Lags = append(snap.Lags, TelemetryQueueLag{Queue: queue, Lag: time.Duration(waited * float64(time.Second))})
		}
		return nil
	})
	if err != nil {
		return snap, translate(err, "count queued jobs for metrics")
	}
	return snap, nil
}
