package consumerapi

import (
	"context"
	"slices"
	"strings"
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
