package telemetry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

type fakeEventStats struct{ stats store.EventDeliveryStats }

func (f fakeEventStats) EventDeliveryStats(context.Context) (store.EventDeliveryStats, error) {
	return f.stats, nil
}

// TestEventMetrics checks the delivery metrics as Prometheus renders them:
// the names and labels docs/operations.md lists.
func TestEventMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.tel.EventMetrics()
	m.EventDelivery("sync.completed", "delivered", 30*time.Millisecond)
	m.EventDelivery("sync.completed", "retry", time.Second)
	m.EventDelivery("link.created", "delivered", 20*time.Millisecond)
	oldest := time.Now().Add(-10 * time.Minute)
	require.NoError(t, b.tel.RegisterEventGauges(fakeEventStats{store.EventDeliveryStats{Pending: 4, Delivered: 9, Dead: 1, OldestPending: &oldest}}))

	samples := b.scrape(t)
	byLabels := map[string]float64{}
	for _, s := range samples.Find("pfmsync_event_deliveries_total") {
		byLabels[s.Labels["event_type"]+"/"+s.Labels["outcome"]] = s.Value
	}
	require.Equal(t, map[string]float64{"sync.completed/delivered": 1, "sync.completed/retry": 1, "link.created/delivered": 1}, byLabels)
	require.NotEmpty(t, samples.Find("pfmsync_event_delivery_duration_seconds_bucket"))
	statuses := map[string]float64{}
	for _, s := range samples.Find("pfmsync_events") {
		statuses[s.Labels["status"]] = s.Value
	}
	require.Equal(t, map[string]float64{"pending": 4, "delivered": 9, "dead": 1, "not_configured": 0}, statuses)
	age := samples.Find("pfmsync_events_oldest_pending_seconds")
	require.Len(t, age, 1)
	require.GreaterOrEqual(t, age[0].Value, 600.0)
}
