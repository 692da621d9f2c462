package consumerapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// IDToken holds the verified claims of an ID token.
type IDToken struct {
	// Issuer is the institution's issuer.
	Issuer string
	// Subject is the Banno user id (a UUID) used in every Consumer API
	// path.
	Subject string
	// Audience contains the client id.
	Audience []string
	// Expiry and IssuedAt are exp and iat.
	Expiry   time.Time
	IssuedAt time.Time
	// Nonce is the nonce claim.
	Nonce string
	// SessionID is the sid claim.
	SessionID string
	// InstitutionID is the https://api.banno.com/consumer/claim/institution_id
	// claim (the institution's UUID), present when requested through the
	// claims parameter.
	InstitutionID string
	// Name, GivenName, FamilyName and Email are present when requested.
	Name       string
	GivenName  string
	FamilyName string
	Email      string
	// Algorithm is the JWS algorithm the token was signed with.
	Algorithm string
	// Claims is the full claim set, for claims not mapped above.
	Claims json.RawMessage

	token *oidc.IDToken
}

// idTokenClaims are the claims read beyond go-oidc's standard ones.
type idTokenClaims struct {
	AuthorizedParty string `json:"azp"`
	SessionID       string `json:"sid"`
	InstitutionID   string `json:"https://api.banno.com/consumer/claim/institution_id"`
	Name            string `json:"name"`
	GivenName       string `json:"given_name"`
	FamilyName      string `json:"family_name"`
	Email           string `json:"email"`
}

// VerifyIDToken verifies a raw ID token: signature against the JWKS with
// the algorithms the institution advertises (never assuming RS256), issuer,
// audience (and azp when several audiences), expiry and issued-at with
// Institution.ClockSkew, and — when nonce is not empty — the nonce, compared
// in constant time. go-oidc does not check the nonce; this function does.
func (c *Client) VerifyIDToken(ctx context.Context, rawIDToken, nonce string) (*IDToken, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify ID token: %w", err)
	}
	return c.verifyIDToken(ctx, d, rawIDToken, nonce)
}

func (c *Client) verifyIDToken(ctx context.Context, d *discovery, raw, nonce string) (*IDToken, error) {
	tok, err := d.verifier.Verify(oidc.ClientContext(ctx, c.http), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	now := c.now()
	skew := c.inst.ClockSkew
	switch {
	case tok.Expiry.IsZero():
		return nil, fmt.Errorf("%w: no exp claim", ErrInvalidIDToken)
	case now.After(tok.Expiry.Add(skew)):
		return nil, fmt.Errorf("%w: expired at %s", ErrInvalidIDToken, tok.Expiry.UTC().Format(time.RFC3339))
	case !tok.IssuedAt.IsZero() && tok.IssuedAt.After(now.Add(skew)):
		return nil, fmt.Errorf("%w: issued in the future (%s)", ErrInvalidIDToken, tok.IssuedAt.UTC().Format(time.RFC3339))
	case tok.Subject == "":
		return nil, fmt.Errorf("%w: no sub claim", ErrInvalidIDToken)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: nonce mismatch", ErrInvalidIDToken)
	}
	var extra idTokenClaims
	var all json.RawMessage
	if err := tok.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidIDToken, err)
	}
	if err := json.Unmarshal(all, &extra); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidIDToken, err)
	}
	if len(tok.Audience) > 1 && extra.AuthorizedParty != c.inst.ClientID {
		return nil, fmt.Errorf("%w: several audiences and azp is not the client id", ErrInvalidIDToken)
	}
	if extra.AuthorizedParty != "" && extra.AuthorizedParty != c.inst.ClientID {
		return nil, fmt.Errorf("%w: azp is not the client id", ErrInvalidIDToken)
	}
	return &IDToken{
		Issuer:        tok.Issuer,
		Subject:       tok.Subject,
		Audience:      slices.Clone(tok.Audience),
		Expiry:        tok.Expiry,
		IssuedAt:      tok.IssuedAt,
		Nonce:         tok.Nonce,
		SessionID:     extra.SessionID,
		InstitutionID: extra.InstitutionID,
		Name:          extra.Name,
		GivenName:     extra.GivenName,
		FamilyName:    extra.FamilyName,
		Email:         extra.Email,
		Algorithm:     signingAlgorithm(raw),
		Claims:        all,
		token:         tok,
	}, nil
}

// signingAlgorithm reads the alg header of a (verified) compact JWS.
func signingAlgorithm(raw string) string {
	header, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}
