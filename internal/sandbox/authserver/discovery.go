package authserver

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Claim names the provider can release, besides ClaimInstitutionID.
const (
	claimName       = "name"
	claimGivenName  = "given_name"
	claimFamilyName = "family_name"
	claimEmail      = "email"
)

// releasableClaims are the claims a client may ask for with the claims
// authorization parameter.
var releasableClaims = []string{ClaimInstitutionID, claimName, claimGivenName, claimFamilyName, claimEmail}

// discoveryDocument is the OpenID Provider metadata served at
// {issuer}/.well-known/openid-configuration.
type discoveryDocument struct {
	Issuer                                 string   `json:"issuer"`
	AuthorizationEndpoint                  string   `json:"authorization_endpoint"`
	TokenEndpoint                          string   `json:"token_endpoint"`
	JWKSURI                                string   `json:"jwks_uri"`
	UserinfoEndpoint                       string   `json:"userinfo_endpoint"`
	RevocationEndpoint                     string   `json:"revocation_endpoint"`
	ScopesSupported                        []string `json:"scopes_supported"`
	ResponseTypesSupported                 []string `json:"response_types_supported"`
	ResponseModesSupported                 []string `json:"response_modes_supported"`
	GrantTypesSupported                    []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported      []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported"`
	IDTokenSigningAlgValuesSupported       []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	ClaimsParameterSupported               bool     `json:"claims_parameter_supported"`
	RequestParameterSupported              bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported           bool     `json:"request_uri_parameter_supported"`
	ClaimsSupported                        []string `json:"claims_supported"`
	ClaimTypesSupported                    []string `json:"claim_types_supported"`
	SubjectTypesSupported                  []string `json:"subject_types_supported"`
	AuthorizationResponseISSParameter      bool     `json:"authorization_response_iss_parameter_supported"`
}

// discoveryDocument renders the metadata once, at New.
func (p *Provider) discoveryDocument() ([]byte, error) {
	iss := p.cfg.issuer
	authMethods := []string{"client_secret_basic", "client_secret_post"}
	doc := discoveryDocument{
		Issuer:                                 iss,
		AuthorizationEndpoint:                  iss + pathAuth,
		TokenEndpoint:                          iss + pathToken,
		JWKSURI:                                iss + pathJWKS,
		UserinfoEndpoint:                       iss + pathUserinfo,
		RevocationEndpoint:                     iss + pathRevocation,
		ScopesSupported:                        supportedScopes,
		ResponseTypesSupported:                 []string{"code"},
		ResponseModesSupported:                 []string{"query"},
		GrantTypesSupported:                    []string{grantAuthorizationCode, grantRefreshToken},
		TokenEndpointAuthMethodsSupported:      authMethods,
		RevocationEndpointAuthMethodsSupported: authMethods,
		IDTokenSigningAlgValuesSupported:       []string{string(p.key.algorithm)},
		CodeChallengeMethodsSupported:          []string{"S256"},
		ClaimsParameterSupported:               true,
		ClaimsSupported: append([]string{
			"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
		}, releasableClaims...),
		ClaimTypesSupported:               []string{"normal"},
		SubjectTypesSupported:             []string{"public"},
		AuthorizationResponseISSParameter: true,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal discovery document: %w", err)
	}
	return b, nil
}

// serveDiscovery answers GET {issuer}/.well-known/openid-configuration.
func (p *Provider) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(p.discovery)
}
