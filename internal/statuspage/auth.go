package statuspage

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
)

// authRealm names the protection space browsers show when they ask for
// the token.
const authRealm = `Basic realm="pfmsync status", charset="UTF-8"`

// requireToken refuses requests without the admin token as the Basic
// authentication password (401 with WWW-Authenticate), when a token is
// set. Passwords are compared as SHA-256 digests in constant time, so
// neither their content nor their length shows in the timing.
func (h *handler) requireToken(next http.Handler) http.Handler {
	if h.tokenHash == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, password, ok := r.BasicAuth()
		sum := sha256.Sum256([]byte(password))
		if subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) != 1 || !ok {
			// Browsers ask without credentials first: only a wrong
			// token is worth an operator's attention.
			level := slog.LevelDebug
			if ok {
				level = slog.LevelInfo
			}
			h.logger.Log(r.Context(), level, "status page request refused", "path", r.URL.Path, "credentials_sent", ok)
			w.Header().Set("WWW-Authenticate", authRealm)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
