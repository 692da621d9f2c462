package authserver_test

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

const (
	clientID       = "pfmsync"
	clientSecret   = "client-secret-8b1f6c2e"
	otherClientID  = "other-app"
	otherSecret    = "other-secret-77d0"
	redirectURL    = "http://127.0.0.1:9/oauth/callback"
	otherRedirect  = "http://127.0.0.1:9/other/callback"
	institutionID  = "3f1e7a3c-8f0b-4bb2-9d7e-2b6c1f0a9e11"
	aliceSub       = "5b8c1f7e-1c7a-4f7d-9d59-0c0b3c8a7a01"
	aliceUser      = "alice"
	alicePassword  = "alice-password-123"
	bobSub         = "0a6f2c4e-5d3b-4e8f-8a1c-7b9d0e2f3a42"
	bobUser        = "bob"
	bobPassword    = "bob-password-456"
	issuerPathPart = "/a/consumer/api/v0/oidc"
)

// allScopes are every scope a client can request.
var allScopes = []string{
	authserver.ScopeOpenID, authserver.ScopeOfflineAccess, authserver.ScopeAccounts,
	authserver.ScopeTransactions, authserver.ScopeProfile,
}

// directory is a fixed user directory.
type directory struct{}

type user struct {
	sub, password string
	claims        authserver.UserClaims
}

var users = map[string]user{
	aliceUser: {aliceSub, alicePassword, authserver.UserClaims{Name: "Alice Archer", GivenName: "Alice", FamilyName: "Archer", Email: "alice@example.com"}},
	bobUser:   {bobSub, bobPassword, authserver.UserClaims{Name: "Bob Baker", GivenName: "Bob", FamilyName: "Baker", Email: "bob@example.com"}},
}

func (directory) Authenticate(username, password string) (string, bool) {
	u, ok := users[username]
	if !ok || subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) != 1 {
		return "", false
	}
	return u.sub, true
}

func (directory) Claims(sub string) (authserver.UserClaims, bool) {
	for _, u := range users {
		if u.sub == sub {
			return u.claims, true
		}
	}
	return authserver.UserClaims{}, false
}

// clock is a settable wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer = testsupport.SyncBuffer

// testBundle is one provider served over HTTP plus a production-style client.
type testBundle struct {
	ctx      context.Context
	p        *authserver.Provider
	srv      *httptest.Server
	issuer   string
	clock    *clock
	logs     *syncBuffer
	oidc     *oidc.Provider
	conf     *oauth2.Config // client_secret_post, all scopes
	verifier *oidc.IDTokenVerifier
	browser  *http.Client // does not follow redirects
}

// setup starts a provider configured by cfg (the zero-valued fields filled
// in) and discovers it with go-oidc.
func setup(t *testing.T, mutate ...func(*authserver.Config)) *testBundle {
	t.Helper()
	b := &testBundle{ctx: t.Context(), clock: &clock{t: time.Now()}, logs: &syncBuffer{}}
	var handler http.Handler
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	b.issuer = "http://" + b.srv.Listener.Addr().String() + issuerPathPart
	cfg := authserver.Config{
		Issuer:          b.issuer,
		InstitutionID:   institutionID,
		InstitutionName: "Garden Savings & Loan",
		Clients: []authserver.Client{
			{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}},
			{ID: otherClientID, Secret: otherSecret, RedirectURIs: []string{otherRedirect}},
		},
		Directory: directory{},
		Now:       b.clock.Now,
		Logger:    slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := authserver.New(cfg)
	require.NoError(t, err)
	b.p = p
	handler = p.Handler()
	b.srv.Start()
	t.Cleanup(b.srv.Close)

	b.oidc, err = oidc.NewProvider(b.ctx, b.issuer)
	require.NoError(t, err)
	b.conf = b.oauthConfig(clientID, clientSecret, redirectURL, oauth2.AuthStyleInParams, allScopes...)
	b.verifier = b.oidc.Verifier(&oidc.Config{ClientID: clientID})
	// The bundle's own transport: another test's httptest.Server.Close
	// closes the idle connections of http.DefaultTransport, which breaks a
	// request about to reuse one.
	b.browser = &http.Client{Transport: b.srv.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

func (b *testBundle) oauthConfig(id, secret, redirect string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	ep := b.oidc.Endpoint()
	ep.AuthStyle = style
	return &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep, RedirectURL: redirect, Scopes: scopes}
}

// authorization describes one run through the consent page.
type authorization struct {
	conf     *oauth2.Config // nil: b.conf
	username string         // "" → alice
	password string         // "" → alice's password
	action   string         // "" → allow
	granted  []string       // nil → every requested scope
	extra    []oauth2.AuthCodeOption

	// Filled in by authorize.
	state, nonce, verifier string
}

// authURL builds the authorization URL the way a production client does.
func (b *testBundle) authURL(a *authorization) string {
	if a.conf == nil {
		a.conf = b.conf
	}
	if a.state == "" {
		a.state = oauth2.GenerateVerifier()[:22]
	}
	if a.nonce == "" {
		a.nonce = oauth2.GenerateVerifier()[:22]
	}
	if a.verifier == "" {
		a.verifier = oauth2.GenerateVerifier()
	}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), oidc.Nonce(a.nonce)}, a.extra...)
	return a.conf.AuthCodeURL(a.state, opts...)
}

// postConsent submits the consent form for the authorization URL u (the
// automation path) and returns the response.
func (b *testBundle) postConsent(t *testing.T, u string, form url.Values) *http.Response {
	t.Helper()
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	body := parsed.Query()
	for k, vs := range form {
		body[k] = vs
	}
	parsed.RawQuery = ""
	resp, err := b.browser.PostForm(parsed.String(), body)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// consentForm is the user's part of the consent form.
func consentForm(a *authorization, requested []string) url.Values {
	f := url.Values{"username": {aliceUser}, "password": {alicePassword}, "action": {"allow"}}
	if a.username != "" {
		f.Set("username", a.username)
	}
	if a.password != "" {
		f.Set("password", a.password)
	}
	if a.action != "" {
		f.Set("action", a.action)
	}
	granted := a.granted
	if granted == nil {
		granted = requested
	}
	f["granted_scope"] = granted
	return f
}

// authorize runs the consent page (GET, then the form post) and returns the
// redirect it ends with.
func (b *testBundle) authorize(t *testing.T, a *authorization) *url.URL {
	t.Helper()
	u := b.authURL(a)
	resp, err := b.browser.Get(u)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	require.Contains(t, string(page), `name="granted_scope"`)

	resp = b.postConsent(t, u, consentForm(a, a.conf.Scopes))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

// code runs the consent page with an allow and returns the code, after
// checking state and iss.
func (b *testBundle) code(t *testing.T, a *authorization) string {
	t.Helper()
	loc := b.authorize(t, a)
	q := loc.Query()
	require.Empty(t, q.Get("error"), q.Get("error_description"))
	require.Equal(t, a.state, q.Get("state"))
	require.Equal(t, b.issuer, q.Get("iss"))
	require.Equal(t, redirectURL, loc.Scheme+"://"+loc.Host+loc.Path)
	require.NotEmpty(t, q.Get("code"))
	return q.Get("code")
}

// login runs a whole authorization and code exchange and verifies the ID
// token the way a production client must.
func (b *testBundle) login(t *testing.T, a *authorization) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	code := b.code(t, a)
	tok, err := a.conf.Exchange(b.ctx, code, oauth2.VerifierOption(a.verifier))
	require.NoError(t, err)
	idt := b.verifyIDToken(t, tok, a.nonce)
	return tok, idt
}

// verifyIDToken checks the token response's ID token: signature (ES256 from
// the JWKS), iss, aud, exp, nonce and at_hash.
func (b *testBundle) verifyIDToken(t *testing.T, tok *oauth2.Token, nonce string) *oidc.IDToken {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	require.True(t, ok, "id_token missing")
	idt, err := b.verifier.Verify(b.ctx, raw)
	require.NoError(t, err)
	require.Equal(t, nonce, idt.Nonce)
	require.NoError(t, idt.VerifyAccessToken(tok.AccessToken))
	return idt
}

// refresh runs the refresh_token grant through x/oauth2.
func (b *testBundle) refresh(conf *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	return conf.TokenSource(b.ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// postForm posts a raw form to an endpoint of the provider, with optional
// basic client credentials, and decodes the JSON answer.
func (b *testBundle) postForm(t *testing.T, suffix string, form url.Values, basicID, basicSecret string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(b.ctx, http.MethodPost, b.issuer+suffix, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &body), string(raw))
	}
	return resp, body
}

// requireOAuthError asserts that err is a token endpoint error with code.
func requireOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	require.Equal(t, code, re.ErrorCode, re.ErrorDescription)
}

func boolPtr(v bool) *bool { return &v }
