package statuspage

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pfmsync/pfmsync/internal/store"
)

// queryTimeout bounds the database reads of one page.
const queryTimeout = 10 * time.Second

// Options configure the status page handler.
type Options struct {
	// Store is the datastore (required).
	Store *store.Store
	// Logger receives the handler's logs (default: discard).
	Logger *slog.Logger
	// AdminToken, when set, is the password every request must present
	// with HTTP Basic authentication (any user name). Empty leaves the
	// pages open: only for an admin port nobody else can reach.
	AdminToken string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RefreshSeconds, when positive, makes browsers reload the pages
	// that often (a meta refresh: no script). Zero turns it off.
	RefreshSeconds int
}

// handler serves the status pages.
type handler struct {
	store     *store.Store
	logger    *slog.Logger
	tokenHash *[sha256.Size]byte // nil when no token is required
	now       func() time.Time
	refresh   int
	pages     *pages
	mux       http.Handler
}

// New validates o and returns the status page handler, to be mounted at
// "/" of the admin server.
func New(o Options) (http.Handler, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if o.RefreshSeconds < 0 {
		errs = append(errs, fmt.Errorf("the refresh interval must not be negative, got %d", o.RefreshSeconds))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	p, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	h := &handler{
		store:   o.Store,
		logger:  o.Logger,
		now:     o.Now,
		refresh: o.RefreshSeconds,
		pages:   p,
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if o.AdminToken != "" {
		sum := sha256.Sum256([]byte(o.AdminToken))
		h.tokenHash = &sum
	}
	h.mux = h.routes()
	return h, nil
}

// ServeHTTP serves every route behind the security headers and, when an
// admin token is set, Basic authentication.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// routes builds the handler's routes.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.handleOverview)
	mux.HandleFunc("GET /links", h.handleLinks)
	mux.HandleFunc("GET /links/{id}", h.handleLink)
	mux.HandleFunc("GET /runs", h.handleRuns)
	mux.HandleFunc("GET "+stylesheetPath, h.handleStylesheet)
	mux.HandleFunc("GET "+faviconPath, h.handleFavicon)
	mux.HandleFunc("GET /", h.handleNotFound)
	return securityHeaders(h.requireToken(mux))
}

// handleNotFound answers every other path (other methods get 405: the
// pages are read-only).
func (h *handler) handleNotFound(w http.ResponseWriter, r *http.Request) {
	h.renderMessage(w, r, http.StatusNotFound, "Not found", "There is no status page at this address.")
}
