package linkserver

import (
	"net/http"
	"strings"

	"github.com/pfmsync/pfmsync/internal/httpsec"
)

// securityHeaders sets the headers every response carries, and
// Cache-Control: no-store on the consent and API routes (their responses
// are personal, and the callback URL carries the authorization code).
func securityHeaders(next http.Handler, https bool) http.Handler {
	return httpsec.Headers(next, httpsec.Options{HTTPS: https, NoStore: func(r *http.Request) bool {
		p := r.URL.Path
		return p == "/link" || strings.HasPrefix(p, "/link/") || strings.HasPrefix(p, "/api/")
	}})
}

// isHTTPS reports whether the public URL is https.
func isHTTPS(publicURL string) bool { return strings.HasPrefix(publicURL, "https://") }
