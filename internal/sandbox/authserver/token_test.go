package authserver_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

func TestCodeExchangeRequiresTheVerifier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := &authorization{}
	code := b.code(t, a)

	_, err := b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	requireOAuthError(t, err, "invalid_grant")
	_, err = b.conf.Exchange(b.ctx, code)
	requireOAuthError(t, err, "invalid_grant")

	// A failed verification does not consume the code.
	tok, err := b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	require.NoError(t, err)
	b.verifyIDToken(t, tok, a.nonce)
	require.EqualValues(t, 2, b.p.Stats().TokenErrors["invalid_grant"])
}

func TestCodeExchangeChecksRedirectURIAndClient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := &authorization{}
	code := b.code(t, a)

	other := b.oauthConfig(otherClientID, otherSecret, redirectURL, oauth2.AuthStyleInParams)
	_, err := other.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	requireOAuthError(t, err, "invalid_grant")

	wrongRedirect := *b.conf
	wrongRedirect.RedirectURL = redirectURL + "/"
	_, err = wrongRedirect.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	requireOAuthError(t, err, "invalid_grant")

	noRedirect := *b.conf
	noRedirect.RedirectURL = ""
	_, err = noRedirect.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	requireOAuthError(t, err, "invalid_request")

	_, err = b.conf.Exchange(b.ctx, "not-a-code", oauth2.VerifierOption(a.verifier))
	requireOAuthError(t, err, "invalid_grant")
}

func TestCodeReplayRevokesTheGrant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := &authorization{}
	code := b.code(t, a)
	tok, err := b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	require.NoError(t, err)
	_, err = b.p.Verify(b.ctx, tok.AccessToken)
	require.NoError(t, err)

	_, err = b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	requireOAuthError(t, err, "invalid_grant")

	_, err = b.p.Verify(b.ctx, tok.AccessToken)
	require.ErrorIs(t, err, authserver.ErrInvalidToken)
	_, err = b.refresh(b.conf, tok.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	s := b.p.Stats()
	require.EqualValues(t, 1, s.CodeReplays)
	require.EqualValues(t, 1, s.FamiliesRevoked)
}

func TestCodeExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *authserver.Config) { c.CodeTTL = 30 * time.Second })
	a := &authorization{}
	code := b.code(t, a)
	b.clock.Advance(30 * time.Second)
	_, err := b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	requireOAuthError(t, err, "invalid_grant")

	// Within its lifetime a code works.
	a2 := &authorization{}
	code = b.code(t, a2)
	b.clock.Advance(29 * time.Second)
	_, err = b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a2.verifier))
	require.NoError(t, err)
}

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := b.oauthConfig(clientID, clientSecret, redirectURL, style, allScopes...)
		tok, _ := b.login(t, &authorization{conf: conf})
		tok2, err := b.refresh(conf, tok.RefreshToken)
		require.NoError(t, err, style)
		require.NotEmpty(t, tok2.AccessToken)

		bad := b.oauthConfig(clientID, "wrong-secret", redirectURL, style, allScopes...)
		_, err = b.refresh(bad, tok2.RefreshToken)
		requireOAuthError(t, err, "invalid_client")
		var re *oauth2.RetrieveError
		require.True(t, errors.As(err, &re))
		require.Equal(t, http.StatusUnauthorized, re.Response.StatusCode)
		require.Contains(t, re.Response.Header.Get("WWW-Authenticate"), "Basic")

		// The failed attempt did not touch the grant.
		_, err = b.refresh(conf, tok2.RefreshToken)
		require.NoError(t, err)
	}

	// No credentials at all, and a known client without its secret.
	resp, body := b.postForm(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "invalid_client", body["error"])
	resp, body = b.postForm(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {clientID}}, "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "invalid_client", body["error"])
	// Unknown client.
	resp, body = b.postForm(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "nobody", clientSecret)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "invalid_client", body["error"])
	// Two methods at once.
	resp, body = b.postForm(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {clientID}, "client_secret": {clientSecret}}, clientID, clientSecret)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_request", body["error"])
	require.GreaterOrEqual(t, b.p.Stats().TokenErrors["invalid_client"], int64(5))
}

func TestTokenEndpointIsStrict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	creds := url.Values{"client_id": {clientID}, "client_secret": {clientSecret}}
	with := func(extra url.Values) url.Values {
		v := url.Values{}
		for k, vs := range creds {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"missing grant type":   {with(nil), "invalid_request"},
		"client credentials":   {with(url.Values{"grant_type": {"client_credentials"}}), "unsupported_grant_type"},
		"password grant":       {with(url.Values{"grant_type": {"password"}}), "unsupported_grant_type"},
		"repeated parameter":   {with(url.Values{"grant_type": {"refresh_token", "refresh_token"}}), "invalid_request"},
		"missing code":         {with(url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {redirectURL}}), "invalid_request"},
		"missing refresh":      {with(url.Values{"grant_type": {"refresh_token"}}), "invalid_request"},
		"garbage refresh":      {with(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"abc"}}), "invalid_grant"},
		"unknown refresh":      {with(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("A", 64)}}), "invalid_grant"},
		"unknown scope narrow": {with(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"abc"}, "scope": {"email"}}), "invalid_scope"},
	} {
		resp, body := b.postForm(t, "/token", tc.form, "", "")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		require.Equal(t, tc.want, body["error"], name)
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"), name)
		require.Contains(t, resp.Header.Get("Content-Type"), "application/json", name)
	}

	// Parameters in the URL and other content types are refused.
	resp, err := http.PostForm(b.issuer+"/token?grant_type=refresh_token", creds)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, err = http.Post(b.issuer+"/token", "application/json", strings.NewReader(`{"grant_type":"refresh_token"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestRefreshRotationAndReuseDetection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok0, _ := b.login(t, &authorization{})

	tok1, err := b.refresh(b.conf, tok0.RefreshToken)
	require.NoError(t, err)
	require.NotEmpty(t, tok1.RefreshToken)
	require.NotEqual(t, tok0.RefreshToken, tok1.RefreshToken)
	_, err = b.p.Verify(b.ctx, tok1.AccessToken)
	require.NoError(t, err)

	// The retired token comes back: the whole family dies.
	_, err = b.refresh(b.conf, tok0.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	_, err = b.refresh(b.conf, tok1.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	for _, at := range []string{tok0.AccessToken, tok1.AccessToken} {
		_, err = b.p.Verify(b.ctx, at)
		require.ErrorIs(t, err, authserver.ErrInvalidToken)
	}
	s := b.p.Stats()
	require.EqualValues(t, 1, s.ReuseDetections)
	require.EqualValues(t, 1, s.FamiliesRevoked)
	require.EqualValues(t, 1, s.Rotations)

	// Another grant of the same user is unaffected.
	other, _ := b.login(t, &authorization{})
	_, err = b.refresh(b.conf, other.RefreshToken)
	require.NoError(t, err)
}

func TestReuseDetectionOff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *authserver.Config) { c.DetectReuse = boolPtr(false) })
	tok0, _ := b.login(t, &authorization{})
	tok1, err := b.refresh(b.conf, tok0.RefreshToken)
	require.NoError(t, err)
	_, err = b.refresh(b.conf, tok0.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	// The current token survives the replay.
	_, err = b.refresh(b.conf, tok1.RefreshToken)
	require.NoError(t, err)
	require.Zero(t, b.p.Stats().ReuseDetections)
}

func TestRotationOff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *authserver.Config) { c.RotateRefreshTokens = boolPtr(false) })
	tok, _ := b.login(t, &authorization{})
	form := url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {clientID}, "client_secret": {clientSecret},
	}
	for range 3 {
		resp, body := b.postForm(t, "/token", form, "", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.NotContains(t, body, "refresh_token")
		require.NotEmpty(t, body["access_token"])
		require.NotEmpty(t, body["id_token"])
	}
	s := b.p.Stats()
	require.EqualValues(t, 3, s.Refreshes)
	require.Zero(t, s.Rotations)
}

func TestRefreshTokenTTL(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *authserver.Config) { c.RefreshTokenTTL = time.Hour })
	tok0, _ := b.login(t, &authorization{})
	b.clock.Advance(50 * time.Minute)
	tok1, err := b.refresh(b.conf, tok0.RefreshToken)
	require.NoError(t, err)
	// A rotated token gets a fresh lifetime.
	b.clock.Advance(50 * time.Minute)
	tok2, err := b.refresh(b.conf, tok1.RefreshToken)
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	_, err = b.refresh(b.conf, tok2.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
}

func TestAccessTokenTTL(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *authserver.Config) { c.AccessTokenTTL = 5 * time.Minute })
	tok, _ := b.login(t, &authorization{})
	require.InDelta(t, 300, time.Until(tok.Expiry).Seconds(), 5)
}

func TestRefreshByAnotherClient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, _ := b.login(t, &authorization{})
	other := b.oauthConfig(otherClientID, otherSecret, otherRedirect, oauth2.AuthStyleInHeader)
	_, err := b.refresh(other, tok.RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	// The owner still can.
	_, err = b.refresh(b.conf, tok.RefreshToken)
	require.NoError(t, err)
}

func TestRefreshNarrowsScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, _ := b.login(t, &authorization{})
	form := func(rt, scope string) url.Values {
		return url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {scope},
			"client_id": {clientID}, "client_secret": {clientSecret},
		}
	}
	resp, body := b.postForm(t, "/token", form(tok.RefreshToken, "openid "+authserver.ScopeAccounts), "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "openid "+authserver.ScopeAccounts, body["scope"])
	g, err := b.p.Verify(b.ctx, body["access_token"].(string))
	require.NoError(t, err)
	require.Equal(t, []string{authserver.ScopeOpenID, authserver.ScopeAccounts}, g.Scopes)

	// The grant itself keeps every consented scope.
	rt := body["refresh_token"].(string)
	tok2, err := b.refresh(b.conf, rt)
	require.NoError(t, err)
	require.Equal(t, strings.Join(allScopes, " "), tok2.Extra("scope"))

	// A scope outside the grant cannot be added.
	narrow, _ := b.login(t, &authorization{granted: []string{authserver.ScopeOfflineAccess}})
	resp, body = b.postForm(t, "/token", form(narrow.RefreshToken, "openid "+authserver.ScopeAccounts), "", "")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_scope", body["error"])
}

// TestConcurrentRefreshRevokesTheGrant documents why a client must never
// refresh one grant concurrently: exactly one request wins, the others look
// like a replay and revoke the whole family, the winner's tokens included.
func TestConcurrentRefreshRevokesTheGrant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, _ := b.login(t, &authorization{})

	const n = 12
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []*oauth2.Token
		losers  int
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			got, err := b.refresh(b.conf, tok.RefreshToken)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				winners = append(winners, got)
				return
			}
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
				losers++
			}
		})
	}
	close(start)
	wg.Wait()

	require.Len(t, winners, 1)
	require.Equal(t, n-1, losers)
	_, err := b.p.Verify(b.ctx, winners[0].AccessToken)
	require.ErrorIs(t, err, authserver.ErrInvalidToken)
	_, err = b.refresh(b.conf, winners[0].RefreshToken)
	requireOAuthError(t, err, "invalid_grant")
	s := b.p.Stats()
	require.EqualValues(t, 1, s.Refreshes)
	require.EqualValues(t, 1, s.FamiliesRevoked)
	require.EqualValues(t, 1, s.ReuseDetections)
	require.EqualValues(t, n, s.TokenErrors["invalid_grant"])
}

func TestDisconnect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tokA, _ := b.login(t, &authorization{})
	tokB, _ := b.login(t, &authorization{})
	bob, _ := b.login(t, &authorization{username: bobUser, password: bobPassword})

	require.Zero(t, b.p.Disconnect(aliceSub, otherClientID))
	require.Equal(t, 2, b.p.Disconnect(aliceSub, clientID))
	require.Zero(t, b.p.Disconnect(aliceSub, ""), "already revoked")

	for _, tok := range []*oauth2.Token{tokA, tokB} {
		_, err := b.refresh(b.conf, tok.RefreshToken)
		requireOAuthError(t, err, "invalid_grant")
		_, err = b.p.Verify(b.ctx, tok.AccessToken)
		require.ErrorIs(t, err, authserver.ErrInvalidToken)
	}
	_, err := b.refresh(b.conf, bob.RefreshToken)
	require.NoError(t, err)

	// The user connects again: a fresh consent works.
	again, _ := b.login(t, &authorization{})
	_, err = b.refresh(b.conf, again.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, 1, b.p.Disconnect(aliceSub, ""))
	require.EqualValues(t, 3, b.p.Stats().FamiliesRevoked)
}

func TestExpiredStateIsSwept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	granted := []string{authserver.ScopeAccounts} // no refresh token
	for range 3 {
		b.login(t, &authorization{granted: granted})
	}
	b.code(t, &authorization{}) // never exchanged
	s := b.p.Stats()
	require.Equal(t, 3, s.LiveFamilies)
	require.Equal(t, 4, s.LiveCodes)

	b.clock.Advance(time.Hour)
	b.code(t, &authorization{}) // any write sweeps
	s = b.p.Stats()
	require.Zero(t, s.LiveFamilies)
	require.Equal(t, 1, s.LiveCodes)
}
