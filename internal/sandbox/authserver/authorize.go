package authserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authParams are the authorization request parameters the provider reads.
// The consent page carries them as hidden fields, in this order.
var authParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "claims", "prompt", "response_mode", "login_hint",
}

// Form fields of the consent page, besides authParams.
const (
	fieldUsername     = "username"
	fieldPassword     = "password"
	fieldAction       = "action"
	fieldGrantedScope = "granted_scope"
	actionAllow       = "allow"
	actionDeny        = "deny"
)

// maxFormBytes bounds the body of form posts.
const maxFormBytes = 64 << 10

// requestedClaims are the claims a client asked for with the claims
// authorization parameter, restricted to those the provider can release.
type requestedClaims struct {
	IDToken  []string
	Userinfo []string
}

// authRequest is a validated authorization request.
type authRequest struct {
	client      *Client
	redirectURI string
	state       string
	scopes      []string // requested, deduplicated, in request order
	nonce       string
	challenge   string
	claims      requestedClaims
	loginHint   string
	params      url.Values // the authorization parameters as received
}

// pageError is a problem that must be shown to the user instead of being
// sent to the client's redirect URI, because the redirect URI itself cannot
// be trusted.
type pageError struct {
	status  int
	message string
}

// oauthError is an OAuth 2.0 error response.
type oauthError struct {
	status int // for token endpoint responses
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func invalidRequest(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: fmt.Sprintf(format, args...)}
}

// parseAuthRequest validates an authorization request. The client and the
// redirect URI are checked first: a problem with either is a pageError. Any
// later problem is an oauthError to be sent to the (then trusted) redirect
// URI, and req is returned with client, redirectURI and state set.
func (p *Provider) parseAuthRequest(v url.Values) (req *authRequest, perr *pageError, oerr *oauthError) {
	ids := v["client_id"]
	if len(ids) != 1 || ids[0] == "" {
		return nil, &pageError{http.StatusBadRequest, "The request has a missing or repeated client_id."}, nil
	}
	client, ok := p.cfg.clients[ids[0]]
	if !ok {
		return nil, &pageError{http.StatusBadRequest, "The application making this request is not registered with this institution."}, nil
	}
	uris := v["redirect_uri"]
	if len(uris) != 1 || uris[0] == "" {
		return nil, &pageError{http.StatusBadRequest, "The request has a missing or repeated redirect_uri."}, nil
	}
	if !slices.Contains(client.RedirectURIs, uris[0]) {
		return nil, &pageError{http.StatusBadRequest, "The redirect_uri is not registered for this application."}, nil
	}
	req = &authRequest{client: client, redirectURI: uris[0], state: v.Get("state"), params: url.Values{}}
	for _, k := range authParams {
		if vs := v[k]; len(vs) > 0 && vs[0] != "" {
			req.params[k] = vs
		}
	}

	for _, k := range authParams {
		if len(v[k]) > 1 {
			return req, nil, invalidRequest("parameter %s is repeated", k)
		}
	}
	if v.Get("request") != "" {
		return req, nil, &oauthError{code: "request_not_supported", desc: "request objects are not supported"}
	}
	if v.Get("request_uri") != "" {
		return req, nil, &oauthError{code: "request_uri_not_supported", desc: "request_uri is not supported"}
	}
	switch rt := v.Get("response_type"); rt {
	case "code":
	case "":
		return req, nil, invalidRequest("response_type is required")
	default:
		return req, nil, &oauthError{code: "unsupported_response_type", desc: "only response_type=code is supported"}
	}
	if rm := v.Get("response_mode"); rm != "" && rm != "query" {
		return req, nil, invalidRequest("only response_mode=query is supported")
	}

	scopes, err := parseScope(v.Get("scope"))
	if err != nil {
		return req, nil, &oauthError{code: "invalid_scope", desc: err.Error()}
	}
	if !slices.Contains(scopes, ScopeOpenID) {
		return req, nil, &oauthError{code: "invalid_scope", desc: "scope must include openid"}
	}
	for _, s := range scopes {
		if !client.allowsScope(s) {
			return req, nil, &oauthError{code: "invalid_scope", desc: fmt.Sprintf("scope %s is not allowed for this client", s)}
		}
	}
	req.scopes = scopes

	challenge, method := v.Get("code_challenge"), v.Get("code_challenge_method")
	switch {
	case challenge == "":
		return req, nil, invalidRequest("PKCE is required: code_challenge is missing")
	case method == "":
		return req, nil, invalidRequest("code_challenge_method is required and must be S256")
	case method != "S256":
		return req, nil, invalidRequest("code_challenge_method %s is not supported; use S256", method)
	case !validS256Challenge(challenge):
		return req, nil, invalidRequest("code_challenge is not a base64url SHA-256 value")
	}
	req.challenge = challenge

	if raw := v.Get("claims"); raw != "" {
		c, err := parseClaimsParam(raw)
		if err != nil {
			return req, nil, invalidRequest("claims: %v", err)
		}
		req.claims = c
	}

	if prompt := v.Get("prompt"); prompt != "" {
		values := strings.Split(prompt, " ")
		for _, pv := range values {
			switch pv {
			case "none":
				if len(values) > 1 {
					return req, nil, invalidRequest("prompt=none cannot be combined with other values")
				}
				return req, nil, &oauthError{code: "login_required", desc: "the user must log in"}
			case "login", "consent", "select_account":
			default:
				return req, nil, invalidRequest("unsupported prompt value %q", pv)
			}
		}
	}
	req.nonce = v.Get("nonce")
	req.loginHint = v.Get("login_hint")
	return req, nil, nil
}

// parseScope splits a space-delimited scope parameter, rejecting unknown
// scopes and dropping duplicates.
func parseScope(raw string) ([]string, error) {
	var out []string
	for s := range strings.SplitSeq(raw, " ") {
		if s == "" || slices.Contains(out, s) {
			continue
		}
		if !knownScope(s) {
			return nil, fmt.Errorf("unknown scope %q", s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("scope is required")
	}
	return out, nil
}

// validS256Challenge reports whether c is a base64url (unpadded) SHA-256
// digest, the only form an S256 code_challenge can take.
func validS256Challenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32 && len(c) == 43
}

// parseClaimsParam parses the claims authorization parameter (OpenID Connect
// Core §5.5) and keeps the releasable claims it requests.
func parseClaimsParam(raw string) (requestedClaims, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil || top == nil {
		return requestedClaims{}, errors.New("not a JSON object")
	}
	members := func(name string) ([]string, error) {
		m, ok := top[name]
		if !ok || string(m) == "null" {
			return nil, nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(m, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("member %s is not a JSON object", name)
		}
		var out []string
		for _, c := range releasableClaims {
			spec, ok := obj[c]
			if !ok {
				continue
			}
			if s := string(spec); s != "null" {
				var detail map[string]json.RawMessage
				if err := json.Unmarshal(spec, &detail); err != nil || detail == nil {
					return nil, fmt.Errorf("claim %s must be null or an object", c)
				}
			}
			out = append(out, c)
		}
		return out, nil
	}
	var rc requestedClaims
	var err error
	if rc.IDToken, err = members("id_token"); err != nil {
		return requestedClaims{}, err
	}
	if rc.Userinfo, err = members("userinfo"); err != nil {
		return requestedClaims{}, err
	}
	return rc, nil
}

// grantScopes returns the scopes granted at consent: openid, plus every
// requested scope whose box was ticked, in request order.
func grantScopes(requested, ticked []string) []string {
	granted := []string{ScopeOpenID}
	for _, s := range requested {
		if s != ScopeOpenID && slices.Contains(ticked, s) {
			granted = append(granted, s)
		}
	}
	return granted
}

// serveAuthorize answers GET and POST {issuer}/auth.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method == http.MethodPost {
		p.authorizePost(w, r)
		return
	}
	req, perr, oerr := p.parseAuthRequest(r.URL.Query())
	switch {
	case perr != nil:
		p.renderError(w, perr)
	case oerr != nil:
		p.log.Info("authorization request refused", "client_id", req.client.ID, "error", oerr.code, "error_description", oerr.desc)
		p.redirectError(w, r, req, oerr, http.StatusFound)
	default:
		p.renderConsent(w, http.StatusOK, req, nil, req.loginHint, "")
	}
}

// authorizePost handles the consent form: the page's submission and the
// automation path.
func (p *Provider) authorizePost(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		p.renderError(w, &pageError{http.StatusUnsupportedMediaType, "The consent form must be posted as application/x-www-form-urlencoded."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.renderError(w, &pageError{http.StatusBadRequest, "The consent form could not be read."})
		return
	}
	v := r.PostForm
	req, perr, oerr := p.parseAuthRequest(v)
	switch {
	case perr != nil:
		p.renderError(w, perr)
		return
	case oerr != nil:
		p.log.Info("authorization request refused", "client_id", req.client.ID, "error", oerr.code, "error_description", oerr.desc)
		p.redirectError(w, r, req, oerr, http.StatusSeeOther)
		return
	}
	ticked := v[fieldGrantedScope]
	if ticked == nil {
		ticked = []string{} // every box unticked, as opposed to a first display
	}
	username := v.Get(fieldUsername)

	actions := v[fieldAction]
	if len(actions) != 1 || (actions[0] != actionAllow && actions[0] != actionDeny) {
		p.renderConsent(w, http.StatusBadRequest, req, ticked, username, "Choose Allow or Deny.")
		return
	}
	if actions[0] == actionDeny {
		p.stats.add(func(s *Stats) { s.AuthorizationsDenied++ })
		p.log.Info("authorization denied by user", "client_id", req.client.ID)
		p.redirectError(w, r, req, &oauthError{code: "access_denied", desc: "the user denied the request"}, http.StatusSeeOther)
		return
	}

	sub, ok := p.cfg.directory.Authenticate(username, v.Get(fieldPassword))
	if !ok {
		p.stats.add(func(s *Stats) { s.LoginFailures++ })
		p.log.Info("login failed", "client_id", req.client.ID)
		p.renderConsent(w, http.StatusUnauthorized, req, ticked, username, "The username or password is incorrect.")
		return
	}

	granted := grantScopes(req.scopes, ticked)
	now := p.cfg.now()
	code := randomString(codeBytes)
	c := &authCode{
		clientID:      req.client.ID,
		redirectURI:   req.redirectURI,
		challenge:     req.challenge,
		nonce:         req.nonce,
		sub:           sub,
		scopes:        granted,
		claims:        req.claims,
		authTime:      now,
		expiresAt:     now.Add(p.cfg.codeTTL),
		forgetAfterAt: now.Add(p.cfg.codeTTL + p.cfg.accessTTL),
	}
	st := p.store
	st.mu.Lock()
	st.maybeSweepLocked(now)
	st.codes[digestOf(code)] = c
	st.mu.Unlock()

	p.stats.add(func(s *Stats) { s.AuthorizationsApproved++ })
	p.log.Info("authorization approved", "client_id", req.client.ID, "sub", sub, "scope", strings.Join(granted, " "))
	params := url.Values{"code": {code}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	p.redirect(w, r, req.redirectURI, params, http.StatusSeeOther)
}

// redirectError sends an authorization error response to the client.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, e *oauthError, status int) {
	params := url.Values{"error": {e.code}, "error_description": {e.desc}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	p.redirect(w, r, req.redirectURI, params, status)
}

// redirect sends the user agent to the redirect URI with params and iss
// (RFC 9207) appended to its query.
func (p *Provider) redirect(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values, status int) {
	params.Set("iss", p.cfg.issuer)
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs were parsed at New
		p.renderError(w, &pageError{http.StatusInternalServerError, "The redirect URI is invalid."})
		return
	}
	if u.RawQuery == "" {
		u.RawQuery = params.Encode()
	} else {
		u.RawQuery += "&" + params.Encode()
	}
	http.Redirect(w, r, u.String(), status)
}

// hiddenField is one authorization parameter carried by the consent form.
type hiddenField struct{ Name, Value string }

// scopeChoice is one checkbox of the consent form.
type scopeChoice struct {
	ID          string
	Value       string
	Label       string
	Description string
	Checked     bool
	Required    bool
}

// consentPage is the data of the login and consent template.
type consentPage struct {
	InstitutionName string
	ClientID        string
	FormAction      string
	Hidden          []hiddenField
	Scopes          []scopeChoice
	Username        string
	Error           string
}

// scopeText describes each scope to the user.
var scopeText = map[string][2]string{
	ScopeOpenID:              {"Confirm your identity", "Lets the application know who you are. Always granted."},
	ScopeOfflineAccess:       {"Stay connected", "Lets the application keep access while you are away, until you disconnect it."},
	ScopeOfflineAccessLegacy: {"Stay connected", "Lets the application keep access while you are away, until you disconnect it."},
	ScopeAccounts:            {"Accounts", "View your accounts and their balances."},
	ScopeTransactions:        {"Transactions", "View the details of your transactions."},
	ScopeProfile:             {"Profile", "View your name, email address and other profile details."},
}

// renderConsent renders the login and consent page. ticked is nil on first
// display (every box checked) and the submitted boxes on a re-display.
func (p *Provider) renderConsent(w http.ResponseWriter, status int, req *authRequest, ticked []string, username, message string) {
	page := consentPage{
		InstitutionName: p.cfg.institutionName,
		ClientID:        req.client.ID,
		FormAction:      p.cfg.issuerPath + pathAuth,
		Username:        username,
		Error:           message,
	}
	if page.InstitutionName == "" {
		page.InstitutionName = "Sandbox Institution"
	}
	for _, k := range authParams {
		if vs, ok := req.params[k]; ok {
			page.Hidden = append(page.Hidden, hiddenField{k, vs[0]})
		}
	}
	for i, s := range req.scopes {
		text := scopeText[s]
		page.Scopes = append(page.Scopes, scopeChoice{
			ID:          fmt.Sprintf("scope-%d", i),
			Value:       s,
			Label:       text[0],
			Description: text[1],
			Checked:     s == ScopeOpenID || ticked == nil || slices.Contains(ticked, s),
			Required:    s == ScopeOpenID,
		})
	}
	p.renderPage(w, status, "authorize.html", page)
}

// renderError renders the error page.
func (p *Provider) renderError(w http.ResponseWriter, e *pageError) {
	p.log.Info("authorization request rejected without redirect", "status", e.status, "reason", e.message)
	p.renderPage(w, e.status, "error.html", struct {
		InstitutionName, Message string
	}{p.cfg.institutionName, e.message})
}

// renderPage executes a template into a buffer first so that a template
// failure never produces half a page.
func (p *Provider) renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
