package authserver_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

func TestConsentPageRendersForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := &authorization{extra: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("claims", `{"id_token":{"name":null}}`)}}
	u := b.authURL(a)
	resp, err := b.browser.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	page := string(raw)

	require.Contains(t, page, "Garden Savings &amp; Loan")
	require.NotContains(t, page, "<script")
	for _, want := range []string{
		`<form method="post" action="` + issuerPathPart + `/auth"`,
		`id="username" name="username"`,
		`id="password" name="password"`,
		`id="allow" name="action" value="allow"`,
		`id="deny" name="action" value="deny"`,
	} {
		require.Contains(t, page, want)
	}
	// One checkbox per requested scope, all ticked; openid cannot be unticked.
	require.Equal(t, len(allScopes), strings.Count(page, `name="granted_scope"`))
	for _, s := range allScopes {
		box := fmt.Sprintf(`name="granted_scope" value="%s" checked`, s)
		require.Contains(t, page, box, s)
	}
	require.Contains(t, page, `value="openid" checked disabled`)
	// Every authorization parameter travels as a hidden field.
	q, err := url.Parse(u)
	require.NoError(t, err)
	for k := range q.Query() {
		require.Contains(t, page, `<input type="hidden" name="`+k+`" value="`, k)
	}
	require.Contains(t, page, `name="claims" value="{&#34;id_token&#34;:{&#34;name&#34;:null}}"`)
	require.Contains(t, page, `name="state" value="`+a.state+`"`)
	require.Contains(t, page, `name="nonce" value="`+a.nonce+`"`)
	require.Contains(t, page, `name="code_challenge_method" value="S256"`)
	require.Contains(t, page, `name="redirect_uri" value="`+redirectURL+`"`)

	// Submitting what the page holds, as a browser does, completes the flow.
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	require.Equal(t, q.Query(), form)
	form.Set("username", aliceUser)
	form.Set("password", alicePassword)
	form.Set("action", "allow")
	form["granted_scope"] = []string{authserver.ScopeOfflineAccess}
	resp, err = b.browser.PostForm("http://"+q.Host+issuerPathPart+"/auth", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	tok, err := b.conf.Exchange(b.ctx, loc.Query().Get("code"), oauth2.VerifierOption(a.verifier))
	require.NoError(t, err)
	require.Equal(t, "openid "+authserver.ScopeOfflineAccess, tok.Extra("scope"))
	idt := b.verifyIDToken(t, tok, a.nonce)
	var c struct {
		Name string `json:"name"`
	}
	require.NoError(t, idt.Claims(&c))
	require.Equal(t, "Alice Archer", c.Name)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

func TestWrongCredentialsRerendersPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := &authorization{password: "wrong", granted: []string{authserver.ScopeAccounts}}
	u := b.authURL(a)
	resp := b.postConsent(t, u, consentForm(a, allScopes))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Location"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	page := string(raw)
	require.Contains(t, page, "The username or password is incorrect.")
	require.Contains(t, page, `id="username" name="username" value="alice"`)
	require.NotContains(t, page, "wrong", "the password is never echoed")
	require.Contains(t, page, `name="state" value="`+a.state+`"`)
	// The boxes keep the user's choice.
	require.Contains(t, page, `value="`+authserver.ScopeAccounts+`" checked`)
	require.NotContains(t, page, `value="`+authserver.ScopeTransactions+`" checked`)
	require.EqualValues(t, 1, b.p.Stats().LoginFailures)

	// A missing action is not a decision.
	a2 := &authorization{}
	u = b.authURL(a2)
	form := consentForm(a2, allScopes)
	form.Del("action")
	resp = b.postConsent(t, u, form)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Location"))
}

func TestDenyRedirectsAccessDenied(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := &authorization{action: "deny", username: "nobody", password: "x"}
	loc := b.authorize(t, a)
	q := loc.Query()
	require.Equal(t, "access_denied", q.Get("error"))
	require.Equal(t, a.state, q.Get("state"))
	require.Equal(t, b.issuer, q.Get("iss"))
	require.Empty(t, q.Get("code"))
	require.EqualValues(t, 1, b.p.Stats().AuthorizationsDenied)
}

func TestBadClientOrRedirectNeverRedirects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, conf := range map[string]*oauth2.Config{
		"unknown client":         b.oauthConfig("nope", "x", redirectURL, oauth2.AuthStyleInParams, allScopes...),
		"unregistered redirect":  b.oauthConfig(clientID, clientSecret, "http://evil.example/cb", oauth2.AuthStyleInParams, allScopes...),
		"trailing slash":         b.oauthConfig(clientID, clientSecret, redirectURL+"/", oauth2.AuthStyleInParams, allScopes...),
		"case differs":           b.oauthConfig(clientID, clientSecret, strings.ToUpper(redirectURL[:4])+redirectURL[4:], oauth2.AuthStyleInParams, allScopes...),
		"other client's":         b.oauthConfig(clientID, clientSecret, otherRedirect, oauth2.AuthStyleInParams, allScopes...),
		"missing redirect":       b.oauthConfig(clientID, clientSecret, "", oauth2.AuthStyleInParams, allScopes...),
		"bad redirect and scope": b.oauthConfig(clientID, clientSecret, "http://evil.example/cb", oauth2.AuthStyleInParams, "email"),
	} {
		a := &authorization{conf: conf}
		u := b.authURL(a)
		resp, err := b.browser.Get(u)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		require.Empty(t, resp.Header.Get("Location"), name)
		require.Contains(t, resp.Header.Get("Content-Type"), "text/html", name)
		require.Contains(t, string(raw), `id="error"`, name)

		resp = b.postConsent(t, u, consentForm(a, allScopes))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		require.Empty(t, resp.Header.Get("Location"), name)
	}
	require.Zero(t, b.p.Stats().AuthorizationsApproved)
}

func TestAuthorizationErrorsRedirect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeOption(verifier)
	set := oauth2.SetAuthURLParam
	cases := []struct {
		name string
		opts []oauth2.AuthCodeOption
		conf *oauth2.Config
		want string
	}{
		{"no PKCE", nil, nil, "invalid_request"},
		{"plain PKCE", []oauth2.AuthCodeOption{set("code_challenge", verifier), set("code_challenge_method", "plain")}, nil, "invalid_request"},
		{"PKCE without method", []oauth2.AuthCodeOption{set("code_challenge", verifier)}, nil, "invalid_request"},
		{"malformed challenge", []oauth2.AuthCodeOption{set("code_challenge", "abc"), set("code_challenge_method", "S256")}, nil, "invalid_request"},
		{"token response type", []oauth2.AuthCodeOption{challenge, set("response_type", "token")}, nil, "unsupported_response_type"},
		{"fragment response mode", []oauth2.AuthCodeOption{challenge, set("response_mode", "fragment")}, nil, "invalid_request"},
		{"bad claims JSON", []oauth2.AuthCodeOption{challenge, set("claims", "{not json")}, nil, "invalid_request"},
		{"claims not objects", []oauth2.AuthCodeOption{challenge, set("claims", `{"id_token":["name"]}`)}, nil, "invalid_request"},
		{"prompt none", []oauth2.AuthCodeOption{challenge, set("prompt", "none")}, nil, "login_required"},
		{"unknown prompt", []oauth2.AuthCodeOption{challenge, set("prompt", "sideways")}, nil, "invalid_request"},
		{"request object", []oauth2.AuthCodeOption{challenge, set("request", "eyJ.x.y")}, nil, "request_not_supported"},
		{"no openid", []oauth2.AuthCodeOption{challenge}, b.oauthConfig(clientID, clientSecret, redirectURL, oauth2.AuthStyleInParams, authserver.ScopeAccounts), "invalid_scope"},
		{"unknown scope", []oauth2.AuthCodeOption{challenge}, b.oauthConfig(clientID, clientSecret, redirectURL, oauth2.AuthStyleInParams, "openid", "email"), "invalid_scope"},
	}
	for _, tc := range cases {
		conf := tc.conf
		if conf == nil {
			conf = b.conf
		}
		u := conf.AuthCodeURL("st-"+tc.name, tc.opts...)
		resp, err := b.browser.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode, tc.name)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, redirectURL, loc.Scheme+"://"+loc.Host+loc.Path, tc.name)
		q := loc.Query()
		require.Equal(t, tc.want, q.Get("error"), tc.name)
		require.NotEmpty(t, q.Get("error_description"), tc.name)
		require.Equal(t, "st-"+tc.name, q.Get("state"), tc.name)
		require.Equal(t, b.issuer, q.Get("iss"), tc.name)

		// The form post re-validates and answers 303.
		resp = b.postConsent(t, u, url.Values{"username": {aliceUser}, "password": {alicePassword}, "action": {"allow"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, tc.name)
		loc, err = url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, tc.want, loc.Query().Get("error"), tc.name)
	}
}

func TestRepeatedParameterRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.authURL(&authorization{}) + "&scope=openid"
	resp, err := b.browser.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "invalid_request", loc.Query().Get("error"))
}

func TestClientScopeRestriction(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *authserver.Config) {
		c.Clients[0].Scopes = []string{authserver.ScopeOfflineAccess, authserver.ScopeAccounts}
	})
	u := b.authURL(&authorization{}) // asks for every scope
	resp, err := b.browser.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "invalid_scope", loc.Query().Get("error"))

	conf := b.oauthConfig(clientID, clientSecret, redirectURL, oauth2.AuthStyleInParams,
		authserver.ScopeOpenID, authserver.ScopeOfflineAccess, authserver.ScopeAccounts)
	tok, _ := b.login(t, &authorization{conf: conf})
	require.NotEmpty(t, tok.RefreshToken)
}

func TestRedirectURIWithQueryKeepsIt(t *testing.T) {
	t.Parallel()
	const withQuery = "http://127.0.0.1:9/cb?tenant=7"
	b := setup(t, func(c *authserver.Config) {
		c.Clients[0].RedirectURIs = append(c.Clients[0].RedirectURIs, withQuery)
	})
	conf := b.oauthConfig(clientID, clientSecret, withQuery, oauth2.AuthStyleInParams, allScopes...)
	a := &authorization{conf: conf}
	loc := b.authorize(t, a)
	q := loc.Query()
	require.Equal(t, "7", q.Get("tenant"))
	require.NotEmpty(t, q.Get("code"))
	tok, err := conf.Exchange(b.ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
	require.NoError(t, err)
	b.verifyIDToken(t, tok, a.nonce)
}
