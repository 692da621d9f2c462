package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/store"
)

func TestListenReceivesEvents(t *testing.T) {
	t.Parallel()
	// No endpoint: events are recorded and published, not delivered.
	b := start(t, "", 0, nil)
	ctx := context.Background()
	conn, err := b.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+store.EventsChannel)
	require.NoError(t, err)

	ev := b.emit(t, events.Event{Type: events.LinkCreated, AppUserRef: "user-7", LinkID: linkA,
		Data: events.LinkCreatedData{Institution: "sandbox", Status: "active", GrantedScopes: []string{"openid"}, MissingScopes: []string{}}})
	require.Equal(t, store.EventNotConfigured, ev.DeliveryStatus)

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	require.NoError(t, err)
	require.Equal(t, store.EventsChannel, n.Channel)
	var body events.Body
	require.NoError(t, json.Unmarshal([]byte(n.Payload), &body))
	require.Equal(t, ev.ID, body.ID)
	require.Equal(t, ev.Seq, body.Seq)
	require.Equal(t, events.LinkCreated, body.Type)
	require.Equal(t, "user-7", body.AppUserRef)
	require.Equal(t, linkA, body.LinkID)
	require.JSONEq(t, `{"institution":"sandbox","status":"active","granted_scopes":["openid"],"missing_scopes":[]}`, string(body.Data))
	require.Zero(t, b.count(t, `SELECT count(*) FROM river_job`), "nothing to deliver without an endpoint")
}

func TestListenOmitsLargeData(t *testing.T) {
	t.Parallel()
	b := start(t, "", 0, nil)
	ctx := context.Background()
	conn, err := b.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+store.EventsChannel)
	require.NoError(t, err)
	added := make([]string, 400)
	for i := range added {
		added[i] = "00000000-0000-4000-8000-000000000000"
	}
	ev := b.emit(t, events.Event{Type: events.AccountsChanged, AppUserRef: "user-8", LinkID: linkA, Data: events.AccountsChangedData{Added: added}})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(n.Payload), &got))
	require.Equal(t, ev.ID, got["id"])
	require.Equal(t, true, got["data_omitted"])
	require.NotContains(t, got, "data")
}

func TestEventsSincePagesAsReader(t *testing.T) {
	t.Parallel()
	b := start(t, "", 0, nil)
	ctx := context.Background()
	var want []int64
	for i := range 7 {
		want = append(want, b.emit(t, events.Event{Type: events.SyncCompleted, AppUserRef: "user-9", LinkID: linkA, Data: events.SyncCompletedData{Added: i}}).Seq)
		b.emit(t, events.Event{Type: events.SyncCompleted, AppUserRef: "someone-else", LinkID: linkB})
	}

	// Read the way a dashboard does: as pfm_reader, which cannot read the
	// events table itself.
	conn, err := b.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SET LOCAL ROLE pfm_reader`)
	require.NoError(t, err)

	var got []int64
	var pages []int
	after := int64(0)
	for {
		rows, err := tx.Query(ctx, `SELECT seq, event_id::text, type, payload FROM reporting.events_since($1, $2, 3)`, "user-9", after)
		require.NoError(t, err)
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (int64, error) {
			var seq int64
			var id, typ string
			var payload json.RawMessage
			err := row.Scan(&seq, &id, &typ, &payload)
			require.Equal(t, "sync.completed", typ)
			require.NotEmpty(t, id)
			return seq, err
		})
		require.NoError(t, err)
		pages = append(pages, len(page))
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1]
	}
	require.Equal(t, want, got)
	require.Equal(t, []int{3, 3, 1, 0}, pages)

	_, err = tx.Exec(ctx, `SAVEPOINT s`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT count(*) FROM public.events`)
	require.ErrorContains(t, err, "permission denied")
}
