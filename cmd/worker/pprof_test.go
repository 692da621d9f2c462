package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/telemetry"
)

// TestMetricsListenerServesPprofOnlyWhenEnabled checks that Go's profiling
// handlers are off on the metrics listener by default and served there
// when PFMSYNC_PPROF enables them, next to /metrics.
func TestMetricsListenerServesPprofOnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	for _, enabled := range []bool{false, true} {
		cfg := config.Telemetry{MetricsAddr: "127.0.0.1:0", Pprof: enabled}
		tel, err := telemetry.Setup(ctx, cfg, serviceName, logger)
		require.NoError(t, err)
		srv := serveMetrics(cfg, tel, logger)
		require.NotNil(t, srv)
		base := "http://" + srv.Addr()

		status, _ := get(base + "/metrics")
		require.Equal(t, http.StatusOK, status)
		status, body := get(base + "/debug/pprof/")
		if !enabled {
			require.Equal(t, http.StatusNotFound, status, "pprof is off by default")
		} else {
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, body, "goroutine")
			status, body = get(base + "/debug/pprof/goroutine?debug=1")
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, body, "goroutine profile")
		}
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, tel.Shutdown(ctx))
	}
}
