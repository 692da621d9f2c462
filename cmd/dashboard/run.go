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

	"github.com/pfmsync/pfmsync/internal/dashboard"
	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/reporting"
)

// Environment variables: each flag's default.
const (
	envAddr        = "PFMSYNC_DASHBOARD_ADDR"
	envDatabaseURL = "PFMSYNC_DASHBOARD_DATABASE_URL"
	envLinkURL     = "PFMSYNC_PUBLIC_URL"
	envAppKey      = "PFMSYNC_APP_KEY"
	envLogFormat   = "PFMSYNC_LOG_FORMAT"
	envLogLevel    = "PFMSYNC_LOG_LEVEL"
	defaultAddr    = "127.0.0.1:8083"
)

// Server timeouts.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = time.Minute
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 15 * time.Second
)

// options is the command's configuration, read once.
type options struct {
	addr, databaseURL, linkURL, appKey string
	logFormat, logLevel                string
}

// String is the configuration with the database password and the app key
// redacted.
func (o options) String() string {
	key := "(none)"
	if o.appKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("addr=%s database_url=%s link_url=%s app_key=%s", o.addr, redactURL(o.databaseURL), o.linkURL, key)
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	def := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	var o options
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", def(envAddr, defaultAddr), "listen address (env "+envAddr+")")
	fs.StringVar(&o.databaseURL, "database-url", getenv(envDatabaseURL), "Postgres URL of a login role that is a member of pfm_reader (env "+envDatabaseURL+"; required)")
	fs.StringVar(&o.linkURL, "link-url", getenv(envLinkURL), "the link server's public URL, for Reconnect (env "+envLinkURL+")")
	fs.StringVar(&o.appKey, "app-key", getenv(envAppKey), "the app key that signs link tokens, for Reconnect (env "+envAppKey+")")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.logFormat, o.logLevel = def(envLogFormat, "text"), def(envLogLevel, "info")
	switch {
	case o.databaseURL == "":
		return o, fmt.Errorf("-database-url (or %s) is required: a login role that is a member of pfm_reader (see docs/dashboard.md)", envDatabaseURL)
	case (o.linkURL == "") != (o.appKey == ""):
		return o, fmt.Errorf("reconnect needs both -link-url (%s) and -app-key (%s), or neither", envLinkURL, envAppKey)
	case o.appKey != "" && len(o.appKey) < linkserver.MinAppKeyLen:
		return o, fmt.Errorf("-app-key (%s) is too short: at least %d characters", envAppKey, linkserver.MinAppKeyLen)
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("%s: %w", envLogLevel, err)
	}
	logger := logging.New(stderr, o.logFormat, level).With("app", "dashboard")
	logger.Info("starting", "config", o.String())

	poolCfg, err := pgxpool.ParseConfig(o.databaseURL)
	if err != nil {
		return fmt.Errorf("parse -database-url: %s", strings.ReplaceAll(err.Error(), o.databaseURL, redactURL(o.databaseURL)))
	}
	poolCfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer pool.Close()
	reader := reporting.New(pool)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = reader.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("read the reporting views (is the role a member of pfm_reader, and the database migrated?): %w", err)
	}

	h, err := dashboard.New(dashboard.Options{
		Reader: reader, Logger: logger, LinkURL: o.linkURL, AppKey: []byte(o.appKey),
		HTTPS: strings.HasPrefix(o.linkURL, "https://"),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "dashboard listening on http://%s/\n", ln.Addr())
	logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// redactURL hides a database URL's password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[unparseable URL]"
	}
	return u.Redacted()
}
