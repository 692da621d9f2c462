package statuspage

import (
	"net/http"

	"github.com/pfmsync/pfmsync/internal/httpsec"
)

// contentSecurityPolicy is the policy every page is served with.
const contentSecurityPolicy = httpsec.ContentSecurityPolicy

// securityHeaders sets the headers every response carries. Nothing is
// cached: the pages describe the moment and name app users.
func securityHeaders(next http.Handler) http.Handler {
	return httpsec.Headers(next, httpsec.Options{})
}
