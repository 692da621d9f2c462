package consumerapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// asymmetricAlgs are the ID token signature algorithms the client accepts
// when discovery lists none it knows; HMAC and "none" are never accepted.
var asymmetricAlgs = []string{
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// Metadata is the part of the institution's discovery document the client
// uses.
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// discovery is the cached outcome of discovery.
type discovery struct {
	meta     Metadata
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	algs     []string
}

// Discover fetches and caches the discovery document (if not yet cached)
// and returns it.
func (c *Client) Discover(ctx context.Context) (Metadata, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return Metadata{}, err
	}
	return d.meta, nil
}

// discover returns the cached discovery, fetching it on first use. A failed
// discovery is not cached.
func (c *Client) discover(ctx context.Context) (*discovery, error) {
	c.discMu.Lock()
	defer c.discMu.Unlock()
	if c.disc != nil {
		return c.disc, nil
	}
	var meta Metadata
	err := c.call(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/oidc/.well-known/openid-configuration",
		url:    c.inst.Issuer + "/.well-known/openid-configuration",
		decode: decodeJSON(&meta),
	})
	if err != nil {
		return nil, fmt.Errorf("discover issuer %s: %w", c.inst.Issuer, err)
	}
	if err := c.checkMetadata(meta); err != nil {
		return nil, fmt.Errorf("discover issuer %s: %w", c.inst.Issuer, err)
	}
	algs := make([]string, 0, len(meta.IDTokenSigningAlgValuesSupported))
	for _, a := range meta.IDTokenSigningAlgValuesSupported {
		if slices.Contains(asymmetricAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = slices.Clone(asymmetricAlgs)
	}
	style := oauth2.AuthStyleInParams
	if c.inst.TokenAuth == AuthClientSecretBasic {
		style = oauth2.AuthStyleInHeader
	}
	// The key set fetches the JWKS lazily with the institution's client
	// (no retry layer, rate-limited, instrumented) and refetches it when a
	// token names an unknown key.
	keyCtx := oidc.ClientContext(withRoute(context.Background(), "GET /oidc/jwks"), c.http)
	keySet := oidc.NewRemoteKeySet(keyCtx, meta.JWKSURI)
	d := &discovery{
		meta: meta,
		algs: algs,
		oauth: oauth2.Config{
			ClientID:     c.inst.ClientID,
			ClientSecret: c.inst.ClientSecret.Reveal(),
			Endpoint: oauth2.Endpoint{
				AuthURL:   meta.AuthorizationEndpoint,
				TokenURL:  meta.TokenEndpoint,
				AuthStyle: style,
			},
			RedirectURL: c.inst.RedirectURL,
			Scopes:      c.inst.Scopes,
		},
		verifier: oidc.NewVerifier(c.inst.Issuer, keySet, &oidc.Config{
			ClientID:             c.inst.ClientID,
			SupportedSigningAlgs: algs,
			// Expiry is checked by VerifyIDToken with the configured skew.
			SkipExpiryCheck: true,
		}),
	}
	if len(meta.CodeChallengeMethodsSupported) > 0 && !slices.Contains(meta.CodeChallengeMethodsSupported, "S256") {
		c.logger.WarnContext(ctx, "institution does not advertise PKCE S256; sending it anyway",
			slog.Any("code_challenge_methods_supported", meta.CodeChallengeMethodsSupported))
	}
	c.disc = d
	return d, nil
}

// checkMetadata enforces OpenID Connect Discovery §4.3 (the issuer must be
// exactly the configured one) and the presence of the endpoints used.
func (c *Client) checkMetadata(m Metadata) error {
	var errs []error
	if m.Issuer != c.inst.Issuer {
		errs = append(errs, fmt.Errorf("issuer in discovery document %q differs from configured issuer %q", m.Issuer, c.inst.Issuer))
	}
	for name, v := range map[string]string{
		"authorization_endpoint": m.AuthorizationEndpoint,
		"token_endpoint":         m.TokenEndpoint,
		"jwks_uri":               m.JWKSURI,
	} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s missing", name))
		} else if err := c.inst.checkURL(name, v, true); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: discovery document: %w", ErrMalformedBody, err)
	}
	return nil
}
