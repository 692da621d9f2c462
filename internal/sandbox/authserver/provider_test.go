package authserver_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	valid := func() authserver.Config {
		return authserver.Config{
			Issuer:        "http://127.0.0.1:8080" + issuerPathPart,
			InstitutionID: institutionID,
			Clients:       []authserver.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
			Directory:     directory{},
		}
	}
	_, err := authserver.New(valid())
	require.NoError(t, err)

	for name, mutate := range map[string]func(*authserver.Config){
		"no issuer":          func(c *authserver.Config) { c.Issuer = "" },
		"relative issuer":    func(c *authserver.Config) { c.Issuer = "/oidc" },
		"trailing slash":     func(c *authserver.Config) { c.Issuer += "/" },
		"issuer query":       func(c *authserver.Config) { c.Issuer += "?x=1" },
		"no institution":     func(c *authserver.Config) { c.InstitutionID = "" },
		"no directory":       func(c *authserver.Config) { c.Directory = nil },
		"no clients":         func(c *authserver.Config) { c.Clients = nil },
		"no secret":          func(c *authserver.Config) { c.Clients[0].Secret = "" },
		"no redirect":        func(c *authserver.Config) { c.Clients[0].RedirectURIs = nil },
		"fragment redirect":  func(c *authserver.Config) { c.Clients[0].RedirectURIs = []string{redirectURL + "#x"} },
		"duplicate client":   func(c *authserver.Config) { c.Clients = append(c.Clients, c.Clients[0]) },
		"unknown scope":      func(c *authserver.Config) { c.Clients[0].Scopes = []string{"email"} },
		"negative TTL":       func(c *authserver.Config) { c.AccessTokenTTL = -time.Second },
		"relative redirect":  func(c *authserver.Config) { c.Clients[0].RedirectURIs = []string{"/callback"} },
		"empty client id":    func(c *authserver.Config) { c.Clients[0].ID = "" },
		"negative code TTL":  func(c *authserver.Config) { c.CodeTTL = -time.Second },
		"negative refresh T": func(c *authserver.Config) { c.RefreshTokenTTL = -time.Second },
	} {
		cfg := valid()
		mutate(&cfg)
		_, err := authserver.New(cfg)
		require.Error(t, err, name)
	}
}

func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	b := setup(t)

	resp, err := http.Get(b.issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))

	require.Equal(t, b.issuer, doc["issuer"])
	require.Equal(t, b.issuer+"/auth", doc["authorization_endpoint"])
	require.Equal(t, b.issuer+"/token", doc["token_endpoint"])
	require.Equal(t, b.issuer+"/jwks", doc["jwks_uri"])
	require.Equal(t, b.issuer+"/me", doc["userinfo_endpoint"])
	require.Equal(t, b.issuer+"/token/revocation", doc["revocation_endpoint"])
	require.Equal(t, []any{"code"}, doc["response_types_supported"])
	require.Equal(t, []any{"authorization_code", "refresh_token"}, doc["grant_types_supported"])
	require.Equal(t, []any{"client_secret_basic", "client_secret_post"}, doc["token_endpoint_auth_methods_supported"])
	require.Equal(t, []any{"ES256"}, doc["id_token_signing_alg_values_supported"])
	require.Equal(t, []any{"S256"}, doc["code_challenge_methods_supported"])
	require.Equal(t, []any{"public"}, doc["subject_types_supported"])
	require.Equal(t, true, doc["claims_parameter_supported"])
	require.Equal(t, true, doc["authorization_response_iss_parameter_supported"])
	for _, s := range allScopes {
		require.Contains(t, doc["scopes_supported"], s)
	}
	require.Contains(t, doc["claims_supported"], authserver.ClaimInstitutionID)

	resp, err = http.Get(b.issuer + "/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&jwks))
	require.Len(t, jwks.Keys, 1)
	k := jwks.Keys[0]
	require.Equal(t, "EC", k["kty"])
	require.Equal(t, "P-256", k["crv"])
	require.Equal(t, "ES256", k["alg"])
	require.Equal(t, "sig", k["use"])
	require.Equal(t, b.p.KeyID(), k["kid"])
	require.NotContains(t, k, "d", "private key material must not be published")

	// Only the issuer's routes are served, with their methods.
	resp, err = http.Get(b.issuer + "/token")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, err = http.Get(strings.TrimSuffix(b.issuer, "/oidc") + "/jwks")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestHappyPathAllScopes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	claims := `{"id_token":{"` + authserver.ClaimInstitutionID + `":null,"name":null,"email":{"essential":true}}}`
	a := &authorization{extra: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("claims", claims)}}
	tok, idt := b.login(t, a)

	require.Equal(t, "Bearer", tok.TokenType)
	require.NotEmpty(t, tok.RefreshToken)
	require.InDelta(t, 600, time.Until(tok.Expiry).Seconds(), 5)
	require.Equal(t, strings.Join(allScopes, " "), tok.Extra("scope"))

	require.Equal(t, aliceSub, idt.Subject)
	require.Equal(t, []string{clientID}, idt.Audience)
	require.InDelta(t, time.Hour.Seconds(), time.Until(idt.Expiry).Seconds(), 5)
	var c struct {
		Institution string `json:"https://api.banno.com/consumer/claim/institution_id"`
		Name        string `json:"name"`
		Email       string `json:"email"`
		GivenName   string `json:"given_name"`
		SID         string `json:"sid"`
		AuthTime    int64  `json:"auth_time"`
	}
	require.NoError(t, idt.Claims(&c))
	require.Equal(t, institutionID, c.Institution)
	require.Equal(t, "Alice Archer", c.Name)
	require.Equal(t, "alice@example.com", c.Email)
	require.Empty(t, c.GivenName, "claims that were not requested are not released")
	require.NotEmpty(t, c.SID)
	require.NotZero(t, c.AuthTime)

	g, err := b.p.Verify(b.ctx, tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, aliceSub, g.Subject)
	require.Equal(t, clientID, g.ClientID)
	require.Equal(t, c.SID, g.FamilyID)
	require.Equal(t, allScopes, g.Scopes)
	require.WithinDuration(t, tok.Expiry, g.ExpiresAt, 2*time.Second)

	// Userinfo through go-oidc: the profile scope releases the profile.
	ui, err := b.oidc.UserInfo(b.ctx, oauth2.StaticTokenSource(tok))
	require.NoError(t, err)
	require.Equal(t, aliceSub, ui.Subject)
	require.Equal(t, "alice@example.com", ui.Email)
	var uic map[string]any
	require.NoError(t, ui.Claims(&uic))
	require.Equal(t, "Alice", uic["given_name"])
	require.Equal(t, "Archer", uic["family_name"])

	// Refresh: new tokens, same grant, an ID token like Banno's.
	b.clock.Advance(time.Minute)
	tok2, err := b.refresh(b.conf, tok.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, tok2.AccessToken)
	require.NotEqual(t, tok.RefreshToken, tok2.RefreshToken)
	idt2 := b.verifyIDToken(t, tok2, a.nonce)
	require.Equal(t, aliceSub, idt2.Subject)
	var c2 struct {
		SID      string `json:"sid"`
		AuthTime int64  `json:"auth_time"`
		Inst     string `json:"https://api.banno.com/consumer/claim/institution_id"`
	}
	require.NoError(t, idt2.Claims(&c2))
	require.Equal(t, c.SID, c2.SID)
	require.Equal(t, c.AuthTime, c2.AuthTime, "auth_time is the original authentication")
	require.Equal(t, institutionID, c2.Inst)
	g2, err := b.p.Verify(b.ctx, tok2.AccessToken)
	require.NoError(t, err)
	require.Equal(t, c.SID, g2.FamilyID)

	s := b.p.Stats()
	require.EqualValues(t, 1, s.AuthorizationsApproved)
	require.EqualValues(t, 1, s.CodesExchanged)
	require.EqualValues(t, 1, s.Refreshes)
	require.EqualValues(t, 1, s.Rotations)
	require.Equal(t, 1, s.LiveFamilies)
}

func TestOfflineAccessUnticked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	granted := slices.DeleteFunc(slices.Clone(allScopes), func(s string) bool { return s == authserver.ScopeOfflineAccess })
	tok, _ := b.login(t, &authorization{granted: granted})
	require.Empty(t, tok.RefreshToken)
	require.Equal(t, strings.Join(granted, " "), tok.Extra("scope"))
	_, err := b.p.Verify(b.ctx, tok.AccessToken)
	require.NoError(t, err)
}

func TestScopeUnticked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	granted := []string{authserver.ScopeOfflineAccess, authserver.ScopeAccounts} // openid is implied
	tok, _ := b.login(t, &authorization{granted: granted})
	want := []string{authserver.ScopeOpenID, authserver.ScopeOfflineAccess, authserver.ScopeAccounts}
	require.Equal(t, strings.Join(want, " "), tok.Extra("scope"))
	g, err := b.p.Verify(b.ctx, tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, want, g.Scopes)
	require.False(t, g.HasScope(authserver.ScopeTransactions))

	// Without the profile scope, userinfo says who, not what.
	ui, err := b.oidc.UserInfo(b.ctx, oauth2.StaticTokenSource(tok))
	require.NoError(t, err)
	require.Equal(t, aliceSub, ui.Subject)
	require.Empty(t, ui.Email)

	// The refreshed grant keeps the consented scopes.
	tok2, err := b.refresh(b.conf, tok.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, strings.Join(want, " "), tok2.Extra("scope"))
}

func TestLegacyOfflineAccessScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conf := b.oauthConfig(clientID, clientSecret, redirectURL, oauth2.AuthStyleInParams, oidc.ScopeOpenID, "offline_access")
	tok, _ := b.login(t, &authorization{conf: conf})
	require.NotEmpty(t, tok.RefreshToken)
	require.Equal(t, "openid offline_access", tok.Extra("scope"))
}

func TestUserinfoRequiresBearer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, auth := range []string{"", "Basic abc", "Bearer not-a-token"} {
		req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, b.issuer+"/me", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, auth)
		require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer "), auth)
	}

	// Claims requested for userinfo are released there.
	claims := `{"userinfo":{"` + authserver.ClaimInstitutionID + `":null}}`
	conf := b.oauthConfig(clientID, clientSecret, redirectURL, oauth2.AuthStyleInParams, oidc.ScopeOpenID)
	tok, _ := b.login(t, &authorization{conf: conf, extra: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("claims", claims)}})
	req, err := http.NewRequestWithContext(b.ctx, http.MethodPost, b.issuer+"/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, map[string]any{"sub": aliceSub, authserver.ClaimInstitutionID: institutionID}, body)
}
