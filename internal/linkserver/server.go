package linkserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
	"github.com/pfmsync/pfmsync/internal/userdata"
)

// CallbackPath is the path of the OAuth redirect URI: every institution
// must have PublicURL + CallbackPath registered exactly.
const CallbackPath = "/link/callback"

// JobInserter queues River jobs inside a caller's transaction. An
// insert-only *river.Client[pgx.Tx] (no queues, never started) is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Institution is one institution users can connect to.
type Institution struct {
	// ID is the institutions row's id.
	ID int64
	// Slug is the institution's short name in URLs and tokens.
	Slug string
	// Name is shown to people.
	Name string
	// Client talks to the institution. Its redirect URL must be
	// PublicURL + CallbackPath.
	Client *consumerapi.Client
}

// Options configure a Server. Every field without a default is required.
type Options struct {
	// Store is the datastore.
	Store *store.Store
	// Sealer seals refresh tokens (bound to the link id) and PKCE verifiers
	// (bound to the consent request id).
	Sealer *tokenseal.Sealer
	// Jobs queues the first sync of a link and manual syncs.
	Jobs JobInserter
	// DeliverEvents queues webhook deliveries of the events the server
	// emits (a webhook endpoint is configured); EventMaxAttempts bounds
	// their attempts (0: the default). Events are recorded either way.
	DeliverEvents    bool
	EventMaxAttempts int
	// Institutions are the institutions offered, in display order.
	Institutions []Institution
	// AppKey verifies link and API tokens (HMAC-SHA256); at least
	// MinAppKeyLen bytes.
	AppKey []byte
	// PublicURL is how browsers reach the server (scheme://host[:port],
	// no trailing slash).
	PublicURL string
	// ReturnURLs are the URL prefixes a token may name as its return URL.
	ReturnURLs []string
	// DashboardURL, when set, is linked from the success page (the
	// reference dashboard, PFMSYNC_DASHBOARD_URL).
	DashboardURL string
	// ConsentTTL is how long a started consent stays valid (default 10
	// minutes).
	ConsentTTL time.Duration
	// Logger receives the server's logs (default: discard). It never
	// receives a token, code, state, verifier or key.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// UnlinkPurge makes an unlink without ?purge= delete the link's data
	// (PFMSYNC_UNLINK_DATA=purge); by default it is kept.
	UnlinkPurge bool
}

// Server is the link server: an http.Handler for the consent flow, the
// connect page and the link management API. Make it with New.
type Server struct {
	store      *store.Store
	sealer     *tokenseal.Sealer
	jobs       JobInserter
	events     *events.Emitter
	insts      []Institution
	bySlug     map[string]*Institution
	byID       map[int64]*Institution
	appKey     []byte
	publicURL  string
	returnURLs []string
	dashboard  string
	consentTTL time.Duration
	logger     *slog.Logger
	now        func() time.Time
	pages      *pages
	handler    http.Handler
	purge      bool
	eraser     *userdata.Eraser
}

// New validates o and builds the server.
func New(o Options) (*Server, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if o.Sealer == nil {
		errs = append(errs, errors.New("a token sealer is required"))
	}
	if o.Jobs == nil {
		errs = append(errs, errors.New("a job inserter is required"))
	}
	if len(o.Institutions) == 0 {
		errs = append(errs, errors.New("at least one institution is required"))
	}
	if len(o.AppKey) < MinAppKeyLen {
		errs = append(errs, fmt.Errorf("the app key must be at least %d bytes", MinAppKeyLen))
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if u, err := url.Parse(o.PublicURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, errors.New("the public URL must be an absolute http(s) URL"))
	}
	if o.DashboardURL != "" {
		if _, err := parseAbsoluteURL(o.DashboardURL); err != nil {
			errs = append(errs, fmt.Errorf("dashboard URL: %w", err))
		}
	}
	for _, p := range o.ReturnURLs {
		if _, err := parseAbsoluteURL(p); err != nil {
			errs = append(errs, fmt.Errorf("return URL prefix %q: %w", p, err))
		}
	}
	s := &Server{
		store:      o.Store,
		sealer:     o.Sealer,
		jobs:       o.Jobs,
		events:     events.NewEmitter(o.Jobs, o.DeliverEvents, o.EventMaxAttempts),
		insts:      append([]Institution(nil), o.Institutions...),
		bySlug:     map[string]*Institution{},
		byID:       map[int64]*Institution{},
		appKey:     append([]byte(nil), o.AppKey...),
		publicURL:  o.PublicURL,
		returnURLs: append([]string(nil), o.ReturnURLs...),
		dashboard:  o.DashboardURL,
		consentTTL: o.ConsentTTL,
		logger:     o.Logger,
		now:        o.Now,
		purge:      o.UnlinkPurge,
	}
	for i := range s.insts {
		in := &s.insts[i]
		switch {
		case in.Slug == "" || in.Client == nil:
			errs = append(errs, fmt.Errorf("institution %d needs a slug and a client", i))
			continue
		case s.bySlug[in.Slug] != nil:
			errs = append(errs, fmt.Errorf("institution %q appears twice", in.Slug))
		}
		if want := s.publicURL + CallbackPath; in.Client.Institution().RedirectURL != want {
			errs = append(errs, fmt.Errorf("institution %q: the client's redirect URL must be %s", in.Slug, want))
		}
		if in.Name == "" {
			in.Name = in.Slug
		}
		s.bySlug[in.Slug] = in
		s.byID[in.ID] = in
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("link server: %w", err)
	}
	if s.consentTTL <= 0 {
		s.consentTTL = 10 * time.Minute
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	clients := map[string]*consumerapi.Client{}
	for _, in := range s.insts {
		clients[in.Slug] = in.Client
	}
	s.eraser = &userdata.Eraser{Store: s.store, Sealer: s.sealer, Clients: clients, Logger: s.logger, RevokeTimeout: revokeTimeout}
	p, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("link server: %w", err)
	}
	s.pages = p
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves every route with the security headers applied.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// appUserHash names an app user in logs without revealing the reference:
// a keyed hash, so that small reference spaces cannot be enumerated.
func (s *Server) appUserHash(appUser string) string {
	m := hmac.New(sha256.New, s.appKey)
	m.Write([]byte("pfmsync log app user\x00"))
	m.Write([]byte(appUser))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// parseAbsoluteURL parses an absolute http(s) URL without credentials.
func parseAbsoluteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("must be an absolute http(s) URL")
	}
	if u.User != nil {
		return nil, errors.New("must not carry credentials")
	}
	return u, nil
}

// returnURLAllowed reports whether raw starts with one of the configured
// prefixes at a boundary: the same scheme and host, and the prefix's path
// followed by the end, "/", "?" or "#" unless the prefix ends with "/".
// A prefix "https://app.example" therefore never admits
// "https://app.example.evil.net/".
func (s *Server) returnURLAllowed(raw string) bool {
	u, err := parseAbsoluteURL(raw)
	if err != nil || strings.ContainsAny(raw, "\\\r\n\t ") {
		return false
	}
	for _, p := range s.returnURLs {
		pu, err := parseAbsoluteURL(p)
		if err != nil || !strings.EqualFold(pu.Scheme, u.Scheme) || !strings.EqualFold(pu.Host, u.Host) {
			continue
		}
		if !strings.HasPrefix(raw, p) {
			continue
		}
		rest := raw[len(p):]
		if strings.HasSuffix(p, "/") || rest == "" || strings.ContainsAny(rest[:1], "/?#") {
			return true
		}
	}
	return false
}

// withReturnParams appends link_id (when set) and status to a return URL.
func withReturnParams(raw, linkID, status string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if linkID != "" {
		q.Set("link_id", linkID)
	}
	q.Set("status", status)
	u.RawQuery = q.Encode()
	return u.String()
}
