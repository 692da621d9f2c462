package authserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWS "typ" header values.
const (
	typAccessToken = "at+jwt" // RFC 9068
	typIDToken     = "JWT"
)

// signingKey is the provider's ES256 key pair and the signers built on it.
type signingKey struct {
	kid       string
	private   *ecdsa.PrivateKey
	public    jose.JSONWebKey
	atSigner  jose.Signer
	idSigner  jose.Signer
	jwksBody  []byte
	algorithm jose.SignatureAlgorithm
}

// newSigningKey generates a fresh P-256 key whose kid is its RFC 7638
// thumbprint.
func newSigningKey() (*signingKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key thumbprint: %w", err)
	}
	k := &signingKey{
		kid:       base64.RawURLEncoding.EncodeToString(thumb),
		private:   priv,
		algorithm: jose.ES256,
	}
	pub.KeyID = k.kid
	k.public = pub

	newSigner := func(typ jose.ContentType) (jose.Signer, error) {
		opts := (&jose.SignerOptions{}).WithType(typ)
		return jose.NewSigner(jose.SigningKey{
			Algorithm: jose.ES256,
			Key:       jose.JSONWebKey{Key: priv, KeyID: k.kid, Algorithm: string(jose.ES256)},
		}, opts)
	}
	if k.atSigner, err = newSigner(typAccessToken); err != nil {
		return nil, fmt.Errorf("access token signer: %w", err)
	}
	if k.idSigner, err = newSigner(typIDToken); err != nil {
		return nil, fmt.Errorf("ID token signer: %w", err)
	}
	k.jwksBody, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	return k, nil
}

// sign serializes claims as a compact JWS with the given signer.
func sign(signer jose.Signer, claims any) (string, error) {
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// errBadSignature reports a token that is not a JWS made by this provider.
var errBadSignature = errors.New("token is not signed by this provider")

// parseAccessToken checks the signature, algorithm, kid and typ of a
// compact JWS access token and decodes its claims. It checks no claim.
func (k *signingKey) parseAccessToken(raw string) (*accessClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("parse access token: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errBadSignature
	}
	h := tok.Headers[0]
	if h.KeyID != k.kid {
		return nil, fmt.Errorf("access token kid: %w", errBadSignature)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != typAccessToken {
		return nil, fmt.Errorf("access token typ %q: %w", typ, errBadSignature)
	}
	var c accessClaims
	if err := tok.Claims(&k.private.PublicKey, &c); err != nil {
		return nil, fmt.Errorf("access token signature: %w (%w)", errBadSignature, err)
	}
	return &c, nil
}

// atHash computes the OpenID Connect at_hash of an ES256-signed ID token: the
// left half of the SHA-256 of the access token, base64url without padding.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// serveJWKS answers GET {issuer}/jwks.
func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(p.key.jwksBody)
}
