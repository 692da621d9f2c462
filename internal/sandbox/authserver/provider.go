package authserver

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
)

// Route suffixes, relative to the issuer.
const (
	pathDiscovery  = "/.well-known/openid-configuration"
	pathJWKS       = "/jwks"
	pathAuth       = "/auth"
	pathToken      = "/token"
	pathUserinfo   = "/me"
	pathRevocation = "/token/revocation"
)

// Provider is a running OpenID Provider. It is safe for concurrent use.
type Provider struct {
	cfg       *settings
	key       *signingKey
	store     *store
	stats     *statsRecorder
	log       *slog.Logger
	pages     *template.Template
	discovery []byte
	routes    map[string]route
}

// route is one path of the handler and the methods it answers.
type route struct {
	methods []string
	serve   http.HandlerFunc
}

// New validates cfg and returns a provider with a freshly generated ES256
// signing key.
func New(cfg Config) (*Provider, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	key, err := newSigningKey()
	if err != nil {
		return nil, fmt.Errorf("new authserver: %w", err)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, fmt.Errorf("new authserver: %w", err)
	}
	p := &Provider{
		cfg:   s,
		key:   key,
		store: newStore(),
		stats: newStatsRecorder(),
		log:   s.logger,
		pages: pages,
	}
	if p.discovery, err = p.discoveryDocument(); err != nil {
		return nil, fmt.Errorf("new authserver: %w", err)
	}
	post, get := http.MethodPost, http.MethodGet
	p.routes = map[string]route{
		s.issuerPath + pathDiscovery:  {[]string{get}, p.serveDiscovery},
		s.issuerPath + pathJWKS:       {[]string{get}, p.serveJWKS},
		s.issuerPath + pathAuth:       {[]string{get, post}, p.serveAuthorize},
		s.issuerPath + pathToken:      {[]string{post}, p.serveToken},
		s.issuerPath + pathUserinfo:   {[]string{get, post}, p.serveUserinfo},
		s.issuerPath + pathRevocation: {[]string{post}, p.serveRevocation},
	}
	p.log.Info("authserver ready", "issuer", s.issuer, "kid", key.kid, "clients", len(s.clients),
		"rotate_refresh_tokens", s.rotate, "detect_reuse", s.detectReuse)
	return p, nil
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.issuer }

// KeyID returns the kid of the signing key.
func (p *Provider) KeyID() string { return p.key.kid }

// Handler returns the handler of every OIDC route. It matches the full
// request path (the issuer's path followed by the route suffix), so mount it
// without stripping any prefix. Other paths get 404.
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := p.routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		allowed := false
		for _, m := range rt.methods {
			allowed = allowed || r.Method == m
		}
		if !allowed {
			w.Header().Set("Allow", strings.Join(rt.methods, ", "))
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		rt.serve(w, r)
	})
}

// Stats returns a snapshot of the provider's counters.
func (p *Provider) Stats() Stats {
	s := p.stats.snapshot()
	s.LiveCodes, s.LiveFamilies = p.store.counts()
	return s
}

// Disconnect is the user removing an app under "Connected Apps": it revokes
// every live token family of sub issued to clientID ("" means every client)
// and returns how many it revoked. The next refresh of those grants fails
// with invalid_grant and their access tokens stop verifying.
func (p *Provider) Disconnect(sub string, clientID string) int {
	now := p.cfg.now()
	st := p.store
	st.mu.Lock()
	n := 0
	for _, f := range st.bySub[sub] {
		if clientID != "" && f.clientID != clientID {
			continue
		}
		if st.revokeFamilyLocked(f, now) {
			n++
		}
	}
	st.maybeSweepLocked(now)
	st.mu.Unlock()
	if n > 0 {
		p.stats.add(func(s *Stats) { s.FamiliesRevoked += int64(n) })
	}
	p.log.Info("user disconnected app", "sub", sub, "client_id", clientID, "families_revoked", n)
	return n
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// noStore marks a response as holding credentials that must not be cached.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
