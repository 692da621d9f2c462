package consumerapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
)

const (
	tokenRoute      = "POST " + apiPrefix + "/oidc/token"
	revocationRoute = "POST " + apiPrefix + "/oidc/token/revocation"
	discoveryRoute  = "GET " + apiPrefix + "/oidc/.well-known/openid-configuration"
)

// tokenJSON renders a token endpoint response.
func tokenJSON(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	out := map[string]any{"access_token": "new-access-token", "token_type": "Bearer", "expires_in": 600}
	for k, v := range fields {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return b
}

func TestAuthorizationRequest(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	c := bank.newClient(t)

	req, err := c.AuthorizationRequest(context.Background(), AuthPrompt("consent"))
	require.NoError(t, err)
	u, err := url.Parse(req.URL)
	require.NoError(t, err)
	require.Equal(t, bank.issuer+"/auth", u.Scheme+"://"+u.Host+u.Path)
	q := u.Query()
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, testClientID, q.Get("client_id"))
	require.Equal(t, "http://127.0.0.1:8080/callback", q.Get("redirect_uri"))
	require.Equal(t, strings.Join(DefaultScopes, " "), q.Get("scope"))
	require.Equal(t, req.State, q.Get("state"))
	require.Equal(t, req.Nonce, q.Get("nonce"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	sum := sha256.Sum256([]byte(req.CodeVerifier.Reveal()))
	require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), q.Get("code_challenge"))
	require.JSONEq(t, `{"id_token":{"https://api.banno.com/consumer/claim/institution_id":null}}`, q.Get("claims"))
	require.Equal(t, "consent", q.Get("prompt"))
	require.NotContains(t, req.URL, req.CodeVerifier.Reveal(), "only the challenge is sent")
	require.Len(t, req.State, 26)

	other, err := c.AuthorizationRequest(context.Background(), AuthScopes(ScopeAccounts))
	require.NoError(t, err)
	require.NotEqual(t, req.State, other.State)
	require.NotEqual(t, req.Nonce, other.Nonce)
	require.Equal(t, []string{ScopeOpenID, ScopeAccounts}, other.Scopes)
	require.Equal(t, 1, bank.hitCount(discoveryRoute), "discovery is cached")
}

func TestExchange(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	const nonce = "nonce-123"
	var form url.Values
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		form = r.PostForm
		idt := bank.sign(bank.claims(nonce))
		// The user unticked transactions: fewer scopes granted.
		writeJSON(w, http.StatusOK, tokenJSON(t, map[string]any{
			"id_token":      idt,
			"refresh_token": "first-refresh-token",
			"scope":         "openid https://api.banno.com/consumer/auth/offline_access https://api.banno.com/consumer/auth/accounts.readonly",
		}))
	})
	c := bank.newClient(t)

	tok, err := c.Exchange(context.Background(), "the-code", "the-verifier-0123456789012345678901234567890", nonce)
	require.NoError(t, err)
	require.Equal(t, "authorization_code", form.Get("grant_type"))
	require.Equal(t, "the-code", form.Get("code"))
	require.Equal(t, "the-verifier-0123456789012345678901234567890", form.Get("code_verifier"))
	require.Equal(t, "http://127.0.0.1:8080/callback", form.Get("redirect_uri"))
	require.Equal(t, testClientID, form.Get("client_id"))
	require.Equal(t, testSecret.Reveal(), form.Get("client_secret"), "secret in the body, as Banno's examples")

	require.Equal(t, Secret("new-access-token"), tok.AccessToken)
	require.WithinDuration(t, time.Now().Add(10*time.Minute), tok.Expiry, 5*time.Second)
	require.Equal(t, Secret("first-refresh-token"), tok.RefreshToken)
	require.True(t, tok.Rotated)
	require.True(t, tok.HasScope(ScopeAccounts))
	require.False(t, tok.HasScope(ScopeTransactions))
	require.Equal(t, []string{ScopeTransactions, ScopeUserProfile}, tok.MissingScopes(DefaultScopes))
	require.Equal(t, testUserID, tok.Claims.Subject)
	require.Equal(t, "4b1f3a9e-2c6d-4e8a-b0f7-5d9c1e2a3b4c", tok.Claims.InstitutionID)
	require.Equal(t, oidc.ES256, tok.Claims.Algorithm)
	require.Equal(t, "session-1", tok.Claims.SessionID)
	require.Equal(t, 1, bank.hitCount(tokenRoute))
}

func TestExchangeRejectsBadIDToken(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, tokenJSON(t, map[string]any{"id_token": bank.sign(bank.claims("other-nonce"))}))
	})
	c := bank.newClient(t)
	_, err := c.Exchange(context.Background(), "code", "verifier", "nonce-123")
	require.ErrorIs(t, err, ErrInvalidIDToken)

	_, err = c.Exchange(context.Background(), "code", "verifier", "")
	require.ErrorIs(t, err, ErrInvalidIDToken, "a nonce is mandatory")
	require.Equal(t, 1, bank.hitCount(tokenRoute))
}

func TestVerifyIDToken(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaKey := signingKey{priv: rsaPriv, kid: "rs256-1", alg: oidc.RS256}
	bank.addKey(rsaKey)
	stranger := newES256Key(t, "es256-1") // same kid, different key
	c := bank.newClient(t)
	const nonce = "n-0S6_WzA2Mj"

	mutate := func(f func(map[string]any)) string {
		cl := bank.claims(nonce)
		f(cl)
		return bank.sign(cl)
	}
	now := time.Now()
	tests := []struct {
		name    string
		token   string
		nonce   string
		wantErr bool
	}{
		{"ES256 good", bank.sign(bank.claims(nonce)), nonce, false},
		{"RS256 good (algorithm from the JWKS)", bank.sign(bank.claims(nonce), rsaKey), nonce, false},
		{"no nonce expected (refresh)", bank.sign(bank.claims("")), "", false},
		{"expired within skew", mutate(func(m map[string]any) { m["exp"] = now.Add(-10 * time.Second).Unix() }), nonce, false},
		{"wrong nonce", bank.sign(bank.claims(nonce)), "n-other", true},
		{"missing nonce", bank.sign(bank.claims("")), nonce, true},
		{"nonce prefix", bank.sign(bank.claims(nonce)), nonce[:4], true},
		{"wrong audience", mutate(func(m map[string]any) { m["aud"] = "someone-else" }), nonce, true},
		{"several audiences without azp", mutate(func(m map[string]any) { m["aud"] = []string{testClientID, "other"} }), nonce, true},
		{"several audiences with azp", mutate(func(m map[string]any) {
			m["aud"] = []string{testClientID, "other"}
			m["azp"] = testClientID
		}), nonce, false},
		{"wrong issuer", mutate(func(m map[string]any) { m["iss"] = "https://evil.example/oidc" }), nonce, true},
		{"expired", mutate(func(m map[string]any) { m["exp"] = now.Add(-time.Hour).Unix() }), nonce, true},
		{"no exp", mutate(func(m map[string]any) { delete(m, "exp") }), nonce, true},
		{"issued in the future", mutate(func(m map[string]any) { m["iat"] = now.Add(time.Hour).Unix() }), nonce, true},
		{"no subject", mutate(func(m map[string]any) { delete(m, "sub") }), nonce, true},
		{"signed by an unknown key", bank.sign(bank.claims(nonce), stranger), nonce, true},
		{"garbage", "not.a.jwt", nonce, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idt, err := c.VerifyIDToken(context.Background(), tt.token, tt.nonce)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidIDToken)
				require.Equal(t, KindPermanent, Classify(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, testUserID, idt.Subject)
			require.Equal(t, bank.issuer, idt.Issuer)
		})
	}
}

func TestVerifyIDTokenAlgorithmNotAdvertised(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaKey := signingKey{priv: rsaPriv, kid: "rs256-1", alg: oidc.RS256}
	bank.addKey(rsaKey)
	bank.setDiscovery("id_token_signing_alg_values_supported", []string{"ES256"})
	c := bank.newClient(t)

	_, err = c.VerifyIDToken(context.Background(), bank.sign(bank.claims(""), rsaKey), "")
	require.ErrorIs(t, err, ErrInvalidIDToken, "RS256 is not assumed when only ES256 is advertised")
	_, err = c.VerifyIDToken(context.Background(), bank.sign(bank.claims("")), "")
	require.NoError(t, err)
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		response    map[string]any
		wantRotated bool
		wantRefresh Secret
		wantScopes  []string
	}{
		{
			name:        "rotated",
			response:    map[string]any{"refresh_token": "refresh-2", "scope": "openid https://api.banno.com/consumer/auth/accounts.readonly"},
			wantRotated: true, wantRefresh: "refresh-2",
			wantScopes: []string{ScopeOpenID, ScopeAccounts},
		},
		{
			name:        "no refresh token returned: keep the old one",
			response:    map[string]any{},
			wantRotated: false, wantRefresh: "",
		},
		{
			name:        "same refresh token returned",
			response:    map[string]any{"refresh_token": "refresh-1", "scope": ""},
			wantRotated: false, wantRefresh: "",
			wantScopes: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
				require.NoError(t, r.ParseForm())
				require.Equal(t, "refresh_token", r.PostForm.Get("grant_type"))
				require.Equal(t, "refresh-1", r.PostForm.Get("refresh_token"))
				require.Equal(t, testClientID, r.PostForm.Get("client_id"))
				require.Equal(t, testSecret.Reveal(), r.PostForm.Get("client_secret"))
				resp := map[string]any{"id_token": bank.sign(bank.claims(""))}
				for k, v := range tt.response {
					resp[k] = v
				}
				writeJSON(w, http.StatusOK, tokenJSON(t, resp))
			})
			c := bank.newClient(t)

			tok, err := c.Refresh(context.Background(), "refresh-1")
			require.NoError(t, err)
			require.Equal(t, Secret("new-access-token"), tok.AccessToken)
			require.Equal(t, tt.wantRotated, tok.Rotated)
			require.Equal(t, tt.wantRefresh, tok.RefreshToken)
			require.Equal(t, tt.wantScopes, tok.GrantedScopes)
			require.False(t, tok.IDToken.IsZero())
			_, err = c.VerifyIDToken(context.Background(), tok.IDToken.Reveal(), "")
			require.NoError(t, err)
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(t *testing.T, w http.ResponseWriter)
		kind    ErrorKind
		status  int
		check   func(t *testing.T, err error)
	}{
		{
			name: "invalid_grant is consent revoked",
			handler: func(t *testing.T, w http.ResponseWriter) {
				writeFixture(t, w, http.StatusBadRequest, "oauth_invalid_grant.json")
			},
			kind: KindConsentRevoked, status: 400,
			check: func(t *testing.T, err error) {
				require.ErrorIs(t, err, ErrConsentRevoked)
				require.True(t, IsConsentRevoked(err))
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, "invalid_grant", ae.OAuthError)
				require.Equal(t, "grant request is invalid", ae.OAuthDescription)
				require.Equal(t, "POST /oidc/token", ae.Endpoint)
			},
		},
		{
			name: "invalid_client 401 is permanent, not unauthorized",
			handler: func(t *testing.T, w http.ResponseWriter) {
				writeFixture(t, w, http.StatusUnauthorized, "oauth_invalid_client.json")
			},
			kind: KindPermanent, status: 401,
			check: func(t *testing.T, err error) {
				require.False(t, IsUnauthorized(err))
				require.NotErrorIs(t, err, ErrConsentRevoked)
			},
		},
		{
			name:    "503 is transient but not retried",
			handler: func(t *testing.T, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) },
			kind:    KindTransient, status: 503,
		},
		{
			name: "429 with Retry-After",
			handler: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			kind: KindRateLimited, status: 429,
			check: func(t *testing.T, err error) {
				d, ok := RetryAfter(err)
				require.True(t, ok)
				require.Equal(t, 30*time.Second, d)
			},
		},
		{
			name:    "lost response: connection closed after the request",
			handler: func(t *testing.T, w http.ResponseWriter) { hijackWrite(t, w, "") },
			kind:    KindTransient,
		},
		{
			name: "truncated token response",
			handler: func(t *testing.T, w http.ResponseWriter) {
				hijackWrite(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"access_token\": \"abc")
			},
			kind: KindTransient, status: 0,
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, ErrTruncatedBody) },
		},
		{
			name:    "malformed token response",
			handler: func(t *testing.T, w http.ResponseWriter) { writeJSON(w, http.StatusOK, []byte(`{"access_token": 12`)) },
			kind:    KindPermanent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
				drain(r)
				tt.handler(t, w)
			})
			c := bank.newClient(t)

			_, err := c.Refresh(context.Background(), "refresh-1")
			require.Error(t, err)
			require.Equal(t, tt.kind, Classify(err), "%v", err)
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.status, ae.StatusCode)
			require.Equal(t, 1, bank.hitCount(tokenRoute), "the token endpoint is hit exactly once")
			require.Empty(t, c.delays(), "no backoff either")
			require.NotContains(t, err.Error(), "refresh-1")
			require.NotContains(t, err.Error(), testSecret.Reveal())
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	t.Run("from discovery", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		var form url.Values
		bank.handle(revocationRoute, func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, r.ParseForm())
			form = r.PostForm
			w.WriteHeader(http.StatusOK)
		})
		c := bank.newClient(t)
		require.NoError(t, c.Revoke(context.Background(), "refresh-1", HintRefreshToken))
		require.Equal(t, "refresh-1", form.Get("token"))
		require.Equal(t, "refresh_token", form.Get("token_type_hint"))
		require.Equal(t, testClientID, form.Get("client_id"))
		require.Equal(t, testSecret.Reveal(), form.Get("client_secret"))
	})
	t.Run("basic auth", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.handle(revocationRoute, func(w http.ResponseWriter, r *http.Request) {
			id, secret, ok := r.BasicAuth()
			require.True(t, ok)
			require.Equal(t, testClientID, id)
			require.Equal(t, testSecret.Reveal(), secret)
			require.NoError(t, r.ParseForm())
			require.Empty(t, r.PostForm.Get("client_secret"))
			w.WriteHeader(http.StatusOK)
		})
		c := bank.newClient(t, func(i *Institution) { i.TokenAuth = AuthClientSecretBasic })
		require.NoError(t, c.Revoke(context.Background(), "refresh-1", ""))
	})
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.handle(revocationRoute, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusBadRequest, []byte(`{"error":"unsupported_token_type"}`))
		})
		c := bank.newClient(t)
		err := c.Revoke(context.Background(), "refresh-1", HintRefreshToken)
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "unsupported_token_type", ae.OAuthError)
		require.Equal(t, KindPermanent, ae.Kind)
		require.Equal(t, 1, bank.hitCount(revocationRoute))
	})
	t.Run("configured endpoint", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.setDiscovery("revocation_endpoint", nil)
		bank.handle("POST /custom/revoke", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
		c := bank.newClient(t)
		require.ErrorIs(t, c.Revoke(context.Background(), "x", ""), ErrRevocationUnsupported)
		c2 := bank.newClient(t, func(i *Institution) { i.RevocationURL = bank.srv.URL + "/custom/revoke" })
		require.NoError(t, c2.Revoke(context.Background(), "x", ""))
		require.Equal(t, 1, bank.hitCount("POST /custom/revoke"))
	})
}

func TestParseCallback(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	c := bank.newClient(t)
	const state = "STATE0123456789"
	tests := []struct {
		name     string
		query    url.Values
		wantCode string
		wantErr  error
	}{
		{"good", url.Values{"code": {"c1"}, "state": {state}, "iss": {bank.issuer}}, "c1", nil},
		{"state mismatch", url.Values{"code": {"c1"}, "state": {"STATE0123456780"}, "iss": {bank.issuer}}, "", ErrStateMismatch},
		{"state missing", url.Values{"code": {"c1"}, "iss": {bank.issuer}}, "", ErrStateMismatch},
		{"issuer mismatch (mix-up attack)", url.Values{"code": {"c1"}, "state": {state}, "iss": {"https://other.example/oidc"}}, "", ErrIssuerMismatch},
		{"issuer missing though advertised", url.Values{"code": {"c1"}, "state": {state}}, "", ErrIssuerMismatch},
		{"access denied", url.Values{"error": {"access_denied"}, "error_description": {"user declined"}, "state": {state}, "iss": {bank.issuer}}, "", ErrAccessDenied},
		{"no code", url.Values{"state": {state}, "iss": {bank.issuer}}, "", ErrInvalidCallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, err := c.ParseCallback(context.Background(), tt.query, state)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantCode, code)
		})
	}

	t.Run("iss optional when not advertised", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.setDiscovery("authorization_response_iss_parameter_supported", false)
		c := bank.newClient(t)
		code, err := c.ParseCallback(context.Background(), url.Values{"code": {"c1"}, "state": {state}}, state)
		require.NoError(t, err)
		require.Equal(t, "c1", code)
	})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	t.Run("lazy and cached", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		c := bank.newClient(t)
		require.Zero(t, bank.hitCount(discoveryRoute), "lazy by default")
		m, err := c.Discover(context.Background())
		require.NoError(t, err)
		require.Equal(t, bank.issuer+"/token/revocation", m.RevocationEndpoint)
		require.True(t, m.AuthorizationResponseIssParameterSupported)
		_, err = c.Discover(context.Background())
		require.NoError(t, err)
		require.Equal(t, 1, bank.hitCount(discoveryRoute))
	})
	t.Run("eager failure", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.setDiscovery("issuer", "https://impostor.example/oidc")
		_, err := New(context.Background(), bank.institution(), WithEagerDiscovery())
		require.ErrorIs(t, err, ErrMalformedBody)
		require.ErrorContains(t, err, "impostor")
	})
	t.Run("failure is not cached", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		var down atomic.Bool
		down.Store(true)
		bank.handle("GET /down/oidc/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			bank.mu.Lock()
			doc := bank.discovery
			bank.mu.Unlock()
			writeJSON(w, http.StatusOK, doc)
		})
		c := bank.newClient(t, func(i *Institution) { i.Issuer = bank.srv.URL + "/down/oidc" })
		_, err := c.Discover(context.Background())
		require.True(t, IsTransient(err))
		require.Equal(t, 3, bank.hitCount("GET /down/oidc/.well-known/openid-configuration"), "discovery GET is retried")
		down.Store(false)
		_, err = c.Discover(context.Background())
		require.ErrorIs(t, err, ErrMalformedBody, "issuer in the document differs from the configured one")
	})
}

func TestRefreshSurvivesCancellation(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	c := bank.newClient(t)
	_, err := c.Discover(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		cancel() // the caller gives up while the institution rotates
		time.Sleep(50 * time.Millisecond)
		writeJSON(w, http.StatusOK, tokenJSON(t, map[string]any{"refresh_token": "refresh-2"}))
	})
	tok, err := c.Refresh(ctx, "refresh-1")
	require.NoError(t, err)
	require.True(t, tok.Rotated)
	require.Equal(t, Secret("refresh-2"), tok.RefreshToken)

	_, err = c.Refresh(ctx, "refresh-2")
	require.ErrorIs(t, err, context.Canceled, "an already canceled context starts nothing")
	require.Equal(t, 1, bank.hitCount(tokenRoute))
}
