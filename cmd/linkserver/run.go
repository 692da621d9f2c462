package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/pfmsync/pfmsync/internal/bootstrap"
	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/statuspage"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/telemetry"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// serviceName names the link server in metrics and traces.
const serviceName = "pfmsync-linkserver"

const usage = `usage:
  linkserver [serve]                  serve the consent pages and the link API
  linkserver reseal-tokens [-batch N] re-seal every refresh token under the current key
Configuration comes from the environment; see docs/linkserver.md.
`

// Server timeouts. WriteTimeout covers the slowest handler, the callback
// (code exchange, transaction, and a revocation after a failure).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 15 * time.Second
	cleanupEvery      = 10 * time.Minute
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments: %v", fs.Args())
		}
		return serve(ctx, getenv, stdout, stderr)
	case "reseal-tokens":
		fs := flag.NewFlagSet("reseal-tokens", flag.ContinueOnError)
		fs.SetOutput(stderr)
		batch := fs.Int("batch", 100, "tokens per batch")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 || *batch < 1 {
			return fmt.Errorf("reseal-tokens takes only -batch N (N ≥ 1)")
		}
		return resealTokens(ctx, getenv, stdout, stderr, *batch)
	case "help", "-h", "-help", "--help":
		_, _ = io.WriteString(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q (run linkserver -h for the list)", cmd)
	}
}

// env is what both commands start from: configuration, logger, sealer
// and a migrated datastore; the server also has telemetry.
type env struct {
	cfg    config.Config
	logger *slog.Logger
	sealer *tokenseal.Sealer
	pool   *pgxpool.Pool
	store  *store.Store
	tel    *telemetry.Telemetry // nil unless serving
}

// close releases the pool, then flushes telemetry.
func (e *env) close(ctx context.Context) {
	e.pool.Close()
	if e.tel == nil {
		return
	}
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.tel.Shutdown(flush); err != nil {
		e.logger.Warn("flush telemetry", "error", err)
	}
}

// prepare reads the configuration once, checks what the command needs
// before touching the database, then connects and migrates.
func prepare(ctx context.Context, getenv func(string) string, stderr io.Writer, server bool) (*env, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	logger := logging.New(stderr, cfg.Log.Format, cfg.Log.Level).With("app", "linkserver")
	logger.Info("starting", "version", bootstrap.Version, "config", cfg)

	if server {
		if len(cfg.Institutions) == 0 {
			return nil, fmt.Errorf("no institutions configured: set %s (a JSON list) or %s; see docs/linkserver.md", config.EnvInstitutions, config.EnvInstitutionsFile)
		}
		if cfg.Link.AppKey == "" {
			return nil, fmt.Errorf("%s is required: the shared secret the PFM app signs link tokens with (at least %d characters, e.g. `openssl rand -base64 32`)", config.EnvAppKey, linkserver.MinAppKeyLen)
		}
		if len(cfg.Link.AppKey) < linkserver.MinAppKeyLen {
			return nil, fmt.Errorf("%s is too short: it must be at least %d characters (e.g. `openssl rand -base64 32`)", config.EnvAppKey, linkserver.MinAppKeyLen)
		}
	}
	ring, err := bootstrap.KeyRing(cfg, logger)
	if err != nil {
		return nil, err
	}
	var tel *telemetry.Telemetry
	var dbOpts []bootstrap.DatabaseOption
	if server {
		if tel, err = telemetry.Setup(ctx, cfg.Telemetry, serviceName, logger, telemetry.WithVersion(bootstrap.Version)); err != nil {
			return nil, err
		}
		dbOpts = append(dbOpts, bootstrap.WithQueryTracer(tel.PgxTracer()))
	}
	pool, st, err := bootstrap.OpenDatabase(ctx, cfg, serviceName, logger, dbOpts...)
	if err != nil {
		if tel != nil {
			_ = tel.Shutdown(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	if tel != nil {
		if err := tel.RecordPoolStats(pool); err != nil {
			pool.Close()
			_ = tel.Shutdown(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	sealer, err := bootstrap.Sealer(ctx, cfg, st, ring, logger)
	if err != nil {
		pool.Close()
		if tel != nil {
			_ = tel.Shutdown(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return &env{cfg: cfg, logger: logger, sealer: sealer, pool: pool, store: st, tel: tel}, nil
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	e, err := prepare(ctx, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	cfg, logger := e.cfg, e.logger

	registered, err := bootstrap.RegisterInstitutions(ctx, e.store, cfg)
	if err != nil {
		return err
	}
	clients, err := bootstrap.BankClients(ctx, cfg, logger, nil, consumerapi.WithOTelOptions(e.tel.HTTPClientOptions()...))
	if err != nil {
		return err
	}
	var insts []linkserver.Institution
	defer func() {
		for _, in := range insts {
			in.Client.Close()
		}
	}()
	for _, ci := range cfg.Institutions {
		insts = append(insts, linkserver.Institution{ID: registered[ci.Slug].ID, Slug: ci.Slug, Name: ci.Name, Client: clients[ci.Slug]})
	}

	// Insert-only: no queues, no workers, never started.
	riverClient, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{
		Logger:     logger,
		Middleware: []rivertype.Middleware{e.tel.RiverMiddleware()},
	})
	if err != nil {
		return fmt.Errorf("job client: %w", err)
	}

	ls, err := linkserver.New(linkserver.Options{
		Store:            e.store,
		Sealer:           e.sealer,
		Jobs:             riverClient,
		DeliverEvents:    cfg.Events.Enabled(),
		EventMaxAttempts: cfg.Events.MaxAttempts,
		Institutions:     insts,
		AppKey:           []byte(cfg.Link.AppKey),
		PublicURL:        cfg.Link.PublicURL,
		ReturnURLs:       cfg.Link.ReturnURLs,
		DashboardURL:     cfg.Link.DashboardURL,
		ConsentTTL:       cfg.Link.ConsentTTL,
		Logger:           logger,
		UnlinkPurge:      cfg.Data.UnlinkPurge,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Link.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Link.Addr, err)
	}
	srv := &http.Server{
		Handler: e.tel.HTTPHandler(ls, telemetry.ServerOptions{
			ServerName: publicHost(cfg.Link.PublicURL),
			// The app backend's API calls may continue its traces; the
			// browser pages always start new ones.
			TrustTraceContext: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") },
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	cleanupDone := make(chan struct{})
	go func() {
		defer close(cleanupDone)
		ls.RunCleanup(cleanupCtx, cleanupEvery)
	}()
	if admin := serveAdmin(e); admin != nil {
		defer func() {
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			if err := admin.Shutdown(stop); err != nil {
				logger.Warn("stop admin listener", "error", err)
			}
		}()
	}
	fmt.Fprintf(stdout, "link server listening on http://%s (public URL %s)\n", ln.Addr(), cfg.Link.PublicURL)
	logger.Info("link server listening", "addr", ln.Addr().String(), "public_url", cfg.Link.PublicURL, "institutions", len(insts))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	stopCleanup()
	<-cleanupDone
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("link server stopped")
	return nil
}

// serveAdmin starts the operator listener on PFMSYNC_ADMIN_ADDR ("" or
// "off": none): /metrics, and whatever mountStatusPage adds. A listener
// that cannot start is logged and the link server runs without it.
func serveAdmin(e *env) *telemetry.AdminServer {
	addr := e.cfg.Telemetry.AdminAddr
	if addr == "" {
		return nil
	}
	adminMux := http.NewServeMux()
	adminMux.Handle("GET /metrics", e.tel.Handler())
	mountStatusPage(adminMux, e)
	srv, err := telemetry.ListenAdmin(addr, adminMux, e.logger)
	if err != nil {
		e.logger.Error("admin listener not started; running without it", "error", err)
		return nil
	}
	e.logger.Info("admin listening", "addr", srv.Addr(), "metrics", "/metrics")
	return srv
}

// mountStatusPage mounts the operator status page at "/" on the admin
// listener's mux, next to /metrics.
func mountStatusPage(mux *http.ServeMux, e *env) {
	page, err := statuspage.New(statuspage.Options{
		Store:          e.store,
		Logger:         e.logger.With("component", "statuspage"),
		AdminToken:     e.cfg.Telemetry.AdminToken,
		RefreshSeconds: 30,
	})
	if err != nil {
		e.logger.Error("status page not mounted", "error", err)
		return
	}
	mux.Handle("/", page)
}

// publicHost is the host of the public URL, reported as the server's
// address in metrics and spans.
func publicHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	return u.Host
}

func resealTokens(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, batch int) error {
	e, err := prepare(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer e.close(ctx)
	sealer := e.sealer
	rep, err := linktoken.ResealAll(ctx, e.store, sealer, batch, e.logger)
	fmt.Fprintf(stdout, "re-sealed %d tokens under key %s; %d changed meanwhile (already current); %d could not be opened\n",
		rep.Resealed, sealer.CurrentKeyID(), rep.Changed, rep.Failed)
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d tokens could not be opened (their link ids are in the log): keep every old key in the ring until they are dealt with", rep.Failed)
	}
	return nil
}
