package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// countedStats is what EventDeliveryStats would say if it counted the
// events table.
func countedStats(t *testing.T, s *store.Store) store.EventDeliveryStats {
	t.Helper()
	var st store.EventDeliveryStats
	require.NoError(t, s.Pool().QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE delivery_status = 'pending'), count(*) FILTER (WHERE delivery_status = 'delivered'),
			count(*) FILTER (WHERE delivery_status = 'dead'), count(*) FILTER (WHERE delivery_status = 'not_configured'),
			min(created_at) FILTER (WHERE delivery_status = 'pending'), max(delivered_at)
		FROM events`).Scan(&st.Pending, &st.Delivered, &st.Dead, &st.NotConfigured, &st.OldestPending, &st.LastDelivered))
	return st
}

func requireStatsMatch(t *testing.T, s *store.Store, step string) store.EventDeliveryStats {
	t.Helper()
	got, err := s.EventDeliveryStats(context.Background())
	require.NoError(t, err, step)
	want := countedStats(t, s)
	require.Equal(t, [4]int64{want.Pending, want.Delivered, want.Dead, want.NotConfigured},
		[4]int64{got.Pending, got.Delivered, got.Dead, got.NotConfigured}, step)
	require.Equal(t, want.OldestPending == nil, got.OldestPending == nil, step)
	if want.OldestPending != nil {
		require.True(t, want.OldestPending.Equal(*got.OldestPending), step)
	}
	require.Equal(t, want.LastDelivered == nil, got.LastDelivered == nil, step)
	if want.LastDelivered != nil {
		require.True(t, want.LastDelivered.Equal(*got.LastDelivered), step)
	}
	return got
}

func TestEventDeliveryStatsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	requireStatsMatch(t, s, "empty")

	pending := eventFixture(t, s, "u1", 6, true)
	settled := eventFixture(t, s, "u2", 3, false)
	st := requireStatsMatch(t, s, "inserted")
	require.EqualValues(t, 6, st.Pending)
	require.EqualValues(t, 3, st.NotConfigured)

	require.NoError(t, s.MarkEventDelivered(ctx, pending[0]))
	require.NoError(t, s.MarkEventDelivered(ctx, pending[1]))
	require.NoError(t, s.MarkEventAttemptFailed(ctx, pending[2], "post webhook: the endpoint answered 503", time.Now().Add(time.Minute), false))
	require.NoError(t, s.MarkEventAttemptFailed(ctx, pending[3], "post webhook: the endpoint answered 500", time.Time{}, true))
	require.NoError(t, s.MarkEventNotConfigured(ctx, pending[4]))
	st = requireStatsMatch(t, s, "delivery outcomes")
	require.Equal(t, [4]int64{2, 2, 1, 4}, [4]int64{st.Pending, st.Delivered, st.Dead, st.NotConfigured})
	require.Equal(t, "post webhook: the endpoint answered 500", st.LastError, "the error of the latest undelivered event")

	// A statement writing many rows, the fold, retention and erasure.
	_, err := s.Pool().Exec(ctx, `UPDATE events SET delivery_status = 'delivered', delivered_at = now() WHERE seq = ANY($1)`, settled)
	require.NoError(t, err)
	requireStatsMatch(t, s, "bulk update")
	_, err = s.FoldEventDeliveryCounts(ctx)
	require.NoError(t, err)
	var rows int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM event_delivery_counts`).Scan(&rows))
	require.LessOrEqual(t, rows, 4, "one row per status after a fold")
	requireStatsMatch(t, s, "folded")

	_, err = s.Pool().Exec(ctx, `UPDATE events SET created_at = now() - interval '40 days'`)
	require.NoError(t, err)
	n, err := s.DeleteEventsBefore(ctx, time.Now().Add(-30*24*time.Hour), 100)
	require.NoError(t, err)
	require.EqualValues(t, 7, n)
	requireStatsMatch(t, s, "retention")
	require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.EraseAppUser(ctx, "u1")
		return err
	}))
	st = requireStatsMatch(t, s, "erasure")
	require.Zero(t, st.Pending+st.Delivered+st.Dead+st.NotConfigured)
	_, err = s.FoldEventDeliveryCounts(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM event_delivery_counts`).Scan(&rows))
	require.Zero(t, rows, "zero counts fold away")
}
