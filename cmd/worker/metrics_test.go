package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/telemetry/telemetrytest"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// syncBuffer collects output written from several goroutines.
type syncBuffer = testsupport.SyncBuffer

// TestWorkerMetrics runs the worker in-process against the sandbox, syncs
// one link, and reads the outcome on the worker's /metrics.
func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	link := env.Consent(t, 1)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	metricsAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	vars := map[string]string{}
	for _, kv := range workerEnv(env) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	vars["PFMSYNC_METRICS_ADDR"] = metricsAddr
	vars["PFMSYNC_LOG_LEVEL"] = "info"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return vars[k] }, &stdout, &stderr) }()

	jobID := queueFirstSync(t, env, link.ID)
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("the worker stopped: %v\n%s", err, stderr.String())
		default:
		}
		return jobState(t, env, jobID) == "completed"
	}, 2*time.Minute, 50*time.Millisecond, "logs:\n%s", stderr.String())

	metricsURL := "http://" + metricsAddr + "/metrics"
	var m telemetrytest.Samples
	// The sync's counters are recorded as the job returns, just before
	// River marks it completed; the gauges refresh every few seconds.
	require.Eventually(t, func() bool {
		m = telemetrytest.Scrape(t, metricsURL)
		return m.Sum("pfmsync_syncs_total", "outcome", "success") == 1 &&
			m.Sum("pfmsync_links", "status", "active") == 1
	}, 30*time.Second, 200*time.Millisecond)

	inst := []string{"institution", synctest.InstitutionSlug}
	require.Len(t, m.Find("pfmsync_syncs_total"), 1, "one sync, one series")
	require.Equal(t, 1.0, m.Sum("pfmsync_syncs_total", "institution", synctest.InstitutionSlug, "outcome", "success", "error_class", ""))
	require.Equal(t, 1.0, m.Sum("pfmsync_sync_duration_seconds_count", inst...))
	added := m.Sum("pfmsync_transactions_total", "institution", synctest.InstitutionSlug, "change", "added")
	require.Greater(t, added, 0.0)
	require.Equal(t, float64(env.Count(t, `SELECT count(*) FROM transactions`)), added, "every stored transaction was counted as added")

	require.Greater(t, m.Sum("pfmsync_bank_api_requests_total", inst...), 0.0)
	for _, route := range []string{
		"POST /oidc/token",
		"GET /users/{userId}/accounts",
		"GET /users/{userId}/accounts/{accountId}/transactions",
	} {
		require.Greater(t, m.Sum("pfmsync_bank_api_requests_total", "institution", synctest.InstitutionSlug, "route", route, "status", "200"), 0.0, route)
		require.Greater(t, m.Sum("pfmsync_bank_api_request_duration_seconds_count", "institution", synctest.InstitutionSlug, "route", route), 0.0, route)
	}
	for _, s := range m.Find("pfmsync_bank_api_requests_total") {
		require.NotContains(t, s.Labels["route"], link.BannoUserID, "no user id in a label")
		require.NotEqual(t, "unknown", s.Labels["institution"])
	}
	require.Zero(t, m.Sum("pfmsync_token_refresh_failures_total"))

	require.Equal(t, 1.0, m.Sum("pfmsync_links", "institution", synctest.InstitutionSlug, "status", "active"))
	require.Equal(t, 0.0, m.Sum("pfmsync_links", "status", "reauth_required"))
	require.Len(t, m.Find("pfmsync_queue_jobs", "queue", jobs.QueueSync), 5, "every unfinished state of the sync queue")
	require.Len(t, m.Find("pfmsync_queue_lag_seconds", "queue", jobs.QueueSync), 1)
	require.GreaterOrEqual(t, m.Sum("pfmsync_job_duration_seconds_count", "kind", "sync_link", "queue", jobs.QueueSync, "outcome", "completed"), 1.0)
	require.Eventually(t, func() bool {
		return len(telemetrytest.Scrape(t, metricsURL).Find("pfmsync_schedule_links_total", "result", "claimed")) == 1
	}, 30*time.Second, 200*time.Millisecond, "the scheduler runs on start (once this process is River's leader)")
	require.Greater(t, m.Sum("db_client_operation_duration_seconds_count"), 0.0)
	require.NotEmpty(t, m.Find("pgxpool_max_connections"))
	require.Equal(t, "pfmsync-worker", m.Find("target_info")[0].Labels["service_name"])

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "logs:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
	_, err = net.DialTimeout("tcp", metricsAddr, time.Second)
	require.Error(t, err, "the metrics listener is closed")
	logs := stderr.String()
	require.Contains(t, logs, `"msg":"metrics listening"`)
	require.Contains(t, logs, `"telemetry.metrics_addr":"`+metricsAddr+`"`, "the start-up dump shows the listener")
}
