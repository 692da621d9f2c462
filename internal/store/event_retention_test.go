package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// eventFixture writes n events of ref (delivered when deliver is false:
// not_configured; pending otherwise) and returns their seqs.
func eventFixture(t *testing.T, s *store.Store, ref string, n int, deliver bool) []int64 {
	t.Helper()
	ctx := context.Background()
	var seqs []int64
	for range n {
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			ev, err := tx.InsertEvent(ctx, store.EventInput{AppUserRef: ref, Type: "link.created", Deliver: deliver})
			seqs = append(seqs, ev.Seq)
			return err
		}))
	}
	return seqs
}

// eventsSince reads reporting.events_since and returns the seqs.
func eventsSince(ctx context.Context, s *store.Store, ref string, after int64) ([]int64, error) {
	return seqsSince(ctx, s, "events_since", ref, after)
}

func TestEventRetentionMovesTheHorizon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	u1 := eventFixture(t, s, "u1", 5, false)
	pending := eventFixture(t, s, "u1", 1, true)[0]
	u2 := eventFixture(t, s, "u2", 2, false)
	// u1's first three events are old and settled, and so is a pending one
	// and one that went dead; u2's are recent.
	_, err := s.Pool().Exec(ctx, `UPDATE events SET created_at = now() - interval '40 days' WHERE seq = ANY($1) OR seq = $2`, u1[:4], pending)
	require.NoError(t, err)
	require.NoError(t, s.MarkEventDelivered(ctx, u1[0]))
	_, err = s.Pool().Exec(ctx, `UPDATE events SET delivery_status = 'dead' WHERE seq = $1`, u1[3])
	require.NoError(t, err)

	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	n, err := s.DeleteEventsBefore(ctx, cutoff, 3)
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "bounded batch")
	n, err = s.DeleteEventsBefore(ctx, cutoff, 3)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = s.DeleteEventsBefore(ctx, cutoff, 3)
	require.NoError(t, err)
	require.Zero(t, n, "a pending event is never deleted")
	ev, err := s.Event(ctx, pending)
	require.NoError(t, err)
	require.Equal(t, store.EventPending, ev.DeliveryStatus)

	// A cursor before the horizon gets a clear error, not a silent gap.
	for _, cursor := range []int64{0, u1[0], u1[2]} {
		_, err = eventsSince(ctx, s, "u1", cursor)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "cursor %d: %v", cursor, err)
		require.Equal(t, "PF001", pgErr.Code)
		require.Contains(t, pgErr.Message, "older than the horizon")
		require.Contains(t, pgErr.Hint, "reporting.events_head")
	}
	// A cursor at the horizon reads on.
	rest, err := eventsSince(ctx, s, "u1", u1[3])
	require.NoError(t, err)
	require.Equal(t, []int64{u1[4], pending}, rest)
	var head, horizon int64
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT reporting.events_head('u1')`).Scan(&head))
	require.Equal(t, pending, head)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT horizon_seq FROM reporting.event_horizons WHERE app_user_ref = 'u1'`).Scan(&horizon))
	require.Equal(t, u1[3], horizon)
	// u2 is untouched and has no horizon; a user with no events has head 0.
	got, err := eventsSince(ctx, s, "u2", 0)
	require.NoError(t, err)
	require.Equal(t, u2, got)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT reporting.events_head('nobody')`).Scan(&head))
	require.Zero(t, head)
}
