package consumerapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

// A code exchange whose ID token fails verification (here: the nonce does
// not match) must not leave a live grant at the institution.
func TestSandboxRejectedExchangeRevokesGrant(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	ctx := context.Background()
	req, err := b.client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	authURL, err := url.Parse(req.URL)
	require.NoError(t, err)
	form := authURL.Query()
	form.Set("username", sandbox.Username(1))
	form.Set("password", sandbox.DemoPassword)
	form.Set("action", "allow")
	for _, s := range req.Scopes {
		form.Add("granted_scope", s)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(b.srv.Issuer()+"/auth", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	cb, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code, err := b.client.ParseCallback(ctx, cb.Query(), req.State)
	require.NoError(t, err)

	before := b.srv.Stats().Auth.(authserver.Stats)
	_, err = b.client.Exchange(ctx, code, req.CodeVerifier, "not-the-nonce-that-was-sent")
	require.ErrorIs(t, err, consumerapi.ErrInvalidIDToken)

	after := b.srv.Stats().Auth.(authserver.Stats)
	require.Equal(t, before.CodesExchanged+1, after.CodesExchanged, "the code was exchanged")
	require.Greater(t, after.Revocations, before.Revocations, "the tokens were revoked")
	require.Equal(t, before.FamiliesRevoked+1, after.FamiliesRevoked, "the grant is gone")
}
