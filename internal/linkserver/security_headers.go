package linkserver

import (
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the pages their own stylesheet and nothing
// else: no script at all (the pages need none), no inline style, no
// framing, no plugins, no <base> rewriting.
const contentSecurityPolicy = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries, and
// Cache-Control: no-store on the consent and API routes (their responses
// are personal, and the callback URL carries the authorization code).
func securityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if p := r.URL.Path; p == "/link" || strings.HasPrefix(p, "/link/") || strings.HasPrefix(p, "/api/") {
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
		}
		next.ServeHTTP(w, r)
	})
}

// isHTTPS reports whether the public URL is https.
func isHTTPS(publicURL string) bool { return strings.HasPrefix(publicURL, "https://") }
