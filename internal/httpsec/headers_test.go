package httpsec

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHeaders(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	noStoreAPI := func(r *http.Request) bool { return r.URL.Path == "/api" }

	rec := httptest.NewRecorder()
	Headers(ok, Options{HTTPS: true, NoStore: noStoreAPI}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api", nil))
	require.Equal(t, http.StatusTeapot, rec.Code)
	h := rec.Header()
	require.Equal(t, ContentSecurityPolicy, h.Get("Content-Security-Policy"))
	require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'none'")
	require.Equal(t, "DENY", h.Get("X-Frame-Options"))
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	require.Equal(t, "max-age=31536000", h.Get("Strict-Transport-Security"))
	require.Equal(t, "no-store", h.Get("Cache-Control"))

	rec = httptest.NewRecorder()
	Headers(ok, Options{NoStore: noStoreAPI}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/x.css", nil))
	require.Empty(t, rec.Header().Get("Cache-Control"), "cacheable")
	require.Empty(t, rec.Header().Get("Strict-Transport-Security"), "plain http")

	rec = httptest.NewRecorder()
	Headers(ok, Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"), "nil NoStore: nothing cached")
}
