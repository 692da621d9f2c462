package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

func TestHTTPHandler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/links/{id}/sync", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	mux.HandleFunc("GET /link/callback", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "linked") })
	srv := httptest.NewServer(b.tel.HTTPHandler(mux, ServerOptions{
		ServerName:        "link.example.com",
		TrustTraceContext: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") },
	}))
	defer srv.Close()

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	do := func(method, path string) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Traceparent", parent)
		req.Host = "attacker-chosen.example"
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
	}
	do(http.MethodPost, "/api/links/8f1d-link-id/sync")
	do(http.MethodGet, "/link/callback?code=secret-code&state=s")
	do(http.MethodGet, "/wp-admin/install.php")

	spans := b.spans.Ended()
	require.Len(t, spans, 3)
	byName := map[string]trace.SpanContext{}
	for _, s := range spans {
		byName[s.Name()] = s.Parent()
		require.NotContains(t, s.Name(), "8f1d")
		require.NotContains(t, s.Name(), "secret-code")
		for _, kv := range s.Attributes() {
			require.NotContains(t, kv.Value.String(), "secret-code", "no query string in %s", kv.Key)
		}
	}
	require.Contains(t, byName, "POST /api/links/{id}/sync")
	require.Contains(t, byName, "GET /link/callback")
	require.Contains(t, byName, "GET", "an unmatched path is named by its method only")
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", byName["POST /api/links/{id}/sync"].TraceID().String(), "API calls continue the caller's trace")
	require.False(t, byName["GET /link/callback"].IsValid(), "browser pages start a new trace")

	m, ok := b.collect(t, "http.server.request.duration")
	require.True(t, ok)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok)
	routes := map[string]bool{}
	for _, dp := range h.DataPoints {
		route, _ := dp.Attributes.Value(attribute.Key("http.route"))
		routes[route.AsString()] = true
		host, _ := dp.Attributes.Value(attribute.Key("server.address"))
		require.Equal(t, "link.example.com", host.AsString(), "not the client's Host header")
	}
	require.Equal(t, map[string]bool{"/api/links/{id}/sync": true, "/link/callback": true, "": true}, routes)
}
