package linkserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

func appEvents(t *testing.T, b *testBundle, appUser string) []store.Event {
	t.Helper()
	evs, err := b.store.EventsSince(context.Background(), appUser, 0, 1000)
	require.NoError(t, err)
	return evs
}

func TestConsentAndUnlinkEmitEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) { o.deliverEvents = true })
	ctx := context.Background()
	id := b.linkedID(t, "app-user-ev", 1)

	evs := appEvents(t, b, "app-user-ev")
	require.Len(t, evs, 1)
	require.Equal(t, string(events.LinkCreated), evs[0].Type)
	require.Equal(t, id, evs[0].LinkID)
	require.Equal(t, store.EventPending, evs[0].DeliveryStatus)
	var created events.LinkCreatedData
	require.NoError(t, json.Unmarshal(evs[0].Payload, &created))
	require.Equal(t, testSlug, created.Institution)
	require.Equal(t, "active", created.Status)
	require.NotEmpty(t, created.GrantedScopes)
	var deliveries int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'event_delivery' AND (args->>'seq')::bigint = $1`, evs[0].Seq).Scan(&deliveries))
	require.Equal(t, 1, deliveries, "the delivery is queued with the consent")

	// A re-consent of a link that needed one reports the status change.
	require.NoError(t, b.store.SetLinkStatus(ctx, id, pfm.LinkReauthRequired, "consent_revoked", "invalid_grant"))
	require.Equal(t, id, b.linkedID(t, "app-user-ev", 1))
	evs = appEvents(t, b, "app-user-ev")
	require.Len(t, evs, 2)
	require.Equal(t, string(events.LinkStatusChanged), evs[1].Type)
	require.JSONEq(t, `{"old_status":"reauth_required","new_status":"active"}`, string(evs[1].Payload))

	// Unlinking reports the revocation.
	resp := do(t, http.MethodDelete, b.url+"/api/links/"+id, b.apiToken(t, "app-user-ev"), nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	evs = appEvents(t, b, "app-user-ev")
	require.Len(t, evs, 3)
	require.JSONEq(t, `{"old_status":"active","new_status":"revoked"}`, string(evs[2].Payload))
}

// deliveryFailingInserter queues syncs but fails to queue event
// deliveries.
type deliveryFailingInserter struct{ JobInserter }

func (d deliveryFailingInserter) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	if _, ok := args.(events.DeliverArgs); ok {
		return nil, errors.New("injected failure")
	}
	return d.JobInserter.InsertTx(ctx, tx, args, opts)
}

func TestConsentWhoseEventFailsSavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) {
		o.deliverEvents = true
		o.jobs = func(j JobInserter) JobInserter { return deliveryFailingInserter{j} }
	})
	resp := b.link(t, "app-user-evf", 1)
	require.Equal(t, http.StatusInternalServerError, resp.status)
	b.requireNothingStored(t)
	require.Empty(t, appEvents(t, b, "app-user-evf"))
}
