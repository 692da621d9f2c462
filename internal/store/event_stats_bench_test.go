package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// BenchmarkEventDeliveryStats reads the delivery figures from an outbox of
// 1M events (0.5% pending, 0.5% dead, the rest settled) and reports, from
// the same database: the read (ns/op), the full count it replaced
// (full_count_ms), and what the counting triggers add to an event write
// (write_us with them, write_us_untracked without).
func BenchmarkEventDeliveryStats(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	s, bundle := setupBench(b)
	_, err := bundle.pool.Exec(ctx, `
		INSERT INTO events (app_user_ref, type, created_at, delivery_status, attempts, delivered_at, last_error)
		SELECT 'user-' || (i % 10000), 'sync.completed', now() - make_interval(secs => n - i),
			st, 1, CASE WHEN st = 'delivered' THEN now() - make_interval(secs => n - i) END,
			CASE WHEN st IN ('pending', 'dead') THEN 'post webhook: the endpoint answered 503' END
		FROM (SELECT i, $1::int AS n, (CASE WHEN i % 200 = 0 THEN 'pending' WHEN i % 200 = 1 THEN 'dead'
			WHEN i % 2 = 0 THEN 'delivered' ELSE 'not_configured' END)::event_delivery_status AS st
			FROM generate_series(1, $1::int) i) g`, n)
	require.NoError(b, err)
	_, err = bundle.pool.Exec(ctx, `VACUUM ANALYZE events`)
	require.NoError(b, err)
	_, err = s.FoldEventDeliveryCounts(ctx)
	require.NoError(b, err)

	// The query EventDeliveryStats ran before: every row counted.
	start := time.Now()
	var counts [4]int64
	var oldest, last *time.Time
	var lastErr string
	require.NoError(b, bundle.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE delivery_status = 'pending'), count(*) FILTER (WHERE delivery_status = 'delivered'),
			count(*) FILTER (WHERE delivery_status = 'dead'), count(*) FILTER (WHERE delivery_status = 'not_configured'),
			min(created_at) FILTER (WHERE delivery_status = 'pending'), max(delivered_at),
			coalesce((SELECT last_error FROM events WHERE last_error IS NOT NULL AND delivery_status IN ('pending', 'dead')
				ORDER BY seq DESC LIMIT 1), '')
		FROM events`).Scan(&counts[0], &counts[1], &counts[2], &counts[3], &oldest, &last, &lastErr))
	fullCount := time.Since(start)

	write := func(tracked bool) time.Duration {
		const writes = 500
		action := "ENABLE"
		if !tracked {
			action = "DISABLE"
		}
		_, err := bundle.pool.Exec(ctx, `ALTER TABLE events `+action+` TRIGGER USER`)
		require.NoError(b, err)
		start := time.Now()
		for range writes {
			require.NoError(b, s.Transact(ctx, func(tx *store.Store) error {
				_, err := tx.InsertEvent(ctx, store.EventInput{AppUserRef: "bench-writer", Type: "link.created", Deliver: true})
				return err
			}))
		}
		took := time.Since(start) / writes
		_, err = bundle.pool.Exec(ctx, `DELETE FROM events WHERE app_user_ref = 'bench-writer'`)
		require.NoError(b, err)
		return took
	}
	untracked := write(false)
	tracked := write(true)

	b.ResetTimer()
	for range b.N {
		st, err := s.EventDeliveryStats(ctx)
		require.NoError(b, err)
		require.EqualValues(b, n, st.Pending+st.Delivered+st.Dead+st.NotConfigured)
	}
	b.StopTimer()
	b.ReportMetric(float64(fullCount.Microseconds())/1000, "full_count_ms")
	b.ReportMetric(float64(tracked.Microseconds()), "write_us")
	b.ReportMetric(float64(untracked.Microseconds()), "write_us_untracked")
}
