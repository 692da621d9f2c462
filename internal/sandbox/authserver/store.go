package authserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// sweepEvery is how often, at most, expired entries are removed. Removal
// happens lazily, on the write path.
const sweepEvery = 30 * time.Second

// Sizes, in bytes, of the random values the provider hands out.
const (
	codeBytes      = 32 // authorization codes: 256 bits
	familyKeyBytes = 16 // the secret family key at the head of a refresh token
	refreshRandLen = 32 // the random tail of a refresh token
	idBytes        = 16 // family ids (sid) and access token ids (jti)
)

// digest is the SHA-256 of a secret value. Maps are keyed by digests so that
// the store never holds a code or refresh token in the clear.
type digest [sha256.Size]byte

func digestOf(s string) digest { return sha256.Sum256([]byte(s)) }

// randomString returns n random bytes, base64url-encoded without padding.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// newRefreshToken returns a fresh refresh token of the family whose secret
// key is famKey. The token is base64url(famKey || 32 random bytes): every
// refresh token of a family starts with the same key, which lets the provider
// recognise a retired token of a live family without remembering retired
// tokens one by one.
func newRefreshToken(famKey []byte) string {
	b := make([]byte, familyKeyBytes+refreshRandLen)
	copy(b, famKey)
	_, _ = rand.Read(b[familyKeyBytes:])
	return base64.RawURLEncoding.EncodeToString(b)
}

// refreshFamilyKey returns the digest of the family key embedded in a refresh
// token, or false when the value cannot be a refresh token of this provider.
func refreshFamilyKey(token string) (digest, bool) {
	if base64.RawURLEncoding.DecodedLen(len(token)) != familyKeyBytes+refreshRandLen {
		return digest{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != familyKeyBytes+refreshRandLen {
		return digest{}, false
	}
	return sha256.Sum256(b[:familyKeyBytes]), true
}

// authCode is an issued authorization code, stored under the digest of its
// value.
type authCode struct {
	clientID      string
	redirectURI   string
	challenge     string // S256 code_challenge
	nonce         string
	sub           string
	scopes        []string // granted, openid first
	claims        requestedClaims
	authTime      time.Time
	expiresAt     time.Time
	used          bool
	familyID      string // the family the code produced, once used
	forgetAfterAt time.Time
}

// family is one grant: everything issued from one authorization code.
type family struct {
	id       string // public: the sid claim
	keyHash  digest // digest of the secret family key inside its refresh tokens
	clientID string
	sub      string
	scopes   []string // granted at consent; refreshes may narrow per request
	claims   requestedClaims
	nonce    string
	authTime time.Time

	hasRefresh     bool
	refreshHash    digest    // digest of the current refresh token
	refreshExpires time.Time // zero: never

	accessExpires time.Time // expiry of the latest access token issued
	revoked       bool
	revokedAt     time.Time
}

// store is the provider's in-memory state.
type store struct {
	mu         sync.RWMutex
	codes      map[digest]*authCode
	families   map[string]*family
	byKey      map[digest]*family
	byRefresh  map[digest]*family
	bySub      map[string]map[string]*family
	revokedJTI map[string]time.Time // access token id → its expiry
	lastSweep  time.Time
}

func newStore() *store {
	return &store{
		codes:      make(map[digest]*authCode),
		families:   make(map[string]*family),
		byKey:      make(map[digest]*family),
		byRefresh:  make(map[digest]*family),
		bySub:      make(map[string]map[string]*family),
		revokedJTI: make(map[string]time.Time),
	}
}

// addFamilyLocked registers f.
func (s *store) addFamilyLocked(f *family) {
	s.families[f.id] = f
	s.byKey[f.keyHash] = f
	if f.hasRefresh {
		s.byRefresh[f.refreshHash] = f
	}
	subs := s.bySub[f.sub]
	if subs == nil {
		subs = make(map[string]*family)
		s.bySub[f.sub] = subs
	}
	subs[f.id] = f
}

// revokeFamilyLocked revokes f and reports whether it was live. The family is
// kept, marked revoked, until its last access token has expired so that
// verification keeps refusing them.
func (s *store) revokeFamilyLocked(f *family, now time.Time) bool {
	if f.revoked {
		return false
	}
	f.revoked = true
	f.revokedAt = now
	if f.hasRefresh {
		delete(s.byRefresh, f.refreshHash)
		f.hasRefresh = false
	}
	return true
}

// removeFamilyLocked forgets f entirely.
func (s *store) removeFamilyLocked(f *family) {
	delete(s.families, f.id)
	if s.byKey[f.keyHash] == f {
		delete(s.byKey, f.keyHash)
	}
	if f.hasRefresh && s.byRefresh[f.refreshHash] == f {
		delete(s.byRefresh, f.refreshHash)
	}
	if subs := s.bySub[f.sub]; subs != nil {
		delete(subs, f.id)
		if len(subs) == 0 {
			delete(s.bySub, f.sub)
		}
	}
}

// refreshUsable reports whether f still has a refresh token that could
// be presented successfully at now.
func (f *family) refreshUsable(now time.Time) bool {
	return !f.revoked && f.hasRefresh && (f.refreshExpires.IsZero() || now.Before(f.refreshExpires))
}

// maybeSweepLocked removes expired codes, expired revocation records and
// families that can no longer produce or verify a token. It runs at most once
// per sweepEvery.
func (s *store) maybeSweepLocked(now time.Time) {
	if !s.lastSweep.IsZero() && now.Sub(s.lastSweep) < sweepEvery && !now.Before(s.lastSweep) {
		return
	}
	s.lastSweep = now
	for h, c := range s.codes {
		if !now.Before(c.forgetAfterAt) {
			delete(s.codes, h)
		}
	}
	for jti, exp := range s.revokedJTI {
		if !now.Before(exp) {
			delete(s.revokedJTI, jti)
		}
	}
	for _, f := range s.families {
		if now.Before(f.accessExpires) || f.refreshUsable(now) {
			continue
		}
		s.removeFamilyLocked(f)
	}
}

// counts reports the number of live entries, for Stats.
func (s *store) counts() (codes, families int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.codes), len(s.families)
}
