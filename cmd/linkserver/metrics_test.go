package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/telemetry/telemetrytest"
)

// TestRunServesMetrics checks the admin listener's /metrics: the public
// listener's requests by route, the consent's job insert, the process's
// identity; and that the admin listener stops with the server.
func TestRunServesMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := freeAddr(t)
	b.env["PFMSYNC_ADMIN_ADDR"] = admin
	r := b.serve(t)

	resp, _ := get(t, b.public+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b.link(t, "metrics-user")

	metricsURL := "http://" + admin + "/metrics"
	var m telemetrytest.Samples
	require.Eventually(t, func() bool {
		m = telemetrytest.Scrape(t, metricsURL)
		return m.Sum("http_server_request_duration_seconds_count", "http_route", "/link/callback") == 1
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, 1.0, m.Sum("http_server_request_duration_seconds_count",
		"http_route", "/healthz", "http_request_method", "GET", "http_response_status_code", "200"))
	require.Equal(t, 1.0, m.Sum("http_server_request_duration_seconds_count", "http_route", "/link/start"))
	for _, s := range m.Find("http_server_request_duration_seconds_count") {
		require.Equal(t, strings.TrimPrefix(b.public, "http://"), s.Labels["server_address"]+":"+s.Labels["server_port"], "the public URL's host, not the client's")
	}
	require.Equal(t, 1.0, m.Sum("pfmsync_job_inserts_total", "kind", "sync_link", "result", "inserted"), "the consent queued the first sync")
	require.Greater(t, m.Sum("db_client_operation_duration_seconds_count"), 0.0)
	require.Equal(t, "pfmsync-linkserver", m.Find("target_info")[0].Labels["service_name"])

	resp, page := get(t, "http://"+admin+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode, "the status page is mounted next to /metrics")
	require.Contains(t, page, "pfmsync status")
	require.Contains(t, page, "active", "the link the consent created is counted")

	require.NoError(t, r.stop(t))
	_, err := http.Get(metricsURL)
	require.Error(t, err, "the admin listener is closed")
	require.Contains(t, r.stderr.String(), `"msg":"admin listening"`)
}

// TestRunAdminListenerOff checks PFMSYNC_ADMIN_ADDR=off starts no admin
// listener.
func TestRunAdminListenerOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env["PFMSYNC_ADMIN_ADDR"] = "off"
	r := b.serve(t)
	require.NoError(t, r.stop(t))
	logs := r.stderr.String()
	require.NotContains(t, logs, "admin listening")
	require.Contains(t, logs, `"telemetry.admin_addr":"off"`)
}

// TestRunAdminListenerBusy checks that an admin address already in use
// is logged and the link server serves anyway.
func TestRunAdminListenerBusy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	b.env["PFMSYNC_ADMIN_ADDR"] = busy.Addr().String()
	r := b.serve(t)
	resp, _ := get(t, b.public+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, r.stop(t))
	require.Contains(t, r.stderr.String(), "admin listener not started; running without it")
}
