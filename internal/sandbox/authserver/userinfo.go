package authserver

import (
	"net/http"
	"slices"
	"strings"
)

// serveUserinfo answers GET and POST {issuer}/me. The access token must be
// sent in the Authorization header (RFC 6750 §2.1). The profile claims are
// released with the profile scope; claims requested for userinfo through the
// claims parameter are added.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	challenge := `Bearer realm="` + p.cfg.issuer + `"`
	auth := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(auth, " ")
	if auth == "" || !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", challenge)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "a Bearer access token is required"})
		return
	}
	grant, requested, err := p.verify(r.Context(), strings.TrimSpace(token))
	if err != nil {
		p.log.Info("userinfo refused", "reason", err.Error())
		w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token", error_description="the access token is invalid, expired or revoked"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is invalid, expired or revoked"})
		return
	}
	if !grant.HasScope(ScopeOpenID) {
		w.Header().Set("WWW-Authenticate", challenge+`, error="insufficient_scope", scope="openid"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "the openid scope is required"})
		return
	}
	claims := map[string]any{"sub": grant.Subject}
	var names []string
	if grant.HasScope(ScopeProfile) {
		names = append(names, claimName, claimGivenName, claimFamilyName, claimEmail)
	}
	for _, n := range requested.Userinfo {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		if _, ok := p.cfg.directory.Claims(grant.Subject); !ok {
			w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token", error_description="the user no longer exists"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the user no longer exists"})
			return
		}
		p.addUserClaims(claims, grant.Subject, names)
	}
	writeJSON(w, http.StatusOK, claims)
}
