package authserver

import (
	"net/http"
	"time"
)

// serveRevocation answers POST {issuer}/token/revocation (RFC 7009).
//
// Revoking a refresh token revokes its whole token family, access tokens
// included; revoking an access token revokes that token only. Unknown,
// expired and already revoked tokens are answered 200 without effect. A
// token that belongs to another client is refused with invalid_request and
// left untouched (RFC 7009 §2.1).
func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	form, ferr := readForm(w, r)
	if ferr != nil {
		p.writeOAuthError(w, "revocation", "", ferr)
		return
	}
	client, cerr := p.authenticateClient(r, form)
	if cerr != nil {
		p.writeOAuthError(w, "revocation", claimedClientID(r, form), cerr)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeOAuthError(w, "revocation", client.ID, invalidRequest("token is required"))
		return
	}
	// The hint only decides which kind is tried first (RFC 7009 §2.1).
	tryers := []func(*Client, string) (bool, *oauthError){p.revokeRefreshToken, p.revokeAccessToken}
	if form.Get("token_type_hint") == "access_token" {
		tryers[0], tryers[1] = tryers[1], tryers[0]
	}
	for _, try := range tryers {
		matched, oerr := try(client, token)
		if oerr != nil {
			p.writeOAuthError(w, "revocation", client.ID, oerr)
			return
		}
		if matched {
			break
		}
	}
	w.WriteHeader(http.StatusOK)
}

// errForeignToken refuses the revocation of another client's token.
var errForeignToken = &oauthError{code: "invalid_request", desc: "the token was not issued to this client"}

// revokeRefreshToken revokes the family of a current refresh token. It
// reports whether token was one.
func (p *Provider) revokeRefreshToken(client *Client, token string) (bool, *oauthError) {
	if _, ok := refreshFamilyKey(token); !ok {
		return false, nil
	}
	now := p.cfg.now()
	st := p.store
	st.mu.Lock()
	f := st.byRefresh[digestOf(token)]
	if f == nil {
		st.mu.Unlock()
		return false, nil
	}
	if f.clientID != client.ID {
		st.mu.Unlock()
		return true, errForeignToken
	}
	revoked := st.revokeFamilyLocked(f, now)
	st.maybeSweepLocked(now)
	st.mu.Unlock()
	if revoked {
		p.stats.add(func(s *Stats) {
			s.Revocations++
			s.FamiliesRevoked++
		})
		p.log.Info("refresh token revoked; grant revoked", "client_id", client.ID, "sub", f.sub, "sid", f.id)
	}
	return true, nil
}

// revokeAccessToken revokes one unexpired access token. It reports whether
// token was an access token of this provider.
func (p *Provider) revokeAccessToken(client *Client, token string) (bool, *oauthError) {
	c, err := p.key.parseAccessToken(token)
	if err != nil || c.Issuer != p.cfg.issuer || c.JTI == "" {
		return false, nil
	}
	if c.ClientID != client.ID {
		return true, errForeignToken
	}
	now := p.cfg.now()
	exp := time.Unix(c.Expiry, 0)
	if !now.Before(exp) {
		return true, nil
	}
	st := p.store
	st.mu.Lock()
	_, already := st.revokedJTI[c.JTI]
	if f := st.families[c.SID]; f == nil || f.revoked {
		already = true // its grant is gone already
	}
	if !already {
		st.revokedJTI[c.JTI] = exp
	}
	st.maybeSweepLocked(now)
	st.mu.Unlock()
	if !already {
		p.stats.add(func(s *Stats) { s.Revocations++ })
		p.log.Info("access token revoked", "client_id", client.ID, "sub", c.Subject, "sid", c.SID)
	}
	return true, nil
}
