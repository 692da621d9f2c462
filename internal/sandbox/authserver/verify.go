package authserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidToken is returned by Verify for any access token that must not
// be honoured: malformed, not signed by this provider, issued by another
// issuer, expired, or revoked (by itself or through its token family).
var ErrInvalidToken = errors.New("invalid access token")

// Grant is what a valid access token authorizes.
type Grant struct {
	// Subject is the Banno user id.
	Subject string
	// ClientID is the client the token was issued to.
	ClientID string
	// FamilyID identifies the token family (the sid claim).
	FamilyID string
	// Scopes are the scopes of this access token.
	Scopes []string
	// ExpiresAt is the token's expiry.
	ExpiresAt time.Time
}

// HasScope reports whether the grant includes scope.
func (g Grant) HasScope(scope string) bool {
	for _, s := range g.Scopes {
		if s == scope || isOfflineScope(scope) && isOfflineScope(s) {
			return true
		}
	}
	return false
}

// Verify validates an access token (the value after "Bearer "): its ES256
// signature and kid, its type, issuer and expiry, and that neither it nor its
// token family has been revoked. Every failure wraps ErrInvalidToken.
func (p *Provider) Verify(ctx context.Context, bearer string) (Grant, error) {
	g, _, err := p.verify(ctx, bearer)
	return g, err
}

// verify is Verify that also returns the claims requested for userinfo.
func (p *Provider) verify(_ context.Context, bearer string) (Grant, requestedClaims, error) {
	c, err := p.key.parseAccessToken(bearer)
	if err != nil {
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	now := p.cfg.now()
	switch {
	case c.Issuer != p.cfg.issuer:
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	case c.Subject == "" || c.ClientID == "" || c.SID == "" || c.JTI == "":
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: missing claims", ErrInvalidToken)
	case now.Unix() >= c.Expiry:
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: expired", ErrInvalidToken)
	}
	st := p.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	if _, revoked := st.revokedJTI[c.JTI]; revoked {
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	f := st.families[c.SID]
	switch {
	case f == nil || f.revoked:
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: grant revoked", ErrInvalidToken)
	case f.clientID != c.ClientID || f.sub != c.Subject:
		return Grant{}, requestedClaims{}, fmt.Errorf("%w: grant mismatch", ErrInvalidToken)
	}
	return Grant{
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		FamilyID:  c.SID,
		Scopes:    strings.Fields(c.Scope),
		ExpiresAt: time.Unix(c.Expiry, 0),
	}, f.claims, nil
}
