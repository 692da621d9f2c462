package telemetry

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/telemetry/telemetrytest"
)

// testBundle is a Telemetry whose metrics a manual reader collects and
// whose spans a recorder keeps.
type testBundle struct {
	tel    *Telemetry
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tel, err := Setup(context.Background(), config.Telemetry{TraceSampleRatio: 1}, "pfmsync-test", slog.New(slog.DiscardHandler),
		WithVersion("test"), WithMetricReader(b.reader), WithSpanProcessor(b.spans))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	b.tel = tel
	return b
}

// collect returns the metric named name (its OpenTelemetry name).
func (b *testBundle) collect(t *testing.T, name string) (metricdata.Metrics, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, b.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// counter returns the value of a counter's series with exactly attrs
// (zero when none was recorded).
func (b *testBundle) counter(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, ok := b.collect(t, name)
	if !ok {
		return 0 // nothing recorded yet
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	want := attribute.NewSet(attrs...)
	for _, dp := range sum.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

// histogramCount returns how many values a histogram's series with
// exactly attrs holds, and their sum.
func (b *testBundle) histogramCount(t *testing.T, name string, attrs ...attribute.KeyValue) (uint64, float64) {
	t.Helper()
	m, ok := b.collect(t, name)
	if !ok {
		return 0, 0 // nothing recorded yet
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T", name, m.Data)
	want := attribute.NewSet(attrs...)
	for _, dp := range h.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Count, dp.Sum
		}
	}
	return 0, 0
}

// scrape serves the Prometheus handler and parses what it returns.
func (b *testBundle) scrape(t *testing.T) telemetrytest.Samples {
	t.Helper()
	srv := httptest.NewServer(b.tel.Handler())
	defer srv.Close()
	return telemetrytest.Scrape(t, srv.URL)
}
