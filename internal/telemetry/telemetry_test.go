package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// TestPrometheusNames records one of everything and checks the names and
// labels the Prometheus exporter renders: the ones docs/operations.md
// lists.
func TestPrometheusNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	m := b.tel.SyncMetrics()
	m.SyncFinished("garden", pfm.OutcomeSuccess, "", time.Second, store.SyncRun{Added: 2})
	m.SyncFinished("garden", pfm.OutcomeSnoozed, "rate_limited", time.Second, store.SyncRun{})
	m.SyncFinished("garden", pfm.OutcomeFailed, "token_unreadable", time.Second, store.SyncRun{})
	m.SlotWaitSnoozed("garden")
	m.SecondReaderStarted("garden")
	m.LinksScheduled(1, 1, 0, time.Millisecond)
	mw := b.tel.RiverMiddleware()
	require.NoError(t, mw.Work(ctx, &rivertype.JobRow{Kind: "sync_link", Queue: "sync", Attempt: 1, MaxAttempts: 5}, func(context.Context) error { return nil }))
	_, err := mw.InsertMany(ctx, nil, func(context.Context) ([]*rivertype.JobInsertResult, error) {
		return []*rivertype.JobInsertResult{{Job: &rivertype.JobRow{Kind: "sync_link", Queue: "sync"}}}, nil
	})
	require.NoError(t, err)
	bank := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer bank.Close()
	resp, err := (&http.Client{Transport: b.tel.BankTransport(nil, []config.Institution{{Slug: "garden", BaseURL: bank.URL}})}).Get(bank.URL + "/users/u/accounts")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, b.tel.RegisterDBGauges(&fakeSnapshots{snap: store.TelemetrySnapshot{
		Links: []store.TelemetryLinkCount{{Institution: "garden", Status: "active", Links: 1}},
	}}, "sync"))
	pool := testdb.New(t)
	require.NoError(t, b.tel.RecordPoolStats(pool))
	srv := httptest.NewServer(b.tel.HTTPHandler(http.NotFoundHandler(), ServerOptions{}))
	defer srv.Close()
	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())

	samples := b.scrape(t)
	names := samples.Names()
	sort.Strings(names)
	t.Logf("rendered: %v", names)
	for name, labels := range map[string][]string{
		"pfmsync_syncs_total":                           {"institution", "outcome", "error_class"},
		"pfmsync_sync_duration_seconds_bucket":          {"institution", "outcome", "le"},
		"pfmsync_transactions_total":                    {"institution", "change"},
		"pfmsync_rate_limit_snoozes_total":              {"institution"},
		"pfmsync_slot_wait_snoozes_total":               {"institution"},
		"pfmsync_sync_second_readers_total":             {"institution"},
		"pfmsync_token_refresh_failures_total":          {"institution", "error_class"},
		"pfmsync_schedule_links_total":                  {"result"},
		"pfmsync_schedule_duration_seconds_count":       {},
		"pfmsync_bank_api_requests_total":               {"institution", "route", "status"},
		"pfmsync_bank_api_request_duration_seconds_sum": {"institution", "route"},
		"pfmsync_job_duration_seconds_count":            {"kind", "queue", "outcome"},
		"pfmsync_job_inserts_total":                     {"kind", "queue", "result"},
		"pfmsync_links":                                 {"institution", "status"},
		"pfmsync_queue_jobs":                            {"queue", "state"},
		"pfmsync_queue_lag_seconds":                     {"queue"},
		"http_server_request_duration_seconds_count":    {"http_request_method", "http_response_status_code"},
		"pgxpool_max_connections":                       {},
		"go_goroutines":                                 {},
		"process_resident_memory_bytes":                 {},
		"target_info":                                   {"service_name", "service_version"},
	} {
		found := samples.Find(name)
		require.NotEmpty(t, found, "%s is not rendered", name)
		for _, l := range labels {
			require.Contains(t, found[0].Labels, l, "%s has no label %s: %v", name, l, found[0].Labels)
		}
	}
	require.Equal(t, "pfmsync-test", samples.Find("target_info")[0].Labels["service_name"])
}

func TestSetupWithoutOTLPRecordsNoTraces(t *testing.T) {
	t.Parallel()
	tel, err := Setup(context.Background(), config.Telemetry{TraceSampleRatio: 1}, "pfmsync-test", nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "work")
	require.False(t, span.IsRecording())
	span.End()
}

// collector is a fake OTLP/HTTP collector that remembers the paths it
// was sent to.
type collector struct {
	mu    sync.Mutex
	paths map[string]int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	c.mu.Lock()
	c.paths[r.Method+" "+r.URL.Path]++
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (c *collector) got(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[path]
}

func TestSetupPushesToOTLPEndpoint(t *testing.T) {
	t.Parallel()
	col := &collector{paths: map[string]int{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	ctx := context.Background()
	tel, err := Setup(ctx, config.Telemetry{OTLPEndpoint: srv.URL + "/otlp", TraceSampleRatio: 1}, "pfmsync-test",
		slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	_, span := tel.TracerProvider().Tracer("t").Start(ctx, "work", trace.WithSpanKind(trace.SpanKindInternal))
	require.True(t, span.IsRecording())
	span.End()
	tel.SyncMetrics().SlotWaitSnoozed("garden")
	require.NoError(t, tel.Shutdown(ctx), "shutdown flushes both signals")
	require.Equal(t, 1, col.got("POST /otlp/v1/traces"))
	require.Equal(t, 1, col.got("POST /otlp/v1/metrics"))
}

func TestSetupSamplesNewTraces(t *testing.T) {
	t.Parallel()
	tel, err := Setup(context.Background(), config.Telemetry{TraceSampleRatio: 0}, "pfmsync-test", nil,
		WithSpanProcessor(tracetest.NewSpanRecorder()))
	require.NoError(t, err)
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "root")
	require.False(t, span.IsRecording(), "a ratio of 0 records no new trace")
	span.End()
}
