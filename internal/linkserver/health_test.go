package linkserver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)

	resp := get(t, b.url+"/healthz")
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "ok\n", resp.body)
	requireSecurityHeaders(t, resp.header, true)

	resp = get(t, b.url+"/readyz")
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "ready\n", resp.body)

	resp = do(t, http.MethodPost, b.url+"/healthz", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.status)
	requireSecurityHeaders(t, resp.header, false)

	resp = get(t, b.url+"/nowhere")
	require.Equal(t, http.StatusNotFound, resp.status)
	requireSecurityHeaders(t, resp.header, false)
}

func TestReadyzFailsWithoutDatabase(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	b := setup(t, func(o *setupOptions) { o.pool = pool })
	pool.Close()
	resp := get(t, b.url+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.status)
	require.Equal(t, "database unavailable\n", resp.body)
	resp = get(t, b.url+"/healthz")
	require.Equal(t, http.StatusOK, resp.status)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := New(Options{})
	require.ErrorContains(t, err, "a store is required")
	require.ErrorContains(t, err, "at least one institution")
	require.ErrorContains(t, err, "app key must be at least 32 bytes")

	_, err = New(Options{
		Store: store.New(b.pool, nil), Sealer: b.sealer, Jobs: b.river, Institutions: []Institution{b.inst},
		AppKey: testAppKey, PublicURL: "http://elsewhere.example",
	})
	require.ErrorContains(t, err, "redirect URL must be http://elsewhere.example/link/callback")
}
