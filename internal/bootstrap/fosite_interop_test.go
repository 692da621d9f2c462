package bootstrap_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/pfmsync/pfmsync/internal/bootstrap"
	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// The OpenID provider of these tests is built from ory/fosite, a library
// nobody here wrote: RS256 ID tokens, endpoint paths unlike the sandbox's
// (/op/oauth2/auth, /op/oauth2/token, /op/keys, /op/oauth2/revoke), an
// issuer on another path than the API, its own PKCE and refresh-token
// rotation with reuse detection.
const (
	fositeClientID     = "pfmsync-interop"
	fositeClientSecret = "interop-client-secret-3b9d0e"
	fositeKeyID        = "op-rs256"
	fositeSubject      = "user-7f3e"
	fositeDataScope    = "https://op.example/scopes/accounts.read"
)

// fositeOP is a running provider.
type fositeOP struct {
	issuer string

	mu     sync.Mutex
	issued []string // refresh tokens, in the order issued
}

// lastRefreshToken is the refresh token the provider issued last.
func (o *fositeOP) lastRefreshToken() consumerapi.Secret {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.issued) == 0 {
		return ""
	}
	return consumerapi.Secret(o.issued[len(o.issued)-1])
}

// startFositeOP serves a fosite provider on loopback whose client may
// redirect to redirectURL.
func startFositeOP(t *testing.T, redirectURL string) *fositeOP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	issuer := base + "/op"

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte(fositeClientSecret), bcrypt.MinCost)
	require.NoError(t, err)
	st := storage.NewExampleStore()
	st.Clients = map[string]fosite.Client{fositeClientID: &fosite.DefaultClient{
		ID:            fositeClientID,
		Secret:        hash,
		RedirectURIs:  []string{redirectURL},
		ResponseTypes: []string{"code"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		Scopes:        []string{"openid", "offline_access", fositeDataScope},
	}}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cfg := &fosite.Config{
		GlobalSecret:             secret,
		IDTokenIssuer:            issuer,
		AccessTokenLifespan:      10 * time.Minute,
		IDTokenLifespan:          10 * time.Minute,
		EnforcePKCE:              true,
		ScopeStrategy:            fosite.ExactScopeStrategy,
		AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
	}
	op := compose.ComposeAllEnabled(cfg, st, key)
	o := &fositeOP{issuer: issuer}

	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: fositeKeyID, Algorithm: "RS256", Use: "sig"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /op/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                issuer + "/oauth2/auth",
			"token_endpoint":                        issuer + "/oauth2/token",
			"jwks_uri":                              issuer + "/keys",
			"revocation_endpoint":                   issuer + "/oauth2/revoke",
			"response_types_supported":              []string{"code"},
			"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported":      []string{"S256", "plain"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
			"scopes_supported":                      []string{"openid", "offline_access", fositeDataScope},
		})
	})
	mux.HandleFunc("GET /op/keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	})
	// The user has logged in and consents to every requested scope.
	mux.HandleFunc("GET /op/oauth2/auth", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := op.NewAuthorizeRequest(ctx, r)
		if err != nil {
			op.WriteAuthorizeError(ctx, w, ar, err)
			return
		}
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		session := &openid.DefaultSession{
			Subject: fositeSubject,
			Claims: &jwt.IDTokenClaims{
				Subject:     fositeSubject,
				AuthTime:    time.Now().UTC(),
				RequestedAt: time.Now().UTC(),
			},
			Headers: &jwt.Headers{Extra: map[string]any{"kid": fositeKeyID}},
		}
		resp, err := op.NewAuthorizeResponse(ctx, ar, session)
		if err != nil {
			op.WriteAuthorizeError(ctx, w, ar, err)
			return
		}
		op.WriteAuthorizeResponse(ctx, w, ar, resp)
	})
	mux.HandleFunc("POST /op/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := op.NewAccessRequest(ctx, r, openid.NewDefaultSession())
		if err != nil {
			op.WriteAccessError(ctx, w, ar, err)
			return
		}
		resp, err := op.NewAccessResponse(ctx, ar)
		if err != nil {
			op.WriteAccessError(ctx, w, ar, err)
			return
		}
		if rt, ok := resp.GetExtra("refresh_token").(string); ok {
			o.mu.Lock()
			o.issued = append(o.issued, rt)
			o.mu.Unlock()
		}
		op.WriteAccessResponse(ctx, w, ar, resp)
	})
	mux.HandleFunc("POST /op/oauth2/revoke", func(w http.ResponseWriter, r *http.Request) {
		op.WriteRevocationResponse(r.Context(), w, op.NewRevocationRequest(r.Context(), r))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return o
}

// interopClient configures the institution the way an operator does, with
// the per-institution issuer and scopes, and builds its client through
// bootstrap.
func interopClient(t *testing.T, issuer, publicURL string, logs *testsupport.SyncBuffer) *consumerapi.Client {
	t.Helper()
	insts, err := json.Marshal([]map[string]any{{
		"slug": "fosite-fi", "name": "Interop FI", "base_url": strings.TrimSuffix(issuer, "/op") + "/api/v0",
		"client_id": fositeClientID, "client_secret_env": "INTEROP_SECRET",
		"issuer": issuer, "scopes": []string{"openid", "offline_access", fositeDataScope},
	}})
	require.NoError(t, err)
	env := map[string]string{
		config.EnvDatabaseURL:  "postgres://127.0.0.1:1/unused",
		config.EnvInstitutions: string(insts),
		"INTEROP_SECRET":       fositeClientSecret,
		"PFMSYNC_PUBLIC_URL":   publicURL,
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	in, ok := cfg.Institution("fosite-fi")
	require.True(t, ok)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := bootstrap.BankClient(context.Background(), cfg, in, logger, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// authorize sends the browser to the authorization URL and returns the
// callback's query.
func authorize(t *testing.T, authURL, redirectURL string) url.Values {
	t.Helper()
	browser := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := browser.Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc.String(), redirectURL+"?"), loc.String())
	return loc.Query()
}

func TestConsentRefreshAndRotationAgainstFosite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	publicURL := "http://127.0.0.1:9"
	redirectURL := publicURL + bootstrap.CallbackPath
	op := startFositeOP(t, redirectURL)
	var logs testsupport.SyncBuffer
	client := interopClient(t, op.issuer, publicURL, &logs)

	meta, err := client.Discover(ctx)
	require.NoError(t, err)
	require.Equal(t, op.issuer+"/oauth2/token", meta.TokenEndpoint)

	// Consent: authorization request with PKCE S256 and a nonce.
	req, err := client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	u, err := url.Parse(req.URL)
	require.NoError(t, err)
	require.Equal(t, "/op/oauth2/auth", u.Path)
	require.Equal(t, "S256", u.Query().Get("code_challenge_method"))
	require.Equal(t, req.Nonce, u.Query().Get("nonce"))
	require.ElementsMatch(t, []string{"openid", "offline_access", fositeDataScope}, strings.Fields(u.Query().Get("scope")))

	code, err := client.ParseCallback(ctx, authorize(t, req.URL, redirectURL), req.State)
	require.NoError(t, err)
	tokens, err := client.Exchange(ctx, code, req.CodeVerifier, req.Nonce)
	require.NoError(t, err)
	require.False(t, tokens.AccessToken.IsZero())
	require.False(t, tokens.RefreshToken.IsZero())
	require.Equal(t, op.issuer, tokens.Claims.Issuer)
	require.Equal(t, fositeSubject, tokens.Claims.Subject)
	require.Equal(t, req.Nonce, tokens.Claims.Nonce)
	require.Equal(t, "RS256", tokens.Claims.Algorithm)
	require.Equal(t, []string{fositeClientID}, tokens.Claims.Audience)
	require.True(t, tokens.HasScope(fositeDataScope))

	// Refresh: fosite rotates the refresh token and issues a new ID token.
	first := tokens.RefreshToken
	refreshed, err := client.Refresh(ctx, first)
	require.NoError(t, err)
	require.True(t, refreshed.Rotated)
	require.NotEqual(t, first, refreshed.RefreshToken)
	require.NotEqual(t, tokens.AccessToken, refreshed.AccessToken)
	require.False(t, refreshed.IDToken.IsZero())
	idt, err := client.VerifyIDToken(ctx, refreshed.IDToken.Reveal(), "")
	require.NoError(t, err)
	require.Equal(t, fositeSubject, idt.Subject)
	require.Equal(t, "RS256", idt.Algorithm)

	second, err := client.Refresh(ctx, refreshed.RefreshToken)
	require.NoError(t, err)
	require.True(t, second.Rotated)

	// The rotated-away token presented again is reuse: invalid_grant, which
	// pfmsync reads as consent revoked; fosite revokes the whole family, so
	// the newest token is dead too.
	_, err = client.Refresh(ctx, first)
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)
	require.NotContains(t, err.Error(), first.Reveal())
	_, err = client.Refresh(ctx, second.RefreshToken)
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)

	for _, s := range []consumerapi.Secret{first, refreshed.RefreshToken, second.RefreshToken, tokens.AccessToken, tokens.IDToken, req.CodeVerifier} {
		require.NotContains(t, logs.String(), s.Reveal())
	}
	require.NotContains(t, logs.String(), fositeClientSecret)
	require.NotContains(t, logs.String(), code)
}

func TestFositeRefusesWhatPfmsyncMustRefuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	publicURL := "http://127.0.0.1:9"
	redirectURL := publicURL + bootstrap.CallbackPath
	op := startFositeOP(t, redirectURL)
	var logs testsupport.SyncBuffer
	client := interopClient(t, op.issuer, publicURL, &logs)

	// A wrong PKCE verifier: the provider refuses the code.
	req, err := client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	code, err := client.ParseCallback(ctx, authorize(t, req.URL, redirectURL), req.State)
	require.NoError(t, err)
	other, err := client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	_, err = client.Exchange(ctx, code, other.CodeVerifier, req.Nonce)
	var apiErr *consumerapi.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, "invalid_grant", apiErr.OAuthError)
	require.NotContains(t, err.Error(), other.CodeVerifier.Reveal())

	// A nonce that is not the request's: pfmsync refuses the ID token the
	// provider signed, and revokes what the response carried.
	req, err = client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	code, err = client.ParseCallback(ctx, authorize(t, req.URL, redirectURL), req.State)
	require.NoError(t, err)
	_, err = client.Exchange(ctx, code, req.CodeVerifier, other.Nonce)
	require.ErrorIs(t, err, consumerapi.ErrInvalidIDToken)
	require.ErrorContains(t, err, "nonce")
	// The refresh token the provider issued with that ID token was revoked.
	issued := op.lastRefreshToken()
	require.False(t, issued.IsZero())
	_, err = client.Refresh(ctx, issued)
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)

	// A code is single use: a replay is refused, and fosite revokes what
	// the code had issued (RFC 6749 §4.1.2).
	req, err = client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	code, err = client.ParseCallback(ctx, authorize(t, req.URL, redirectURL), req.State)
	require.NoError(t, err)
	tokens, err := client.Exchange(ctx, code, req.CodeVerifier, req.Nonce)
	require.NoError(t, err)
	_, err = client.Exchange(ctx, code, req.CodeVerifier, req.Nonce)
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, "invalid_grant", apiErr.OAuthError)
	require.NotContains(t, err.Error(), code)
	require.NotContains(t, err.Error(), req.CodeVerifier.Reveal())
	_, err = client.Refresh(ctx, tokens.RefreshToken)
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)

	// A state that is not the request's is refused before any exchange.
	req, err = client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	_, err = client.ParseCallback(ctx, authorize(t, req.URL, redirectURL), other.State)
	require.Error(t, err)
}
