package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// TestLogsHoldNoSecrets drives every path that logs and checks that no code,
// token, secret, verifier or password value reaches the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secrets := []string{clientSecret, otherSecret, alicePassword, "wrong-password-xyz", "wrong-secret-xyz"}
	keep := func(tok *oauth2.Token) {
		secrets = append(secrets, tok.AccessToken, tok.Extra("id_token").(string))
		if tok.RefreshToken != "" {
			secrets = append(secrets, tok.RefreshToken)
		}
	}

	// Wrong password, then a login; the code is replayed.
	a := &authorization{password: "wrong-password-xyz"}
	b.postConsent(t, b.authURL(a), consentForm(a, allScopes))
	a = &authorization{}
	code := b.code(t, a)
	secrets = append(secrets, code, a.verifier)
	_, err := b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	require.Error(t, err)
	tok, err := b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	require.NoError(t, err)
	keep(tok)
	_, err = b.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	require.Error(t, err)

	// Rotation, a wrong secret, reuse.
	a = &authorization{}
	tok0, _ := b.login(t, a)
	keep(tok0)
	tok1, err := b.refresh(b.conf, tok0.RefreshToken)
	require.NoError(t, err)
	keep(tok1)
	bad := b.oauthConfig(clientID, "wrong-secret-xyz", redirectURL, oauth2.AuthStyleInHeader)
	_, err = b.refresh(bad, tok1.RefreshToken)
	require.Error(t, err)
	_, err = b.refresh(b.conf, tok0.RefreshToken)
	require.Error(t, err)

	// Userinfo with good and bad tokens, revocation, disconnect.
	tok2, _ := b.login(t, &authorization{})
	keep(tok2)
	for _, at := range []string{tok2.AccessToken, tok1.AccessToken, tok2.AccessToken + "x"} {
		req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, b.issuer+"/me", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+at)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	b.postForm(t, "/token/revocation", url.Values{"token": {tok2.AccessToken}}, clientID, clientSecret)
	b.postForm(t, "/token/revocation", url.Values{"token": {tok2.RefreshToken}}, otherClientID, otherSecret)
	b.postForm(t, "/token/revocation", url.Values{"token": {tok2.RefreshToken}}, clientID, clientSecret)
	b.p.Disconnect(aliceSub, "")

	logs := b.logs.String()
	require.Contains(t, logs, "tokens issued")
	require.Contains(t, logs, "grant revoked")
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, logs, s)
		// JWT signatures and the random parts of opaque values are the
		// secret-bearing parts; none of them may leak either.
		if parts := strings.Split(s, "."); len(parts) == 3 {
			require.NotContains(t, logs, parts[2])
		}
		if len(s) > 24 {
			require.NotContains(t, logs, s[len(s)-24:])
		}
	}
}
