package linkserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// withRing returns a second server over the bundle's datastore and
// institution whose tokens are sealed with another key ring.
func (b *testBundle) withRing(t *testing.T, ids ...string) (*Server, *tokenseal.Sealer) {
	t.Helper()
	sealer := tokenseal.New(testRing(t, ids...))
	s, err := New(Options{
		Store: b.store, Sealer: sealer, Jobs: b.river, Institutions: []Institution{b.inst},
		AppKey: testAppKey, PublicURL: b.url, Logger: b.logger,
	})
	require.NoError(t, err)
	return s, sealer
}

// serve sends one request to a server without a listener.
func serve(t *testing.T, s *Server, method, path, bearer string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t) // ring {v1}
	ctx := context.Background()
	kept := b.linkedID(t, "rotating", 1)
	unlinked := b.linkedID(t, "rotating", 2)
	plain, before := b.openToken(t, kept)
	require.Equal(t, "v1", before.KeyID)

	// A server with ring {v2, v1} opens tokens sealed under v1: unlinking
	// revokes the token at the bank.
	rotated, sealer := b.withRing(t, "v2", "v1")
	revocations := b.authStats(t).Revocations
	rec := serve(t, rotated, http.MethodDelete, "/api/links/"+unlinked+"?purge=true", b.apiToken(t, "rotating"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"revocation":"revoked"`)
	require.Equal(t, revocations+1, b.authStats(t).Revocations)

	// Re-sealing moves the rest to v2, once.
	rep, err := linktoken.ResealAll(ctx, b.store, sealer, 1, b.logger)
	require.NoError(t, err)
	require.Equal(t, linktoken.ResealReport{Resealed: 1}, rep)
	after, err := b.store.LinkToken(ctx, kept)
	require.NoError(t, err)
	require.Equal(t, "v2", after.KeyID)
	require.Equal(t, before.Version+1, after.Version)
	rep, err = linktoken.ResealAll(ctx, b.store, sealer, 1, b.logger)
	require.NoError(t, err)
	require.Equal(t, linktoken.ResealReport{}, rep)

	// v2 alone opens it, to the same refresh token, which the bank accepts;
	// v1 alone no longer can.
	got, err := linktoken.Open(ctx, tokenseal.New(testRing(t, "v2")), after)
	require.NoError(t, err)
	require.Equal(t, plain, string(got))
	_, err = linktoken.Open(ctx, tokenseal.New(testRing(t, "v1")), after)
	require.ErrorIs(t, err, tokenseal.ErrUnknownKey)
	b.requireRefreshWorks(t, string(got))
}

func TestMovedCiphertextDoesNotOpen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	victim := b.linkedID(t, "mover", 1)
	attacker := b.linkedID(t, "mover", 2)
	victimToken, err := b.store.LinkToken(ctx, victim)
	require.NoError(t, err)

	// Copy the victim's sealed token into the other link's row.
	_, err = b.store.PutLinkToken(ctx, attacker, victimToken.Sealed, victimToken.KeyID)
	require.NoError(t, err)
	moved, err := b.store.LinkToken(ctx, attacker)
	require.NoError(t, err)
	_, err = linktoken.Open(ctx, b.sealer, moved)
	require.ErrorIs(t, err, tokenseal.ErrOpen)

	// Re-sealing reports it and leaves it alone.
	_, sealer := b.withRing(t, "v2", "v1")
	rep, err := linktoken.ResealAll(ctx, b.store, sealer, 10, b.logger)
	require.NoError(t, err)
	require.Equal(t, linktoken.ResealReport{Resealed: 1, Failed: 1}, rep)
	require.Contains(t, b.logs.String(), "token does not open; left as is")

	// Unlinking the link with the moved token cannot revoke it but unlinks.
	revocations := b.authStats(t).Revocations
	resp := do(t, http.MethodDelete, b.url+"/api/links/"+attacker, b.apiToken(t, "mover"), nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"link_id":"`+attacker+`","status":"revoked","revocation":"failed","revocation_error":"token_unreadable"}`, resp.body)
	require.Equal(t, revocations, b.authStats(t).Revocations)
}

func TestCleanupConsentRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.start(t, b.linkToken(t, "cleaner"))
	b.start(t, b.linkToken(t, "cleaner"))

	n, err := b.server.CleanupConsentRequests(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "requests still valid, or expired less than an hour ago, are kept")

	b.clock.Advance(time.Hour + 11*time.Minute)
	n, err = b.server.CleanupConsentRequests(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)

	// RunCleanup does the same on a ticker until its context ends.
	b.start(t, b.linkToken(t, "cleaner"))
	b.clock.Advance(2 * time.Hour)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.server.RunCleanup(runCtx, 10*time.Millisecond) }()
	require.Eventually(t, func() bool {
		var left int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM consent_requests`).Scan(&left))
		return left == 0
	}, 5*time.Second, 20*time.Millisecond)
	cancel()
	<-done
}
