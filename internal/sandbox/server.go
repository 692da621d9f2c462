package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// APIPrefix is where Banno serves the Consumer API and its OpenID provider.
const APIPrefix = "/a/consumer/api/v0"

// Options configure a sandbox institution.
type Options struct {
	// BaseURL is the scheme and host clients reach the sandbox at, e.g.
	// http://127.0.0.1:8080. The issuer is BaseURL+APIPrefix+"/oidc".
	BaseURL string
	// Bank configures the generated data.
	Bank bank.Config
	// Clients are the registered OAuth clients.
	Clients []authserver.Client
	// RotateRefreshTokens and DetectReuse default to true (nil).
	RotateRefreshTokens *bool
	DetectReuse         *bool
	// RefreshTokenTTL is zero for no expiry; AccessTokenTTL zero for 600 s.
	RefreshTokenTTL time.Duration
	AccessTokenTTL  time.Duration
	// Faults injected from the start.
	Faults Faults
	// LongPollHold is how long a task poll with sinceVersion is held
	// waiting for a newer event (default 7 s, as documented).
	LongPollHold time.Duration
	// MaxPageLimit, when set, caps the transactions page size below the
	// documented 500 (the page reports the limit it used), as an institution
	// might: clients must step by the limit they got.
	MaxPageLimit int
	// Behaviour selects how the institution fills the documented gaps
	// (zero: the default, documented-ideal behaviour); replaceable at run
	// time with SetBehaviour.
	Behaviour Behaviour
	// AdminToken, when set, is required as a bearer token on /sandbox/.
	AdminToken string
	// Wall is the wall clock (nil: time.Now); the data clock is separate.
	Wall func() time.Time
	// Logger receives request and fault logs; nil discards.
	Logger *slog.Logger
}

// Server is a sandbox institution.
type Server struct {
	opts         Options
	bank         *bank.Bank
	auth         *authserver.Provider
	clock        *Clock
	faults       *injector
	behaviour    *behaviourBox
	stats        *counters
	tasks        *tasks
	wall         func() time.Time
	longPollHold time.Duration
	logger       *slog.Logger
	handler      http.Handler
}

// New builds a sandbox institution. It does not listen; see Start.
func New(opts Options) (*Server, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" || (base.Path != "" && base.Path != "/") {
		return nil, fmt.Errorf("sandbox base URL must be scheme://host[:port], got %q", opts.BaseURL)
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Wall == nil {
		opts.Wall = time.Now
	}
	if opts.LongPollHold <= 0 {
		opts.LongPollHold = 7 * time.Second
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("sandbox faults: %w", err)
	}
	if err := opts.Behaviour.Validate(); err != nil {
		return nil, fmt.Errorf("sandbox behaviour: %w", err)
	}
	b, err := bank.New(opts.Bank)
	if err != nil {
		return nil, fmt.Errorf("sandbox data: %w", err)
	}
	bankCfg := b.Config()
	auth, err := authserver.New(authserver.Config{
		Issuer:              opts.BaseURL + APIPrefix + "/oidc",
		InstitutionID:       bankCfg.InstitutionID,
		InstitutionName:     bankCfg.InstitutionName,
		Clients:             opts.Clients,
		Directory:           directory{bank: b},
		AccessTokenTTL:      opts.AccessTokenTTL,
		RefreshTokenTTL:     opts.RefreshTokenTTL,
		RotateRefreshTokens: opts.RotateRefreshTokens,
		DetectReuse:         opts.DetectReuse,
		Now:                 opts.Wall,
		Logger:              opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox OpenID provider: %w", err)
	}
	s := &Server{
		opts:         opts,
		bank:         b,
		auth:         auth,
		clock:        NewClock(bankCfg.Start),
		faults:       newInjector(bankCfg.Seed, opts.Faults),
		behaviour:    &behaviourBox{b: opts.Behaviour.clone()},
		stats:        newCounters(),
		tasks:        newTasks(opts.Wall),
		wall:         opts.Wall,
		longPollHold: opts.LongPollHold,
		logger:       opts.Logger,
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves the whole sandbox institution.
func (s *Server) Handler() http.Handler { return s.handler }

// Clock returns the data clock.
func (s *Server) Clock() *Clock { return s.clock }

// Bank returns the generated data.
func (s *Server) Bank() *bank.Bank { return s.bank }

// Auth returns the OpenID provider.
func (s *Server) Auth() *authserver.Provider { return s.auth }

// Issuer is the OpenID Connect issuer URL.
func (s *Server) Issuer() string { return s.opts.BaseURL + APIPrefix + "/oidc" }

// APIBaseURL is the Consumer API base URL.
func (s *Server) APIBaseURL() string { return s.opts.BaseURL + APIPrefix }

// BaseURL is the scheme and host the sandbox is reached at.
func (s *Server) BaseURL() string { return s.opts.BaseURL }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	st.Auth = s.auth.Stats()
	return st
}

// SetFaults replaces the fault configuration at run time.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// Faults returns the current fault configuration, with firing counts.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetBehaviour replaces the behaviour at run time.
func (s *Server) SetBehaviour(b Behaviour) error { return s.behaviour.set(b) }

// Behaviour returns the current behaviour; its Active method lists the
// options that depart from the default.
func (s *Server) Behaviour() Behaviour { return s.behaviour.get() }

// Disconnect revokes every grant user has given (the user removed the app
// under "Connected Apps"); later refreshes fail with invalid_grant.
func (s *Server) Disconnect(userID string) int { return s.auth.Disconnect(userID, "") }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(method, path, scope string, h http.HandlerFunc) {
		mux.Handle(method+" "+APIPrefix+path, s.apiRoute(scope, h))
	}
	api("GET", "/users/{userId}", authserver.ScopeProfile, s.getUser)
	api("GET", "/users/{userId}/accounts", authserver.ScopeAccounts, s.getAccounts)
	api("GET", "/users/{userId}/accounts/{accountId}", authserver.ScopeAccounts, s.getAccount)
	api("GET", "/users/{userId}/accounts/{accountId}/transactions", authserver.ScopeTransactions, s.getTransactions)
	api("PUT", "/users/{userId}/fetch", authserver.ScopeOpenID, s.putFetch)
	api("GET", "/users/{userId}/tasks/{taskId}", authserver.ScopeOpenID, s.getTask)
	mux.Handle(APIPrefix+"/oidc/", s.withFaults(false, s.auth.Handler()))
	s.adminRoutes(mux)
	return s.observe(mux)
}

// observe counts every request by route and status.
func (s *Server) observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = r.Method + " (unmatched)"
			}
			s.stats.request(strings.Replace(route, APIPrefix, "", 1))
			s.stats.response(sw.status)
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection (for resets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Running is a sandbox institution serving on a listener.
type Running struct {
	*Server
	srv    *http.Server
	done   chan error
	cancel context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

// Start listens on addr (e.g. "127.0.0.1:0"), builds the sandbox with
// BaseURL set to the address it got (unless opts.BaseURL is set), and
// serves until Close.
func Start(addr string, opts Options) (*Running, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox listen on %s: %w", addr, err)
	}
	if opts.BaseURL == "" {
		opts.BaseURL = "http://" + ln.Addr().String()
	}
	s, err := New(opts)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	// Requests see a context that Close cancels, so held task polls end.
	base, cancel := context.WithCancel(context.Background())
	r := &Running{
		Server: s,
		srv: &http.Server{
			Handler:           s.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		done:   make(chan error, 1),
		cancel: cancel,
		conns:  map[net.Conn]http.ConnState{},
	}
	r.srv.ConnState = r.track
	go func() { r.done <- r.srv.Serve(ln) }()
	return r, nil
}

// URL is the base URL the sandbox serves at.
func (r *Running) URL() string { return r.BaseURL() }

// Close stops serving: held task polls end at once, other requests in
// flight are waited for until ctx ends.
func (r *Running) Close(ctx context.Context) error {
	r.cancel()
	shut := make(chan error, 1)
	go func() { shut <- r.srv.Shutdown(ctx) }()
	// Shutdown counts an accepted connection that never sent a request as
	// busy for five seconds; clients open such spares. Close them.
	r.closeNew()
	err := <-shut
	if serveErr := <-r.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

// track records each connection's state for closeNew.
func (r *Running) track(c net.Conn, state http.ConnState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if state == http.StateClosed || state == http.StateHijacked {
		delete(r.conns, c)
		return
	}
	r.conns[c] = state
}

// closeNew closes connections that have not started a request.
func (r *Running) closeNew() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, state := range r.conns {
		if state == http.StateNew {
			_ = c.Close()
		}
	}
}
