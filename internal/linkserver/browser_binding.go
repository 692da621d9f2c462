package linkserver

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"
)

// The consent's browser binding: /link/start sets a cookie holding a random
// value in the browser that starts the consent and stores only the value's
// SHA-256 with the consent request; the callback requires the cookie. An
// authorization URL forwarded to someone else (consent fixation: tricking a
// victim into connecting their bank to the sender's app account) then
// completes nowhere. The cookie's name derives from the state, so parallel
// consents in one browser do not overwrite each other.

// bindingCookiePrefix starts the name of the binding cookie.
const bindingCookiePrefix = "pfmsync_consent_"

// bindingCookieName is the binding cookie's name for a state hash.
func bindingCookieName(stateHash []byte) string {
	return bindingCookiePrefix + hex.EncodeToString(stateHash[:8])
}

// newBrowserBinding returns a random value for the cookie and its hash.
func newBrowserBinding() (value string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	value = base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(value))
	return value, h[:]
}

// setBindingCookie sets the binding cookie, scoped to the callback.
func (s *Server) setBindingCookie(w http.ResponseWriter, stateHash []byte, value string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     bindingCookieName(stateHash),
		Value:    value,
		Path:     CallbackPath,
		MaxAge:   int(ttl / time.Second),
		HttpOnly: true,
		Secure:   isHTTPS(s.publicURL),
		// Lax: sent on the bank's top-level redirect back to the callback.
		SameSite: http.SameSiteLaxMode,
	})
}

// clearBindingCookie removes the binding cookie of a state hash and
// returns the value the browser presented ("" when absent).
func (s *Server) clearBindingCookie(w http.ResponseWriter, r *http.Request, stateHash []byte) string {
	name := bindingCookieName(stateHash)
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: CallbackPath, MaxAge: -1, HttpOnly: true, Secure: isHTTPS(s.publicURL), SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// bindingMatches reports whether a presented binding value hashes to the
// one stored with the consent request.
func bindingMatches(value string, want []byte) bool {
	if value == "" || len(want) == 0 {
		return false
	}
	got := sha256.Sum256([]byte(value))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}
