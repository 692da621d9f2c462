package authserver

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Grant types.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
)

// accessClaims are the claims of an access token.
type accessClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	JTI      string `json:"jti"`
	SID      string `json:"sid"`
}

// tokenResponse is the successful token endpoint response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// issuance is what a grant decided to issue, captured under the store lock
// and signed after it is released.
type issuance struct {
	familyID     string
	clientID     string
	sub          string
	scopes       []string // of this access token
	claims       requestedClaims
	nonce        string
	authTime     time.Time
	issuedAt     time.Time
	accessExp    time.Time
	refreshToken string // empty: none issued
}

// readForm reads a form-encoded POST body strictly: the right content type,
// nothing in the query string and no repeated parameter.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("parameters must be sent in the request body, not the URL")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("the request body could not be parsed")
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, invalidRequest("parameter %s is repeated", k)
		}
	}
	return r.PostForm, nil
}

// authenticateClient authenticates the client with client_secret_basic or
// client_secret_post (exactly one of them).
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*Client, *oauthError) {
	fail := &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication failed"}
	var id, secret string
	if r.Header.Get("Authorization") != "" {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, fail
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, fail
		}
		if form.Get("client_secret") != "" {
			return nil, invalidRequest("use exactly one client authentication method")
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, invalidRequest("client_id in the body does not match the authenticated client")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		return nil, fail
	}
	c, known := p.cfg.clients[id]
	want := "\x00unknown client"
	if known {
		want = c.Secret
	}
	// Compare digests so that the comparison time depends on neither length.
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 || !known {
		return nil, fail
	}
	return c, nil
}

// claimedClientID is the client id a request claims, authenticated or not,
// for logging.
func claimedClientID(r *http.Request, form url.Values) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
	}
	return form.Get("client_id")
}

// writeOAuthError writes an RFC 6749 §5.2 error response and counts it.
func (p *Provider) writeOAuthError(w http.ResponseWriter, endpoint, clientID string, e *oauthError) {
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+p.cfg.issuer+`", charset="UTF-8"`)
	}
	if endpoint == "token" {
		p.stats.add(func(s *Stats) { s.TokenErrors[e.code]++ })
	}
	p.log.Info("request refused", "endpoint", endpoint, "client_id", clientID, "error", e.code, "error_description", e.desc)
	writeJSON(w, status, map[string]string{"error": e.code, "error_description": e.desc})
}

// serveToken answers POST {issuer}/token.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	form, ferr := readForm(w, r)
	if ferr != nil {
		p.writeOAuthError(w, "token", "", ferr)
		return
	}
	client, cerr := p.authenticateClient(r, form)
	if cerr != nil {
		p.writeOAuthError(w, "token", claimedClientID(r, form), cerr)
		return
	}
	var (
		iss  *issuance
		oerr *oauthError
	)
	switch gt := form.Get("grant_type"); gt {
	case grantAuthorizationCode:
		iss, oerr = p.exchangeCode(client, form)
	case grantRefreshToken:
		iss, oerr = p.refresh(client, form)
	case "":
		oerr = invalidRequest("grant_type is required")
	default:
		oerr = &oauthError{code: "unsupported_grant_type", desc: "supported grant types are authorization_code and refresh_token"}
	}
	if oerr != nil {
		p.writeOAuthError(w, "token", client.ID, oerr)
		return
	}
	resp, err := p.sign(iss)
	if err != nil {
		p.log.Error("sign tokens", "client_id", client.ID, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "tokens could not be signed"})
		return
	}
	p.log.Info("tokens issued", "grant_type", form.Get("grant_type"), "client_id", client.ID, "sub", iss.sub,
		"sid", iss.familyID, "scope", resp.Scope, "refresh_token_issued", iss.refreshToken != "")
	writeJSON(w, http.StatusOK, resp)
}

// exchangeCode runs the authorization_code grant.
func (p *Provider) exchangeCode(client *Client, form url.Values) (*issuance, *oauthError) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		return nil, invalidRequest("code is required")
	case redirectURI == "":
		return nil, invalidRequest("redirect_uri is required")
	case verifier == "":
		return nil, &oauthError{code: "invalid_grant", desc: "PKCE code_verifier is required"}
	}
	now := p.cfg.now()
	st := p.store
	st.mu.Lock()
	defer st.mu.Unlock()
	st.maybeSweepLocked(now)

	c := st.codes[digestOf(code)]
	switch {
	case c == nil:
		return nil, &oauthError{code: "invalid_grant", desc: "authorization code is invalid"}
	case c.clientID != client.ID:
		return nil, &oauthError{code: "invalid_grant", desc: "authorization code was issued to another client"}
	case c.redirectURI != redirectURI:
		return nil, &oauthError{code: "invalid_grant", desc: "redirect_uri does not match the authorization request"}
	case !verifyS256(verifier, c.challenge):
		return nil, &oauthError{code: "invalid_grant", desc: "PKCE verification failed"}
	case c.used:
		revoked := false
		if f := st.families[c.familyID]; f != nil {
			revoked = st.revokeFamilyLocked(f, now)
		}
		p.stats.add(func(s *Stats) {
			s.CodeReplays++
			if revoked {
				s.FamiliesRevoked++
			}
		})
		p.log.Warn("authorization code replayed; grant revoked", "client_id", client.ID, "sid", c.familyID, "family_revoked", revoked)
		return nil, &oauthError{code: "invalid_grant", desc: "authorization code was already used; the grant it produced is revoked"}
	case !now.Before(c.expiresAt):
		return nil, &oauthError{code: "invalid_grant", desc: "authorization code expired"}
	}
	c.used = true

	famKey := make([]byte, familyKeyBytes)
	_, _ = rand.Read(famKey)
	f := &family{
		id:       randomString(idBytes),
		keyHash:  sha256.Sum256(famKey),
		clientID: c.clientID,
		sub:      c.sub,
		scopes:   c.scopes,
		claims:   c.claims,
		nonce:    c.nonce,
		authTime: c.authTime,
	}
	iss := &issuance{
		familyID:  f.id,
		clientID:  f.clientID,
		sub:       f.sub,
		scopes:    f.scopes,
		claims:    f.claims,
		nonce:     f.nonce,
		authTime:  f.authTime,
		issuedAt:  now,
		accessExp: now.Add(p.cfg.accessTTL),
	}
	f.accessExpires = iss.accessExp
	if slices.ContainsFunc(f.scopes, isOfflineScope) {
		iss.refreshToken = newRefreshToken(famKey)
		f.hasRefresh = true
		f.refreshHash = digestOf(iss.refreshToken)
		if p.cfg.refreshTTL > 0 {
			f.refreshExpires = now.Add(p.cfg.refreshTTL)
		}
	}
	c.familyID = f.id
	st.addFamilyLocked(f)
	p.stats.add(func(s *Stats) { s.CodesExchanged++ })
	return iss, nil
}

// verifyS256 checks a PKCE code_verifier against an S256 code_challenge.
func verifyS256(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, r := range verifier {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// refresh runs the refresh_token grant.
func (p *Provider) refresh(client *Client, form url.Values) (*issuance, *oauthError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, invalidRequest("refresh_token is required")
	}
	var narrowed []string
	if raw := form.Get("scope"); raw != "" {
		s, err := parseScope(raw)
		if err != nil {
			return nil, &oauthError{code: "invalid_scope", desc: err.Error()}
		}
		narrowed = s
	}
	invalid := &oauthError{code: "invalid_grant", desc: "refresh token is invalid, expired or revoked"}
	keyHash, ok := refreshFamilyKey(rt)
	if !ok {
		return nil, invalid
	}

	now := p.cfg.now()
	st := p.store
	st.mu.Lock()
	defer st.mu.Unlock()
	st.maybeSweepLocked(now)

	f := st.byRefresh[digestOf(rt)]
	if f == nil {
		// Not a current refresh token. If it belongs to a live family of the
		// same client, it is a retired one presented again.
		fam := st.byKey[keyHash]
		if fam == nil || fam.revoked || fam.clientID != client.ID {
			return nil, invalid
		}
		if !p.cfg.detectReuse {
			return nil, &oauthError{code: "invalid_grant", desc: "refresh token was already used"}
		}
		st.revokeFamilyLocked(fam, now)
		p.stats.add(func(s *Stats) {
			s.ReuseDetections++
			s.FamiliesRevoked++
		})
		p.log.Warn("retired refresh token presented; grant revoked", "client_id", client.ID, "sub", fam.sub, "sid", fam.id)
		return nil, &oauthError{code: "invalid_grant", desc: "refresh token was already used; the grant is revoked"}
	}
	if f.clientID != client.ID {
		return nil, &oauthError{code: "invalid_grant", desc: "refresh token was issued to another client"}
	}
	if !f.refreshUsable(now) {
		return nil, &oauthError{code: "invalid_grant", desc: "refresh token expired"}
	}
	scopes := f.scopes
	if narrowed != nil {
		for _, s := range narrowed {
			if !slices.Contains(f.scopes, s) {
				return nil, &oauthError{code: "invalid_scope", desc: fmt.Sprintf("scope %s was not granted", s)}
			}
		}
		scopes = narrowed
	}

	iss := &issuance{
		familyID:  f.id,
		clientID:  f.clientID,
		sub:       f.sub,
		scopes:    scopes,
		claims:    f.claims,
		nonce:     f.nonce,
		authTime:  f.authTime,
		issuedAt:  now,
		accessExp: now.Add(p.cfg.accessTTL),
	}
	if iss.accessExp.After(f.accessExpires) {
		f.accessExpires = iss.accessExp
	}
	rotated := p.cfg.rotate
	if rotated {
		famKey, _ := base64.RawURLEncoding.DecodeString(rt)
		iss.refreshToken = newRefreshToken(famKey[:familyKeyBytes])
		delete(st.byRefresh, f.refreshHash)
		f.refreshHash = digestOf(iss.refreshToken)
		st.byRefresh[f.refreshHash] = f
		if p.cfg.refreshTTL > 0 {
			f.refreshExpires = now.Add(p.cfg.refreshTTL)
		}
	}
	p.stats.add(func(s *Stats) {
		s.Refreshes++
		if rotated {
			s.Rotations++
		}
	})
	return iss, nil
}

// sign produces the signed tokens of an issuance.
func (p *Provider) sign(iss *issuance) (*tokenResponse, error) {
	scope := strings.Join(iss.scopes, " ")
	at, err := sign(p.key.atSigner, accessClaims{
		Issuer:   p.cfg.issuer,
		Subject:  iss.sub,
		Audience: iss.clientID,
		ClientID: iss.clientID,
		Scope:    scope,
		IssuedAt: iss.issuedAt.Unix(),
		Expiry:   iss.accessExp.Unix(),
		JTI:      randomString(idBytes),
		SID:      iss.familyID,
	})
	if err != nil {
		return nil, fmt.Errorf("access token: %w", err)
	}
	resp := &tokenResponse{
		AccessToken:  at,
		TokenType:    "Bearer",
		ExpiresIn:    int64(iss.accessExp.Sub(iss.issuedAt) / time.Second),
		Scope:        scope,
		RefreshToken: iss.refreshToken,
	}
	if slices.Contains(iss.scopes, ScopeOpenID) {
		claims := map[string]any{
			"iss":       p.cfg.issuer,
			"sub":       iss.sub,
			"aud":       iss.clientID,
			"iat":       iss.issuedAt.Unix(),
			"exp":       iss.issuedAt.Add(p.cfg.idTokenTTL).Unix(),
			"auth_time": iss.authTime.Unix(),
			"at_hash":   atHash(at),
			"sid":       iss.familyID,
		}
		if iss.nonce != "" {
			claims["nonce"] = iss.nonce
		}
		if len(iss.claims.IDToken) > 0 {
			p.addUserClaims(claims, iss.sub, iss.claims.IDToken)
		}
		if resp.IDToken, err = sign(p.key.idSigner, claims); err != nil {
			return nil, fmt.Errorf("ID token: %w", err)
		}
	}
	return resp, nil
}

// addUserClaims sets the requested releasable claims of sub in claims.
// Empty profile values are left out.
func (p *Provider) addUserClaims(claims map[string]any, sub string, names []string) {
	var (
		uc     UserClaims
		loaded bool
		found  bool
	)
	for _, name := range names {
		if name == ClaimInstitutionID {
			claims[name] = p.cfg.institutionID
			continue
		}
		if !loaded {
			uc, found = p.cfg.directory.Claims(sub)
			loaded = true
		}
		if !found {
			continue
		}
		var v string
		switch name {
		case claimName:
			v = uc.Name
		case claimGivenName:
			v = uc.GivenName
		case claimFamilyName:
			v = uc.FamilyName
		case claimEmail:
			v = uc.Email
		}
		if v != "" {
			claims[name] = v
		}
	}
}
