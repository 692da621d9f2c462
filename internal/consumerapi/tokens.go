package consumerapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tokens is the result of a code exchange or a refresh.
//
// Whenever Rotated is true, RefreshToken is a new refresh token that
// replaces the old one: persist it before doing anything else (Banno's
// rotation policy is undocumented; the old token must be assumed dead).
type Tokens struct {
	// AccessToken is the bearer token for the Consumer API (Banno: 10
	// minutes).
	AccessToken Secret
	// TokenType is normally "Bearer".
	TokenType string
	// Expiry is when AccessToken expires, from expires_in; zero if the
	// response had none.
	Expiry time.Time
	// RefreshToken is the refresh token the response carried when it
	// differs from the one presented, or empty: empty means "keep the old
	// one". After a code exchange it is the first refresh token (empty
	// when offline_access was not granted).
	RefreshToken Secret
	// Rotated reports that RefreshToken is set and replaces the previous
	// refresh token.
	Rotated bool
	// GrantedScopes are the scopes the response says were granted (the user
	// may untick some). After a code exchange whose response omits scope
	// they are the requested scopes (RFC 6749 §5.1); after a refresh whose
	// response omits scope they are nil, meaning unchanged.
	GrantedScopes []string
	// IDToken is the raw ID token, when the response carried one.
	IDToken Secret
	// Claims are the verified ID token claims after a code exchange; nil
	// after a refresh (verify with Client.VerifyIDToken if needed).
	Claims *IDToken
}

// HasScope reports whether scope was granted.
func (t *Tokens) HasScope(scope string) bool { return slices.Contains(t.GrantedScopes, scope) }

// MissingScopes returns the requested scopes that were not granted, or nil
// when the response did not report scopes.
func (t *Tokens) MissingScopes(requested []string) []string {
	if t.GrantedScopes == nil {
		return nil
	}
	var missing []string
	for _, s := range requested {
		if !t.HasScope(s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// parseScopes splits a space-separated scope string; "" yields nil.
func parseScopes(s string) []string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	return f
}

// TokenSource supplies access tokens to a Session.
type TokenSource interface {
	// AccessToken returns a token believed valid.
	AccessToken(ctx context.Context) (Secret, error)
	// RenewAccessToken is called at most once per API call, after the API
	// answered 401 to rejected. It returns a fresh token (normally by a
	// refresh whose rotated refresh token has already been persisted), or
	// an error wrapping ErrNoRenewal when it cannot renew.
	RenewAccessToken(ctx context.Context, rejected Secret) (Secret, error)
}

// StaticToken is a TokenSource for a fixed access token that cannot be
// renewed: a 401 is returned to the caller as is.
func StaticToken(tok Secret) TokenSource { return staticToken(tok) }

type staticToken Secret

func (s staticToken) AccessToken(context.Context) (Secret, error) { return Secret(s), nil }

func (s staticToken) RenewAccessToken(context.Context, Secret) (Secret, error) {
	return "", ErrNoRenewal
}

// PersistFunc stores the outcome of a refresh (in particular a rotated
// refresh token) durably. It receives a context that is not canceled with
// the caller's, so that a rotated token is not lost to a cancellation.
type PersistFunc func(ctx context.Context, t *Tokens) error

// refreshMargin renews an access token this long before it expires.
const refreshMargin = 30 * time.Second

// RefreshingTokenSource is a TokenSource that refreshes the access token
// when it is about to expire or was rejected. Refreshes never run
// concurrently, and each refresh result is handed to the PersistFunc before
// its access token is used; when persisting fails, no access token is
// handed out until a later call persists it.
//
// It serializes refreshes within one process only; callers must make sure
// one link is refreshed by one process at a time (pfmsync runs one job per
// link).
type RefreshingTokenSource struct {
	c       *Client
	persist PersistFunc

	mu      sync.Mutex
	refresh Secret
	access  Secret
	expiry  time.Time
	scopes  []string
	pending *Tokens // refreshed but not yet persisted
}

// NewRefreshingTokenSource returns a source that starts from refreshToken.
// persist may be nil when the caller persists nothing (tests, one-off
// tools).
func (c *Client) NewRefreshingTokenSource(refreshToken Secret, persist PersistFunc) *RefreshingTokenSource {
	return &RefreshingTokenSource{c: c, refresh: refreshToken, persist: persist}
}

// SetAccessToken seeds the source with an access token still valid (for
// example from the code exchange that just happened).
func (s *RefreshingTokenSource) SetAccessToken(tok Secret, expiry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access, s.expiry = tok, expiry
}

// RefreshToken returns the current refresh token.
func (s *RefreshingTokenSource) RefreshToken() Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh
}

// GrantedScopes returns the scopes reported by the last refresh, or nil.
func (s *RefreshingTokenSource) GrantedScopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.scopes)
}

// AccessToken returns the current access token, refreshing it first when
// it expires within 30 seconds.
func (s *RefreshingTokenSource) AccessToken(ctx context.Context) (Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.persistPending(ctx); err != nil {
		return "", err
	}
	if !s.access.IsZero() && (s.expiry.IsZero() || s.c.now().Add(refreshMargin).Before(s.expiry)) {
		return s.access, nil
	}
	return s.refreshLocked(ctx)
}

// RenewAccessToken refreshes unless another caller already replaced the
// rejected token.
func (s *RefreshingTokenSource) RenewAccessToken(ctx context.Context, rejected Secret) (Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.persistPending(ctx); err != nil {
		return "", err
	}
	if !s.access.IsZero() && s.access != rejected {
		return s.access, nil
	}
	return s.refreshLocked(ctx)
}

func (s *RefreshingTokenSource) refreshLocked(ctx context.Context) (Secret, error) {
	if s.refresh.IsZero() {
		return "", fmt.Errorf("refresh access token: no refresh token: %w", ErrNoRenewal)
	}
	t, err := s.c.Refresh(ctx, s.refresh)
	if err != nil {
		return "", err
	}
	if t.Rotated {
		s.refresh = t.RefreshToken
	}
	s.access, s.expiry = t.AccessToken, t.Expiry
	if t.GrantedScopes != nil {
		s.scopes = t.GrantedScopes
	}
	s.pending = t
	if err := s.persistPending(ctx); err != nil {
		return "", err
	}
	return s.access, nil
}

func (s *RefreshingTokenSource) persistPending(ctx context.Context) error {
	if s.pending == nil {
		return nil
	}
	if s.persist != nil {
		if err := s.persist(context.WithoutCancel(ctx), s.pending); err != nil {
			return fmt.Errorf("persist refreshed tokens: %w", err)
		}
	}
	s.pending = nil
	return nil
}
