package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/store"
)

// TestSchedulerPassSweepsLostDeliveriesAndPrunesEvents loses the delivery
// job of a pending event (its row deleted) and checks that the scheduler
// pass queues it again and the webhook arrives, that an event whose job is
// merely waiting is not queued twice, and that the pass applies the events
// retention.
func TestSchedulerPassSweepsLostDeliveriesAndPrunesEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, setupOptions{})
	key := events.SigningKey{ID: "sweep", Secret: "sweep-test-signing-secret-0123456789"}
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := events.Verify([]events.SigningKey{key}, req.Header, body, time.Now(), events.DefaultReplayWindow); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev events.Body
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, ev.ID)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	// Two pending events with their delivery jobs, written as production
	// writes them; then one job is lost and the other waits an hour.
	inserter, err := river.NewClient(riverpgxv5.New(b.Pool), &river.Config{})
	require.NoError(t, err)
	emitter := events.NewEmitter(inserter, true, 0)
	emit := func(ref string) store.Event {
		require.NoError(t, b.Store.Transact(ctx, func(tx *store.Store) error {
			return emitter.Emit(ctx, tx, events.Event{Type: events.LinkCreated, AppUserRef: ref})
		}))
		evs, err := b.Store.EventsSince(ctx, ref, 0, 10)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		return evs[0]
	}
	lost, waiting := emit("sweep-lost"), emit("sweep-waiting")
	_, err = b.Pool.Exec(ctx, `DELETE FROM river_job WHERE kind = 'event_delivery' AND (args->>'seq')::bigint = $1`, lost.Seq)
	require.NoError(t, err)
	_, err = b.Pool.Exec(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour'
		WHERE kind = 'event_delivery' AND (args->>'seq')::bigint = $1`, waiting.Seq)
	require.NoError(t, err)
	// An old settled event and an old pending one, for the retention.
	var oldSettled, oldPending int64
	require.NoError(t, b.Store.Transact(ctx, func(tx *store.Store) error {
		ev, err := tx.InsertEvent(ctx, store.EventInput{AppUserRef: "sweep-old", Type: "link.created"})
		oldSettled = ev.Seq
		return err
	}))
	_, err = b.Pool.Exec(ctx, `UPDATE events SET created_at = now() - interval '40 days' WHERE seq = ANY($1)`, []int64{oldSettled, waiting.Seq})
	require.NoError(t, err)
	oldPending = waiting.Seq

	b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{
		ScheduleEvery: time.Hour, // the pass that runs on start
		Events:        events.DeliveryConfig{Endpoint: srv.URL, Keys: []events.SigningKey{key}},
		Schedule:      jobs.ScheduleConfig{Retention: jobs.Retention{Events: 30 * 24 * time.Hour}},
	})
	require.Eventually(t, func() bool {
		ev, err := b.Store.Event(ctx, lost.Seq)
		require.NoError(t, err)
		return ev.DeliveryStatus == store.EventDelivered
	}, time.Minute, 50*time.Millisecond, "the lost delivery is queued again and delivered")
	mu.Lock()
	require.Equal(t, []string{lost.ID}, got)
	mu.Unlock()

	// The waiting event kept its single job and stays pending, even past
	// the retention age; the old settled event is gone behind a horizon.
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'event_delivery' AND (args->>'seq')::bigint = $1`, waiting.Seq))
	ev, err := b.Store.Event(ctx, oldPending)
	require.NoError(t, err)
	require.Equal(t, store.EventPending, ev.DeliveryStatus)
	require.Eventually(t, func() bool {
		return b.count(t, `SELECT count(*) FROM events WHERE seq = $1`, oldSettled) == 0
	}, time.Minute, 50*time.Millisecond)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM event_horizons WHERE app_user_ref = 'sweep-old' AND horizon_seq = $1`, oldSettled))
	// A second sweep finds nothing to queue.
	n, err := jobs.SweepEventDeliveries(ctx, b.Store, inserter, 0)
	require.NoError(t, err)
	require.Zero(t, n)
}
