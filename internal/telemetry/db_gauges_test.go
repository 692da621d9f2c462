package telemetry

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pfmsync/pfmsync/internal/store"
)

// fakeSnapshots serves a fixed snapshot, or an error, and counts reads.
type fakeSnapshots struct {
	snap  store.TelemetrySnapshot
	err   error
	reads atomic.Int32
}

func (f *fakeSnapshots) TelemetrySnapshot(context.Context) (store.TelemetrySnapshot, error) {
	f.reads.Add(1)
	return f.snap, f.err
}

// gauge returns a gauge's values by the given attributes' values.
func gauge[N int64 | float64](t *testing.T, b *testBundle, name string, keys ...attribute.Key) map[string]N {
	t.Helper()
	m, ok := b.collect(t, name)
	if !ok {
		return nil
	}
	g, ok := m.Data.(metricdata.Gauge[N])
	require.True(t, ok, "%s is a %T", name, m.Data)
	out := map[string]N{}
	for _, dp := range g.DataPoints {
		var k string
		for i, key := range keys {
			v, _ := dp.Attributes.Value(key)
			if i > 0 {
				k += "/"
			}
			k += v.AsString()
		}
		out[k] = dp.Value
	}
	return out
}

func TestDBGauges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := &fakeSnapshots{snap: store.TelemetrySnapshot{
		Links: []store.TelemetryLinkCount{
			{Institution: "garden", Status: "active", Links: 7},
			{Institution: "garden", Status: "reauth_required", Links: 1},
		},
		Jobs: []store.TelemetryJobCount{{Queue: "sync", State: "available", Jobs: 3}, {Queue: "other", State: "running", Jobs: 1}},
		Lags: []store.TelemetryQueueLag{{Queue: "sync", Lag: 90 * time.Second}},
	}}
	require.NoError(t, b.tel.RegisterDBGauges(src, "sync", "maintenance"))

	require.Equal(t, map[string]int64{"garden/active": 7, "garden/reauth_required": 1},
		gauge[int64](t, b, "pfmsync.links", keyInstitution, keyStatus))
	jobs := gauge[int64](t, b, "pfmsync.queue.jobs", keyQueue, keyState)
	require.Len(t, jobs, 11, "every state of the two named queues, plus the other queue's series")
	require.EqualValues(t, 3, jobs["sync/available"])
	require.EqualValues(t, 0, jobs["maintenance/available"])
	require.EqualValues(t, 1, jobs["other/running"])
	require.Equal(t, map[string]float64{"sync": 90, "maintenance": 0, "other": 0}, gauge[float64](t, b, "pfmsync.queue.lag", keyQueue))
	require.EqualValues(t, 1, src.reads.Load(), "collections close together share one read")
}

func TestDBGaugesReadFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := &fakeSnapshots{err: errors.New("database is down")}
	require.NoError(t, b.tel.RegisterDBGauges(src, "sync"))
	require.Empty(t, gauge[int64](t, b, "pfmsync.links", keyInstitution, keyStatus), "no figure rather than a wrong one")
	require.Empty(t, gauge[int64](t, b, "pfmsync.queue.jobs", keyQueue, keyState))
}
