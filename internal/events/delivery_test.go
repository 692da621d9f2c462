package events_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/store"
)

func TestWebhookIsSignedAndVerifies(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	b := start(t, rc.srv.URL, 3, nil)
	ev := b.emit(t, events.Event{Type: events.SyncCompleted, AppUserRef: "user-1", LinkID: linkA,
		Data: events.SyncCompletedData{SyncRunID: 7, Trigger: "link", Outcome: "success", Accounts: 2, Added: 40, Modified: 1, Removed: 3}})
	got := b.waitStatus(t, ev.Seq, store.EventDelivered)
	require.Equal(t, 1, got.Attempts)
	require.NotNil(t, got.DeliveredAt)

	rs := rc.receipts()
	require.Len(t, rs, 1)
	r := rs[0]
	require.NoError(t, r.verr)
	require.Equal(t, ev.ID, r.parsed.ID, "the body carries the idempotency id")
	require.Equal(t, ev.ID, r.header.Get(events.HeaderEventID))
	require.Equal(t, "sync.completed", r.header.Get(events.HeaderEventType))
	require.Equal(t, testKey.ID, r.header.Get(events.HeaderKeyID))
	require.Equal(t, ev.Seq, r.parsed.Seq)
	require.Equal(t, events.SyncCompleted, r.parsed.Type)
	require.Equal(t, "user-1", r.parsed.AppUserRef)
	require.Equal(t, linkA, r.parsed.LinkID)
	require.JSONEq(t, `{"sync_run_id":7,"trigger":"link","outcome":"success","accounts":2,"added":40,"modified":1,"removed":3}`, string(r.parsed.Data))

	// What a receiver must refuse.
	now := time.Now()
	require.ErrorIs(t, events.Verify([]events.SigningKey{testKey}, r.header, append([]byte(" "), r.body...), now, time.Minute), events.ErrBadSignature)
	other := events.SigningKey{ID: testKey.ID, Secret: strings.Repeat("x", 40)}
	require.ErrorIs(t, events.Verify([]events.SigningKey{other}, r.header, r.body, now, time.Minute), events.ErrBadSignature)
	require.ErrorIs(t, events.Verify([]events.SigningKey{{ID: "old", Secret: testKey.Secret}}, r.header, r.body, now, time.Minute), events.ErrUnknownKey)
	require.ErrorIs(t, events.Verify([]events.SigningKey{testKey}, r.header, r.body, now.Add(10*time.Minute), 5*time.Minute), events.ErrStale)
}

func TestDeliveryRetriesAfter5xxAndTimeouts(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc := newReceiver(t, func(n int, _ receipt, w http.ResponseWriter, req *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		case 3:
			// No answer within the delivery timeout.
			select {
			case <-release:
			case <-req.Context().Done():
			}
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	b := start(t, rc.srv.URL, 10, func(c *events.DeliveryConfig) { c.Timeout = 300 * time.Millisecond })
	ev := b.emit(t, events.Event{Type: events.LinkStatusChanged, AppUserRef: "user-2", LinkID: linkA,
		Data: events.LinkStatusChangedData{OldStatus: "active", NewStatus: "reauth_required", ErrorClass: "consent_revoked"}})
	got := b.waitStatus(t, ev.Seq, store.EventDelivered)
	require.Equal(t, 4, got.Attempts)
	rs := rc.receipts()
	require.Len(t, rs, 4)
	for _, r := range rs {
		require.NoError(t, r.verr)
		require.Equal(t, ev.ID, r.parsed.ID, "every attempt carries the same idempotency id")
	}
}

func TestDeliveryGivesUpAsDead(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, _ receipt, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	b := start(t, rc.srv.URL, 3, nil)
	ev := b.emit(t, events.Event{Type: events.SyncFailed, AppUserRef: "user-3", LinkID: linkA, Data: events.SyncFailedData{Trigger: "scheduled", ErrorClass: "server_error", WillRetry: true}})
	later := b.emit(t, events.Event{Type: events.SyncFailed, AppUserRef: "user-3", LinkID: linkA, Data: events.SyncFailedData{Trigger: "scheduled", ErrorClass: "server_error"}})
	got := b.waitStatus(t, ev.Seq, store.EventDead)
	require.Equal(t, 3, got.Attempts)
	require.Contains(t, got.LastError, "503")
	// A dead event no longer holds up the link's later events.
	b.waitStatus(t, later.Seq, store.EventDead)
	stats, err := b.store.EventDeliveryStats(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(2), stats.Dead)
	require.Zero(t, stats.Pending)
	require.Len(t, rc.receipts(), 6)
}

func TestDeliveryKeepsOrderPerLink(t *testing.T) {
	t.Parallel()
	// Every event fails its first attempt: without ordering, a later event
	// of the link would overtake the one being retried.
	var mu sync.Mutex
	seen := map[string]bool{}
	accepted := map[string][]int64{}
	rc := newReceiver(t, func(_ int, r receipt, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !seen[r.parsed.ID] {
			seen[r.parsed.ID] = true
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		accepted[r.parsed.LinkID] = append(accepted[r.parsed.LinkID], r.parsed.Seq)
		w.WriteHeader(http.StatusOK)
	})
	b := start(t, rc.srv.URL, 10, nil)
	var all []store.Event
	for i := range 8 {
		for _, link := range []string{linkA, linkB} {
			all = append(all, b.emit(t, events.Event{Type: events.TransactionsRemoved, AppUserRef: "user-4", LinkID: link,
				Data: events.TransactionsRemovedData{AccountID: fmt.Sprint(i), Removed: i + 1}}))
		}
	}
	for _, ev := range all {
		b.waitStatus(t, ev.Seq, store.EventDelivered)
	}
	for _, r := range rc.receipts() {
		require.NoError(t, r.verr)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, link := range []string{linkA, linkB} {
		require.Len(t, accepted[link], 8)
		require.IsIncreasing(t, accepted[link], "deliveries of link %s", link)
	}
}

func TestRolledBackChangeHasNoEvent(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	b := start(t, rc.srv.URL, 3, nil)
	ctx := context.Background()
	conn, err := b.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+store.EventsChannel)
	require.NoError(t, err)

	boom := errors.New("the change failed")
	err = b.store.Transact(ctx, func(tx *store.Store) error {
		if err := b.emitter.Emit(ctx, tx, events.Event{Type: events.AccountsChanged, AppUserRef: "user-5", LinkID: linkA,
			Data: events.AccountsChangedData{Added: []string{"x"}}}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Zero(t, b.count(t, `SELECT count(*) FROM events`))
	require.Zero(t, b.count(t, `SELECT count(*) FROM river_job WHERE queue = $1`, events.Queue))

	// The next notification is the committed event's, not the rolled-back one.
	committed := b.emit(t, events.Event{Type: events.LinkCreated, AppUserRef: "user-5", LinkID: linkA})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	require.NoError(t, err)
	require.Contains(t, n.Payload, committed.ID)
	b.waitStatus(t, committed.Seq, store.EventDelivered)
	require.Len(t, rc.receipts(), 1)

	// An event outside a transaction is refused.
	_, err = b.store.InsertEvent(ctx, store.EventInput{AppUserRef: "user-5", Type: "link.created"})
	require.Error(t, err)
}
