package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	HeaderEventID   = "Pfmsync-Event-Id"
	HeaderEventType = "Pfmsync-Event-Type"
	HeaderTimestamp = "Pfmsync-Timestamp"
	HeaderKeyID     = "Pfmsync-Key-Id"
	HeaderSignature = "Pfmsync-Signature"
)

// signaturePrefix versions the signature scheme.
const signaturePrefix = "v1="

// DefaultReplayWindow is how far a webhook's timestamp may be from the
// receiver's clock (docs/events.md).
const DefaultReplayWindow = 5 * time.Minute

// MinKeyLength is the shortest signing secret accepted.
const MinKeyLength = 32

// SigningKey is one webhook signing secret, named by its id.
type SigningKey struct {
	ID     string
	Secret string
}

// String never shows the secret.
func (k SigningKey) String() string { return "signing key " + k.ID }

// ParseSigningKeys reads "id=secret,id=secret": the first key signs, the
// others are listed for receivers during a rotation. Errors never contain
// a secret.
func ParseSigningKeys(s string) ([]SigningKey, error) {
	var keys []SigningKey
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, secret, ok := strings.Cut(part, "=")
		id = strings.TrimSpace(id)
		switch {
		case !ok || id == "":
			return nil, fmt.Errorf("signing key %d: want id=secret", i+1)
		case strings.ContainsAny(id, " \t\"'"):
			return nil, fmt.Errorf("signing key %d: the id %q has spaces or quotes", i+1, id)
		case len(secret) < MinKeyLength:
			return nil, fmt.Errorf("signing key %s: the secret is shorter than %d characters", id, MinKeyLength)
		case seen[id]:
			return nil, fmt.Errorf("signing key %s: listed twice", id)
		}
		seen[id] = true
		keys = append(keys, SigningKey{ID: id, Secret: secret})
	}
	return keys, nil
}

// Sign returns the signature of body sent at ts with key: hex HMAC-SHA256
// over "<unix seconds>.<body>", prefixed "v1=".
func Sign(key SigningKey, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key.Secret))
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// SetHeaders signs body for a webhook request.
func SetHeaders(h http.Header, key SigningKey, ts time.Time, body []byte, b Body) {
	h.Set("Content-Type", "application/json")
	h.Set(HeaderEventID, b.ID)
	h.Set(HeaderEventType, string(b.Type))
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderKeyID, key.ID)
	h.Set(HeaderSignature, Sign(key, ts, body))
}

// Errors of Verify.
var (
	ErrUnknownKey   = errors.New("webhook signed with an unknown key id")
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp outside the replay window")
)

// Verify checks a webhook as a receiver does: the key id is known, the
// timestamp within window of now, and the signature matches (compared in
// constant time).
func Verify(keys []SigningKey, h http.Header, body []byte, now time.Time, window time.Duration) error {
	var key *SigningKey
	for i := range keys {
		if keys[i].ID == h.Get(HeaderKeyID) {
			key = &keys[i]
		}
	}
	if key == nil {
		return ErrUnknownKey
	}
	secs, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: unreadable timestamp", ErrStale)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > window || d < -window {
		return ErrStale
	}
	if !hmac.Equal([]byte(Sign(*key, ts, body)), []byte(h.Get(HeaderSignature))) {
		return ErrBadSignature
	}
	return nil
}
