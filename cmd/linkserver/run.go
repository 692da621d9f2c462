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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pfmsync/pfmsync/internal/bootstrap"
	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

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
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// env is what both commands start from: configuration, logger, sealer
// and a migrated datastore.
type env struct {
	cfg    config.Config
	logger *slog.Logger
	sealer *tokenseal.Sealer
	pool   *pgxpool.Pool
	store  *store.Store
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
	sealer, err := bootstrap.Sealer(cfg, logger)
	if err != nil {
		return nil, err
	}
	pool, st, err := bootstrap.OpenDatabase(ctx, cfg, "pfmsync-linkserver", logger)
	if err != nil {
		return nil, err
	}
	return &env{cfg: cfg, logger: logger, sealer: sealer, pool: pool, store: st}, nil
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	e, err := prepare(ctx, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer e.pool.Close()
	cfg, logger := e.cfg, e.logger

	registered, err := bootstrap.RegisterInstitutions(ctx, e.store, cfg)
	if err != nil {
		return err
	}
	clients, err := bootstrap.BankClients(ctx, cfg, logger, nil)
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
	riverClient, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("job client: %w", err)
	}

	ls, err := linkserver.New(linkserver.Options{
		Store:        e.store,
		Sealer:       e.sealer,
		Jobs:         riverClient,
		Institutions: insts,
		AppKey:       []byte(cfg.Link.AppKey),
		PublicURL:    cfg.Link.PublicURL,
		ReturnURLs:   cfg.Link.ReturnURLs,
		ConsentTTL:   cfg.Link.ConsentTTL,
		Logger:       logger,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Link.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Link.Addr, err)
	}
	srv := &http.Server{
		Handler:           ls,
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

func resealTokens(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, batch int) error {
	e, err := prepare(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer e.pool.Close()
	sealer := e.sealer
	rep, err := linkserver.ResealTokens(ctx, e.store, sealer, batch, e.logger)
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
