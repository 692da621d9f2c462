package consumerapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Route templates of the OAuth endpoints, for errors, logs and span names.
const (
	tokenEndpoint      = "POST /oidc/token"
	revocationEndpoint = "POST /oidc/token/revocation"
)

// ErrInvalidCallback means an authorization callback carries neither a code
// nor an error.
var ErrInvalidCallback = errors.New("authorization callback without code or error")

// AuthRequest is a prepared authorization request. Store State, Nonce and
// CodeVerifier (one-time, short-lived) until the callback comes back, then
// redirect the user's browser to URL.
type AuthRequest struct {
	// URL is the institution's authorization endpoint with every
	// parameter: response_type=code, client_id, redirect_uri, scope, state,
	// nonce, code_challenge (S256) and claims.
	URL string
	// State is the CSRF token expected back on the callback.
	State string
	// Nonce is expected in the ID token.
	Nonce string
	// CodeVerifier is the PKCE verifier to send with the code exchange.
	CodeVerifier Secret
	// Scopes are the scopes requested.
	Scopes []string
}

// AuthOption adjusts one authorization request.
type AuthOption func(*authOptions)

type authOptions struct {
	prompt string
	scopes []string
}

// AuthPrompt sets the prompt parameter (e.g. "login" or "consent").
func AuthPrompt(p string) AuthOption { return func(o *authOptions) { o.prompt = p } }

// AuthScopes requests these scopes instead of Institution.Scopes ("openid"
// is added when missing).
func AuthScopes(scopes ...string) AuthOption {
	return func(o *authOptions) { o.scopes = slices.Clone(scopes) }
}

// AuthorizationRequest prepares an authorization code request with PKCE S256
// (always, as every Banno example does), fresh random state and nonce, and
// the claims parameter asking for Institution.IDTokenClaims in the ID token.
func (c *Client) AuthorizationRequest(ctx context.Context, opts ...AuthOption) (*AuthRequest, error) {
	if c.inst.RedirectURL == "" {
		return nil, fmt.Errorf("authorization request: institution %q has no redirect URL", c.inst.Slug)
	}
	d, err := c.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("authorization request: %w", err)
	}
	var o authOptions
	for _, opt := range opts {
		opt(&o)
	}
	cfg := d.oauth
	if o.scopes != nil {
		cfg.Scopes = o.scopes
		if !slices.Contains(cfg.Scopes, ScopeOpenID) {
			cfg.Scopes = append([]string{ScopeOpenID}, cfg.Scopes...)
		}
	}
	req := &AuthRequest{
		State:        rand.Text(),
		Nonce:        rand.Text(),
		CodeVerifier: Secret(oauth2.GenerateVerifier()),
		Scopes:       slices.Clone(cfg.Scopes),
	}
	params := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(req.CodeVerifier.Reveal()),
		oidc.Nonce(req.Nonce),
	}
	if len(c.inst.IDTokenClaims) > 0 {
		claims := map[string]map[string]any{"id_token": {}}
		for _, cl := range c.inst.IDTokenClaims {
			claims["id_token"][cl] = nil
		}
		b, err := json.Marshal(claims)
		if err != nil {
			return nil, fmt.Errorf("authorization request: encode claims: %w", err)
		}
		params = append(params, oauth2.SetAuthURLParam("claims", string(b)))
	}
	if o.prompt != "" {
		params = append(params, oauth2.SetAuthURLParam("prompt", o.prompt))
	}
	req.URL = cfg.AuthCodeURL(req.State, params...)
	c.recent.remember(req.CodeVerifier)
	return req, nil
}

// CallbackError is an error returned by the authorization endpoint on the
// redirect (RFC 6749 §4.1.2.1). errors.Is(err, ErrAccessDenied) holds when
// the user declined.
type CallbackError struct {
	Code        string
	Description string
	URI         string
}

// Error renders the callback error.
func (e *CallbackError) Error() string {
	s := "authorization failed: " + e.Code
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	return s
}

// Is matches ErrAccessDenied for error=access_denied.
func (e *CallbackError) Is(target error) bool {
	return target == ErrAccessDenied && e.Code == "access_denied"
}

// ParseCallback checks an authorization response (the redirect's query) and
// returns its code: the state must equal expectedState (compared in constant
// time), the iss parameter must pass CheckIssuer, and an error parameter
// becomes a *CallbackError.
func (c *Client) ParseCallback(ctx context.Context, query url.Values, expectedState string) (string, error) {
	got := query.Get("state")
	if expectedState == "" || subtle.ConstantTimeCompare([]byte(got), []byte(expectedState)) != 1 {
		return "", ErrStateMismatch
	}
	if err := c.CheckIssuer(ctx, query.Get("iss")); err != nil {
		return "", err
	}
	if code := query.Get("error"); code != "" {
		red := c.newRedactor(Secret(query.Get("code")))
		return "", &CallbackError{
			Code:        red.code(code),
			Description: red.text(query.Get("error_description")),
			URI:         red.text(query.Get("error_uri")),
		}
	}
	code := query.Get("code")
	if code == "" {
		return "", ErrInvalidCallback
	}
	c.recent.remember(Secret(code))
	return code, nil
}

// CheckIssuer applies RFC 9207 to the iss parameter of an authorization
// response: when present it must equal the issuer exactly; when absent, the
// response is rejected if the discovery document says the institution sends
// it (authorization_response_iss_parameter_supported).
func (c *Client) CheckIssuer(ctx context.Context, iss string) error {
	if iss != "" {
		if iss != c.inst.Issuer {
			return fmt.Errorf("%w: got %q, want %q", ErrIssuerMismatch, c.newRedactor().code(iss), c.inst.Issuer)
		}
		return nil
	}
	d, err := c.discover(ctx)
	if err != nil {
		return fmt.Errorf("check callback issuer: %w", err)
	}
	if d.meta.AuthorizationResponseIssParameterSupported {
		return fmt.Errorf("%w: iss parameter missing but the institution advertises it", ErrIssuerMismatch)
	}
	return nil
}

// tokenContext routes oauth2's token request through the institution's
// client (which has no retry layer) and names its span. The request is
// detached from ctx's cancellation (it stays bounded by HTTPTimeout): once
// a token request is sent, its response is awaited, because it may carry a
// rotated refresh token that exists nowhere else.
func (c *Client) tokenContext(ctx context.Context) context.Context {
	return context.WithValue(withRoute(context.WithoutCancel(ctx), tokenEndpoint), oauth2.HTTPClient, c.http)
}

// Exchange trades an authorization code for tokens. It sends the PKCE
// verifier, verifies the ID token (signature with the algorithm from the
// JWKS, issuer, audience, expiry with skew, nonce in constant time, at_hash
// when present) and parses the granted scopes. The token POST is made once:
// it is never retried.
func (c *Client) Exchange(ctx context.Context, code string, verifier Secret, nonce string) (*Tokens, error) {
	if nonce == "" {
		return nil, fmt.Errorf("exchange code: %w: nonce is required", ErrInvalidIDToken)
	}
	if c.inst.RedirectURL == "" {
		return nil, fmt.Errorf("exchange code: institution %q has no redirect URL", c.inst.Slug)
	}
	d, err := c.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	c.recent.remember(Secret(code), verifier)
	tok, err := d.oauth.Exchange(c.tokenContext(ctx), code, oauth2.VerifierOption(verifier.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", c.tokenError(err, Secret(code), verifier))
	}
	t := tokensFrom(tok, "")
	c.recent.remember(t.AccessToken, t.RefreshToken, t.IDToken)
	if t.GrantedScopes == nil {
		t.GrantedScopes = slices.Clone(d.oauth.Scopes)
	}
	claims, err := c.checkExchanged(ctx, d, t, nonce)
	if err != nil {
		// The tokens exist at the institution although they will never be
		// used: revoke them before reporting the failure.
		c.revokeUnused(ctx, t)
		red := c.newRedactor(Secret(code), verifier, t.AccessToken, t.RefreshToken, t.IDToken)
		return nil, fmt.Errorf("exchange code: %w", red.err(err))
	}
	t.Claims = claims
	return t, nil
}

// checkExchanged verifies the ID token of a code exchange and its at_hash.
func (c *Client) checkExchanged(ctx context.Context, d *discovery, t *Tokens, nonce string) (*IDToken, error) {
	if t.IDToken.IsZero() {
		return nil, fmt.Errorf("%w: token response has no id_token", ErrInvalidIDToken)
	}
	claims, err := c.verifyIDToken(ctx, d, t.IDToken.Reveal(), nonce)
	if err != nil {
		return nil, err
	}
	if claims.token.AccessTokenHash != "" {
		if err := claims.token.VerifyAccessToken(t.AccessToken.Reveal()); err != nil {
			return nil, fmt.Errorf("%w: at_hash: %w", ErrInvalidIDToken, err)
		}
	}
	return claims, nil
}

// revokeUnused revokes the refresh and access tokens of a rejected code
// exchange, best effort: a failure is logged (without the token) and
// otherwise ignored, since the exchange's own error is what the caller
// must see.
func (c *Client) revokeUnused(ctx context.Context, t *Tokens) {
	ctx = context.WithoutCancel(ctx)
	for _, tok := range []struct {
		value Secret
		hint  TokenTypeHint
	}{{t.RefreshToken, HintRefreshToken}, {t.AccessToken, HintAccessToken}} {
		if tok.value.IsZero() {
			continue
		}
		if err := c.Revoke(ctx, tok.value, tok.hint); err != nil {
			c.logger.WarnContext(ctx, "revoke tokens of a rejected code exchange",
				slog.String("institution", c.inst.Slug), slog.String("hint", string(tok.hint)), slog.Any("error", err))
		}
	}
}

// Refresh uses a refresh token. It is made once and never retried (a replay
// after a lost response could present a rotated-away token and make the
// institution revoke the grant). Once sent, the request is not abandoned when
// ctx is canceled: it completes within HTTPTimeout so that a rotated token is
// not lost. When the response carries a new refresh
// token, Tokens.Rotated is true and Tokens.RefreshToken holds it: persist
// it before anything else. invalid_grant yields an error matching
// ErrConsentRevoked.
func (c *Client) Refresh(ctx context.Context, refreshToken Secret) (*Tokens, error) {
	if refreshToken.IsZero() {
		return nil, fmt.Errorf("refresh token: %w: no refresh token", ErrNoRenewal)
	}
	d, err := c.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh token: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("refresh token: %w", err)
	}
	c.recent.remember(refreshToken)
	src := d.oauth.TokenSource(c.tokenContext(ctx), &oauth2.Token{RefreshToken: refreshToken.Reveal()})
	tok, err := src.Token()
	if err != nil {
		return nil, fmt.Errorf("refresh token: %w", c.tokenError(err, refreshToken))
	}
	t := tokensFrom(tok, refreshToken)
	c.recent.remember(t.AccessToken, t.RefreshToken, t.IDToken)
	return t, nil
}

// tokensFrom converts an oauth2 token. oauth2 fills RefreshToken with the
// presented one when the response has none, so rotation is "different from
// what was presented".
func tokensFrom(tok *oauth2.Token, presented Secret) *Tokens {
	t := &Tokens{
		AccessToken: Secret(tok.AccessToken),
		TokenType:   tok.TokenType,
		Expiry:      tok.Expiry,
	}
	if tok.RefreshToken != "" && tok.RefreshToken != presented.Reveal() {
		t.RefreshToken = Secret(tok.RefreshToken)
		t.Rotated = true
	}
	if s, ok := tok.Extra("scope").(string); ok {
		t.GrantedScopes = parseScopes(s)
		if t.GrantedScopes == nil {
			t.GrantedScopes = []string{}
		}
	}
	if s, ok := tok.Extra("id_token").(string); ok {
		t.IDToken = Secret(s)
	}
	return t
}

// tokenError converts an oauth2 error into an *APIError. Its message never
// contains the response body (which may echo request parameters).
//
// The description and error code are untrusted provider text: every secret
// of the call (the client secret and presented, e.g. code, verifier or
// refresh token) is redacted and each text capped.
func (c *Client) tokenError(err error, presented ...Secret) error {
	red := c.newRedactor(presented...)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &APIError{
			Endpoint:         tokenEndpoint,
			Attempts:         1,
			OAuthError:       red.code(re.ErrorCode),
			OAuthDescription: red.text(re.ErrorDescription),
		}
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
			e.RetryAfter, e.retryAfterSet = parseRetryAfter(re.Response.Header.Get("Retry-After"), c.now())
			e.RequestID = red.code(requestIDOf(re.Response.Header))
		}
		e.Kind = oauthErrorKind(e)
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	kind := classifyCause(err)
	switch {
	case kind != KindUnknown:
	case strings.Contains(err.Error(), "unexpected EOF"):
		kind = KindTransient
		err = fmt.Errorf("%w: %w", ErrTruncatedBody, err)
	default:
		kind = KindPermanent
		err = fmt.Errorf("%w: %w", ErrMalformedBody, err)
	}
	return &APIError{Kind: kind, Endpoint: tokenEndpoint, Attempts: 1, Err: red.err(err)}
}

// oauthErrorKind classifies an RFC 6749 error response.
func oauthErrorKind(e *APIError) ErrorKind {
	switch {
	case e.OAuthError == "invalid_grant":
		return KindConsentRevoked
	case e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode == http.StatusServiceUnavailable && e.retryAfterSet:
		return KindRateLimited
	case e.StatusCode >= 500, e.OAuthError == "temporarily_unavailable", e.OAuthError == "server_error":
		return KindTransient
	default:
		// invalid_client (401) included: a configuration problem, not an
		// expired access token.
		return KindPermanent
	}
}

// TokenTypeHint is RFC 7009's token_type_hint.
type TokenTypeHint string

// Token type hints.
const (
	HintRefreshToken TokenTypeHint = "refresh_token"
	HintAccessToken  TokenTypeHint = "access_token"
)

// Revoke revokes a token (RFC 7009) at the revocation endpoint from
// discovery, or Institution.RevocationURL when set. It is made once, never
// retried automatically. An unknown or already revoked token is a success,
// as RFC 7009 specifies.
func (c *Client) Revoke(ctx context.Context, token Secret, hint TokenTypeHint) error {
	endpoint := c.inst.RevocationURL
	if endpoint == "" {
		d, err := c.discover(ctx)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		endpoint = d.meta.RevocationEndpoint
		if endpoint != "" {
			if err := c.inst.checkURL("revocation_endpoint", endpoint, true); err != nil {
				return fmt.Errorf("revoke token: %w: %w", ErrMalformedBody, err)
			}
		}
	}
	if endpoint == "" {
		return fmt.Errorf("revoke token: %w", ErrRevocationUnsupported)
	}
	c.recent.remember(token)
	form := url.Values{"token": {token.Reveal()}}
	if hint != "" {
		form.Set("token_type_hint", string(hint))
	}
	if c.inst.TokenAuth != AuthClientSecretBasic {
		form.Set("client_id", c.inst.ClientID)
		if !c.inst.ClientSecret.IsZero() {
			form.Set("client_secret", c.inst.ClientSecret.Reveal())
		}
	}
	ctx = withRoute(ctx, revocationEndpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if c.inst.TokenAuth == AuthClientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(c.inst.ClientID), url.QueryEscape(c.inst.ClientSecret.Reveal()))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("revoke token: %w", transportError(ctx, revocationEndpoint, err))
	}
	defer resp.Body.Close()
	respBody, readErr := readBody(resp, c.inst.MaxBodyBytes)
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	red := c.newRedactor(token)
	e := &APIError{StatusCode: resp.StatusCode, Endpoint: revocationEndpoint, Attempts: 1,
		RequestID: red.code(requestIDOf(resp.Header))}
	e.RetryAfter, e.retryAfterSet = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	if readErr == nil {
		e.fillFromBody(respBody, red)
	}
	e.Kind = oauthErrorKind(e)
	if e.Kind == KindConsentRevoked {
		e.Kind = KindPermanent
	}
	return fmt.Errorf("revoke token: %w", e)
}
