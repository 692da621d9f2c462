package linkserver

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

func TestConnectPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.linkToken(t, "app-user-c")
	resp := get(t, b.url+"/link?token="+url.QueryEscape(token))
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Equal(t, "text/html; charset=utf-8", resp.header.Get("Content-Type"))
	require.Contains(t, resp.body, `id="connect"`)
	require.Contains(t, resp.body, "Sandbox Community Bank")
	require.Contains(t, resp.body, `id="connect-sandbox"`)
	require.Contains(t, resp.body, `href="/link/start?institution=sandbox&amp;token=`)
	require.NotContains(t, resp.body, "<script")
	require.NotContains(t, resp.body, "style=")
	requireSecurityHeaders(t, resp.header, true)

	css := get(t, b.url+stylesheetPath)
	require.Equal(t, http.StatusOK, css.status)
	require.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
	requireSecurityHeaders(t, css.header, false)
}

func TestPagesRefuseBadTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	valid := b.linkToken(t, "app-user-t")
	body, sig, _ := strings.Cut(valid, ".")
	expired := b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-t", Expiry: time.Now().Add(-time.Second)})
	apiToken := b.apiToken(t, "app-user-t")
	otherKey, err := SignLinkToken([]byte(strings.Repeat("x", 32)), LinkClaims{Audience: AudienceLink, AppUser: "app-user-t", Expiry: time.Now().Add(time.Minute)})
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		query  url.Values
		status int
		text   string
	}{
		"Missing":       {url.Values{}, http.StatusUnauthorized, "Open this page from your app"},
		"Expired":       {url.Values{"token": {expired}}, http.StatusUnauthorized, "This link has expired"},
		"Tampered":      {url.Values{"token": {body + "x." + sig}}, http.StatusUnauthorized, "This link is not valid"},
		"OtherKey":      {url.Values{"token": {otherKey}}, http.StatusUnauthorized, "This link is not valid"},
		"WrongAudience": {url.Values{"token": {apiToken}}, http.StatusForbidden, "cannot be used here"},
		"OtherUser":     {url.Values{"token": {valid}, "user": {"someone-else"}}, http.StatusForbidden, "made for someone else"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/link", "/link/start"} {
				q := url.Values{"institution": {testSlug}}
				for k, v := range tc.query {
					q[k] = v
				}
				resp := get(t, b.url+path+"?"+q.Encode())
				require.Equal(t, tc.status, resp.status, "%s: %s", path, resp.body)
				require.Contains(t, resp.body, tc.text, path)
				requireSecurityHeaders(t, resp.header, true)
			}
		})
	}
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM consent_requests`).Scan(&n))
	require.Zero(t, n, "a refused start stores nothing")
}

func TestStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	authURL := b.start(t, b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-s", ReturnURL: testReturnPrefix + "/x"}))

	require.Equal(t, b.sandbox.Issuer()+"/auth", authURL.Scheme+"://"+authURL.Host+authURL.Path)
	q := authURL.Query()
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, testClientID, q.Get("client_id"))
	require.Equal(t, b.url+CallbackPath, q.Get("redirect_uri"))
	require.ElementsMatch(t, allScopes, strings.Fields(q.Get("scope")))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(t, q.Get("code_challenge"))
	require.NotEmpty(t, q.Get("nonce"))
	require.Contains(t, q.Get("claims"), consumerapi.ClaimInstitutionID)

	// Stored: the state's hash (never the state), the nonce, the verifier
	// sealed to the request, the user, the return URL, a 10 minute expiry.
	state := q.Get("state")
	hash := sha256.Sum256([]byte(state))
	var (
		id, nonce, user, ret string
		sealed               []byte
		ttl                  time.Duration
	)
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT id::text, nonce, sealed_verifier, app_user_ref, return_url, expires_at - created_at
		FROM consent_requests WHERE state_hash = $1`, hash[:]).Scan(&id, &nonce, &sealed, &user, &ret, &ttl))
	require.Equal(t, q.Get("nonce"), nonce)
	require.Equal(t, "app-user-s", user)
	require.Equal(t, testReturnPrefix+"/x", ret)
	require.InDelta(t, (10 * time.Minute).Seconds(), ttl.Seconds(), 5)
	verifier, err := b.sealer.Open(ctx, sealed, tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: id})
	require.NoError(t, err)
	challenge := sha256.Sum256(verifier)
	require.Equal(t, q.Get("code_challenge"), b64.EncodeToString(challenge[:]))
}

func TestStartRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.linkedID(t, "owner", 1)

	for name, tc := range map[string]struct {
		claims LinkClaims
		query  url.Values
		status int
		text   string
	}{
		"UnknownInstitution":  {LinkClaims{AppUser: "u"}, url.Values{"institution": {"nope"}}, http.StatusNotFound, "not available"},
		"NoInstitution":       {LinkClaims{AppUser: "u"}, url.Values{}, http.StatusBadRequest, "Choose your bank"},
		"InstitutionMismatch": {LinkClaims{AppUser: "u", Institution: "other"}, url.Values{"institution": {testSlug}}, http.StatusForbidden, "another bank"},
		"ReturnURLNotAllowed": {LinkClaims{AppUser: "u", ReturnURL: "https://evil.example/"}, url.Values{"institution": {testSlug}}, http.StatusBadRequest, "not allowed"},
		"OtherUsersLink":      {LinkClaims{AppUser: "intruder", LinkID: id}, url.Values{}, http.StatusNotFound, "Connection not found"},
		"MalformedLinkID":     {LinkClaims{AppUser: "owner", LinkID: "not-a-uuid"}, url.Values{}, http.StatusNotFound, "Connection not found"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.claims.Audience = AudienceLink
			q := url.Values{"token": {b.sign(t, tc.claims)}}
			for k, v := range tc.query {
				q[k] = v
			}
			resp := get(t, b.url+"/link/start?"+q.Encode())
			require.Equal(t, tc.status, resp.status, resp.body)
			require.Contains(t, resp.body, tc.text)
		})
	}
}

func TestConnectPageForReconsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.linkedID(t, "owner-rc", 1)
	resp := get(t, b.url+"/link?token="+url.QueryEscape(b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "owner-rc", LinkID: id})))
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Contains(t, resp.body, "Reconnect your bank")
	require.Contains(t, resp.body, "Reconnect</a>")

	resp = get(t, b.url+"/link?token="+url.QueryEscape(b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "someone", LinkID: id})))
	require.Equal(t, http.StatusNotFound, resp.status)
}

// requireSecurityHeaders checks the headers every response carries, and
// no-store on personal routes.
func requireSecurityHeaders(t testing.TB, h http.Header, noStore bool) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.Contains(t, csp, "script-src 'none'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Equal(t, "DENY", h.Get("X-Frame-Options"))
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	if noStore {
		require.Equal(t, "no-store", h.Get("Cache-Control"))
	}
}
