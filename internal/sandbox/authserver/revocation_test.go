package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

func TestRevocationEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	revoke := func(token, hint, id, secret string, basic bool) (*http.Response, map[string]any) {
		form := url.Values{"token": {token}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		if basic {
			return b.postForm(t, "/token/revocation", form, id, secret)
		}
		form.Set("client_id", id)
		form.Set("client_secret", secret)
		return b.postForm(t, "/token/revocation", form, "", "")
	}

	// Revoking a refresh token revokes the whole grant.
	tok, _ := b.login(t, &authorization{})
	resp, _ := revoke(tok.RefreshToken, "refresh_token", clientID, clientSecret, true)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	_, err := b.p.Verify(b.ctx, tok.AccessToken)
	require.ErrorIs(t, err, authserver.ErrInvalidToken)
	_, err = b.refresh(b.conf, tok.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	// Revoking it again, or something unknown, is still 200.
	for _, v := range []string{tok.RefreshToken, "unknown", strings.Repeat("A", 64), tok.AccessToken} {
		resp, _ = revoke(v, "", clientID, clientSecret, false)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}

	// Revoking an access token revokes that token only, whatever the hint.
	tok, _ = b.login(t, &authorization{})
	resp, _ = revoke(tok.AccessToken, "refresh_token", clientID, clientSecret, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = b.p.Verify(b.ctx, tok.AccessToken)
	require.ErrorIs(t, err, authserver.ErrInvalidToken)
	tok2, err := b.refresh(b.conf, tok.RefreshToken)
	require.NoError(t, err)
	_, err = b.p.Verify(b.ctx, tok2.AccessToken)
	require.NoError(t, err)

	// Another client's token is refused and left alone.
	resp, body := revoke(tok2.RefreshToken, "", otherClientID, otherSecret, true)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_request", body["error"])
	resp, _ = revoke(tok2.AccessToken, "access_token", otherClientID, otherSecret, false)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	_, err = b.p.Verify(b.ctx, tok2.AccessToken)
	require.NoError(t, err)
	_, err = b.refresh(b.conf, tok2.RefreshToken)
	require.NoError(t, err)

	// Client authentication is required, and so is the token.
	resp, body = revoke(tok2.AccessToken, "", clientID, "wrong", true)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "invalid_client", body["error"])
	resp, body = b.postForm(t, "/token/revocation", url.Values{}, clientID, clientSecret)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_request", body["error"])

	s := b.p.Stats()
	require.EqualValues(t, 2, s.Revocations)
	require.EqualValues(t, 1, s.FamiliesRevoked)
}
