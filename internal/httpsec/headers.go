// Package httpsec sets the security headers of pfmsync's server-rendered
// pages (the link server's consent pages, the operator status page).
package httpsec

import "net/http"

// ContentSecurityPolicy allows a page its own stylesheet and images and
// nothing else: no script at all (the pages need none), no inline style, no
// plugins, no <base> rewriting, no form posting elsewhere, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options adjust Headers.
type Options struct {
	// HTTPS adds Strict-Transport-Security (the site is served over TLS).
	HTTPS bool
	// NoStore says which responses must not be cached; nil means all.
	NoStore func(*http.Request) bool
}

// Headers sets the security headers on every response of next.
func Headers(next http.Handler, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if o.HTTPS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if o.NoStore == nil || o.NoStore(r) {
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
		}
		next.ServeHTTP(w, r)
	})
}
