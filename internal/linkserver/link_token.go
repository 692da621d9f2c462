package linkserver

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audiences of link tokens: what a token may be used for.
const (
	// AudienceLink tokens open the connect page and start a consent
	// (query parameter token=…).
	AudienceLink = "link"
	// AudienceAPI tokens authenticate the link management API
	// (Authorization: Bearer …).
	AudienceAPI = "api"
	// audienceDone tokens are made by the server itself: they name the
	// link the success page shows (query parameter r=…).
	audienceDone = "done"
)

// Limits of link tokens.
const (
	// MinAppKeyLen is the shortest app key accepted, in bytes.
	MinAppKeyLen = 32
	// MaxTokenLifetime is the furthest in the future a token's expiry may
	// be when it is presented: apps sign short-lived tokens per use.
	MaxTokenLifetime = time.Hour
	// maxTokenLen bounds a presented token before any work is done on it.
	maxTokenLen = 4096
	// maxAppUserLen matches links.app_user_ref.
	maxAppUserLen = 200
)

// LinkClaims is what a link token asserts. The PFM app signs it with the
// shared app key; the link server trusts nothing else about the user.
type LinkClaims struct {
	// Audience is AudienceLink or AudienceAPI.
	Audience string
	// AppUser is the PFM app's own reference for its user (1 to 200
	// bytes). Links are bound to it.
	AppUser string
	// Institution optionally fixes the institution slug the user connects
	// to (link tokens only); empty lets the user choose.
	Institution string
	// LinkID optionally names an existing link of AppUser to re-consent
	// (link tokens only); Institution is then that link's institution.
	LinkID string
	// ReturnURL optionally names where to send the user after consent
	// (link tokens only). It must start with one of the configured
	// return URL prefixes; link_id and status are appended to its query.
	ReturnURL string
	// Expiry is when the token stops being accepted. It must be at most
	// MaxTokenLifetime ahead when the token is presented.
	Expiry time.Time
}

// tokenPayload is the JSON form of LinkClaims inside a token.
type tokenPayload struct {
	Aud  string `json:"aud"`
	Sub  string `json:"sub"`
	Inst string `json:"inst,omitempty"`
	Link string `json:"link,omitempty"`
	Ret  string `json:"ret,omitempty"`
	Exp  int64  `json:"exp"`
}

// b64 is the token's encoding: base64url without padding (RFC 4648 §5).
var b64 = base64.RawURLEncoding

// SignLinkToken returns a token asserting c, signed with the app key:
//
//	base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))
//
// where payload is the JSON object {"aud", "sub", "inst", "link", "ret",
// "exp"} (exp in Unix seconds; empty optional members omitted) and
// base64url has no padding. The MAC covers the ASCII text of the first part,
// exactly as sent. docs/linkserver.md shows how to produce it without Go.
func SignLinkToken(key []byte, c LinkClaims) (string, error) {
	if len(key) < MinAppKeyLen {
		return "", fmt.Errorf("sign link token: app key is %d bytes, want at least %d", len(key), MinAppKeyLen)
	}
	if c.Audience != AudienceLink && c.Audience != AudienceAPI {
		return "", fmt.Errorf("sign link token: audience %q is not %q or %q", c.Audience, AudienceLink, AudienceAPI)
	}
	return signToken(key, c)
}

// signToken signs claims of any audience.
func signToken(key []byte, c LinkClaims) (string, error) {
	if c.AppUser == "" || len(c.AppUser) > maxAppUserLen {
		return "", fmt.Errorf("sign link token: app user must be 1 to %d bytes", maxAppUserLen)
	}
	if c.Expiry.IsZero() {
		return "", errors.New("sign link token: expiry is required")
	}
	payload, err := json.Marshal(tokenPayload{
		Aud: c.Audience, Sub: c.AppUser, Inst: c.Institution, Link: c.LinkID, Ret: c.ReturnURL, Exp: c.Expiry.Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("sign link token: %w", err)
	}
	body := b64.EncodeToString(payload)
	return body + "." + b64.EncodeToString(tokenMAC(key, body)), nil
}

// tokenMAC is HMAC-SHA256 of the token's first part.
func tokenMAC(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// Reasons a link token is refused. Each maps to a page or API error.
var (
	errTokenMissing   = errors.New("no link token was presented")
	errTokenMalformed = errors.New("the link token is malformed")
	errTokenSignature = errors.New("the link token's signature does not match")
	errTokenExpired   = errors.New("the link token has expired")
	errTokenLifetime  = errors.New("the link token's expiry is too far in the future")
	errTokenAudience  = errors.New("the link token is not meant for this use")
)

// verifyLinkToken checks a token's signature, expiry and audience and
// returns its claims. The signature is checked before anything in the
// payload is read.
func verifyLinkToken(key []byte, token, audience string, now time.Time) (LinkClaims, error) {
	if token == "" {
		return LinkClaims{}, errTokenMissing
	}
	if len(token) > maxTokenLen {
		return LinkClaims{}, errTokenMalformed
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok || body == "" || sig == "" || strings.Contains(sig, ".") {
		return LinkClaims{}, errTokenMalformed
	}
	mac, err := b64.DecodeString(sig)
	if err != nil {
		return LinkClaims{}, errTokenMalformed
	}
	if !hmac.Equal(mac, tokenMAC(key, body)) {
		return LinkClaims{}, errTokenSignature
	}
	raw, err := b64.DecodeString(body)
	if err != nil {
		return LinkClaims{}, errTokenMalformed
	}
	var p tokenPayload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return LinkClaims{}, errTokenMalformed
	}
	if p.Sub == "" || len(p.Sub) > maxAppUserLen || p.Exp == 0 {
		return LinkClaims{}, errTokenMalformed
	}
	exp := time.Unix(p.Exp, 0).UTC()
	if !now.Before(exp) {
		return LinkClaims{}, errTokenExpired
	}
	if exp.Sub(now) > MaxTokenLifetime+time.Minute {
		return LinkClaims{}, errTokenLifetime
	}
	if p.Aud != audience {
		return LinkClaims{}, errTokenAudience
	}
	return LinkClaims{
		Audience: p.Aud, AppUser: p.Sub, Institution: p.Inst, LinkID: p.Link, ReturnURL: p.Ret, Expiry: exp,
	}, nil
}
