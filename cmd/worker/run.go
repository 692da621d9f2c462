package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/pfmsync/pfmsync/internal/bootstrap"
	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/probe"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/telemetry"
	"github.com/pfmsync/pfmsync/internal/userdata"
	"github.com/pfmsync/pfmsync/internal/workercmd"
)

// serviceName names the worker in metrics and traces.
const serviceName = "pfmsync-worker"

// run parses the command line, reads the configuration (not for -h), and
// runs the worker or one operator command.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, err := workercmd.Parse(args)
	if errors.Is(err, workercmd.ErrHelp) {
		_, err = fmt.Fprint(stdout, workercmd.Usage)
		return err
	}
	if err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if !cmd.OneShot() {
		return serve(ctx, cfg, logging.New(stderr, cfg.Log.Format, cfg.Log.Level).With("app", "worker"))
	}
	// A one-shot command prints its result on stdout and logs only
	// warnings and errors, as text, for a person at a terminal.
	return runOnce(ctx, cfg, cmd, logging.New(stderr, "text", max(cfg.Log.Level, slog.LevelWarn)), stdout)
}

// runOnce runs one operator command against the database.
func runOnce(ctx context.Context, cfg config.Config, cmd workercmd.Command, logger *slog.Logger, stdout io.Writer) error {
	if cmd.Name == workercmd.Migrate {
		cfg.Database.Migrate = true
	}
	pool, st, err := bootstrap.OpenDatabase(ctx, cfg, "pfmsync-worker-"+cmd.Name, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	if cmd.Name == workercmd.Migrate {
		_, err := fmt.Fprintln(stdout, "database schema is up to date")
		return err
	}
	// An insert-only River client: it never works jobs.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("create River client: %w", err)
	}
	admin := workercmd.Admin{Store: st, Jobs: client, Out: stdout}
	switch cmd.Name {
	case workercmd.EraseUser:
		// Revoking grants needs the bank clients and the token keys.
		if admin.Eraser, err = eraser(ctx, cfg, st, logger); err != nil {
			return err
		}
	case workercmd.ProbeInstitution:
		if admin.Prober, err = prober(ctx, cfg, st, logger); err != nil {
			return err
		}
	}
	return admin.Run(ctx, cmd)
}

// eraser builds what erase-user needs to revoke grants at the banks.
func eraser(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (*userdata.Eraser, error) {
	sealer, err := bootstrap.KeyRingSealer(ctx, cfg, st, logger)
	if err != nil {
		return nil, err
	}
	clients, err := bootstrap.BankClients(ctx, cfg, logger, nil)
	if err != nil {
		return nil, err
	}
	return &userdata.Eraser{Store: st, Sealer: sealer, Clients: clients, Logger: logger}, nil
}

// prober builds what probe-institution needs: the token keys and one
// client per institution that takes from the institution's request budget
// shared with every worker process.
func prober(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (*probe.Prober, error) {
	sealer, err := bootstrap.KeyRingSealer(ctx, cfg, st, logger)
	if err != nil {
		return nil, err
	}
	clients := map[string]*consumerapi.Client{}
	for _, in := range cfg.Institutions {
		limiter, err := jobs.NewInstitutionLimiter(ctx, st, jobs.LimiterConfig{
			Slug: in.Slug, RequestsPerSecond: in.RequestsPerSecond, Burst: in.Burst, MaxConcurrentSyncs: in.MaxConcurrentSyncs,
		}, logger)
		if err != nil {
			return nil, err
		}
		if clients[in.Slug], err = bootstrap.BankClient(ctx, cfg, in, logger, nil, consumerapi.WithRequestGate(limiter)); err != nil {
			return nil, err
		}
	}
	return &probe.Prober{Store: st, Sealer: sealer, Clients: clients, Logger: logger}, nil
}

// budgetConns is the size of the pool the institutions' shared request
// budgets and sync slots use, apart from the worker's main pool.
const budgetConns = 2

// serve runs the worker until ctx ends.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	logger.Info("starting", "version", bootstrap.Version, "config", cfg)
	tel, err := telemetry.Setup(ctx, cfg.Telemetry, serviceName, logger, telemetry.WithVersion(bootstrap.Version))
	if err != nil {
		return err
	}
	defer func() {
		// Last, so that the final spans and metrics are flushed.
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if serr := tel.Shutdown(flush); serr != nil {
			logger.Warn("flush telemetry", "error", serr)
		}
	}()
	pool, st, err := bootstrap.OpenDatabase(ctx, cfg, serviceName, logger, bootstrap.WithQueryTracer(tel.PgxTracer()))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := tel.RecordPoolStats(pool); err != nil {
		return err
	}
	if err := tel.RegisterDBGauges(st, jobs.QueueSync, jobs.QueueMaintenance, events.Queue); err != nil {
		return err
	}
	if _, err := bootstrap.RegisterInstitutions(ctx, st, cfg); err != nil {
		return err
	}
	sealer, err := bootstrap.KeyRingSealer(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	transport := jobs.CountingTransport(tel.BankTransport(nil, cfg.Institutions))
	// The shared request budget has connections of its own. A sync holds
	// a pooled connection while it refreshes its token (the rotated token
	// commits before it is used), and that refresh waits on the budget:
	// with every connection held by refreshes, a budget take from the same
	// pool would wait for a connection that frees up only once it is
	// granted.
	budgetCfg := cfg
	budgetCfg.Database.MaxConns, budgetCfg.Database.Migrate = budgetConns, false
	budgetPool, budgetStore, err := bootstrap.OpenDatabase(ctx, budgetCfg, serviceName+"-budget", logger)
	if err != nil {
		return err
	}
	defer budgetPool.Close()
	// Every worker process shares each institution's request budget and
	// pause through the database, and its sync slots when
	// max_concurrent_syncs is set; otherwise each process runs up to its
	// concurrency.
	var institutions []jobs.Institution
	for _, in := range cfg.Institutions {
		limiter, err := jobs.NewInstitutionLimiter(ctx, budgetStore, jobs.LimiterConfig{
			Slug: in.Slug, RequestsPerSecond: in.RequestsPerSecond, Burst: in.Burst, MaxConcurrentSyncs: in.MaxConcurrentSyncs,
		}, logger)
		if err != nil {
			return err
		}
		client, err := bootstrap.BankClient(ctx, cfg, in, logger, transport,
			consumerapi.WithOTelOptions(tel.HTTPClientOptions()...), consumerapi.WithRequestGate(limiter))
		if err != nil {
			return err
		}
		institutions = append(institutions, jobs.Institution{Slug: in.Slug, Client: client, Limiter: limiter, MaxConcurrentSyncs: cfg.Worker.Concurrency})
	}
	w := cfg.Worker
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Store:        st,
		Sealer:       sealer,
		Institutions: institutions,
		Logger:       logger,
		Metrics:      tel.SyncMetrics(),
		Config:       jobs.SyncConfigFrom(w),
	})
	delivery, err := events.DeliveryConfigFrom(cfg.Events, tel.EventMetrics(), logger.With("component", "events"))
	if err != nil {
		return err
	}
	if err := tel.RegisterEventGauges(st); err != nil {
		return err
	}
	client, err := jobs.NewClient(pool, st, syncer, jobs.ClientConfig{
		Events:            delivery,
		EventsConcurrency: cfg.Events.Concurrency,
		EventsMaxAttempts: cfg.Events.MaxAttempts,
		SyncConcurrency:   w.Concurrency,
		ScheduleEvery:     w.ScheduleEvery,
		Schedule: jobs.ScheduleConfig{
			Batch:        w.ScheduleBatch,
			KeepSyncRuns: time.Duration(cfg.Data.SyncRunDays) * config.Day,
			Retention: jobs.Retention{
				RevokedLinks: time.Duration(cfg.Data.RevokedLinkDays) * config.Day,
				ChangeFeed:   time.Duration(cfg.Data.ChangeFeedDays) * config.Day,
				Events:       time.Duration(cfg.Data.EventDays) * config.Day,
			},
		},
		RescueStuckJobsAfter: w.RescueAfter,
		Retry:                jobs.RetryPolicy{Base: w.RetryBase, Max: w.RetryMax},
		Middleware:           []rivertype.Middleware{tel.RiverMiddleware()},
		Logger:               logger.With("component", "river"),
	})
	if err != nil {
		return err
	}
	if metrics := serveMetrics(cfg.Telemetry, tel, logger); metrics != nil {
		defer func() {
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := metrics.Shutdown(stop); err != nil {
				logger.Warn("stop metrics listener", "error", err)
			}
		}()
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start River client: %w", err)
	}
	logger.Info("worker running", "concurrency", w.Concurrency, "institutions", len(institutions))
	<-ctx.Done()

	// Soft stop: running syncs may finish; after the timeout they are
	// cancelled, and River runs them again later (their progress is kept).
	logger.Info("stopping: waiting for running syncs", "timeout", w.ShutdownTimeout)
	soft, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.ShutdownTimeout)
	defer cancel()
	if err := client.Stop(soft); err != nil {
		logger.Warn("running syncs did not finish in time; cancelling them", "error", err)
		hard, cancelHard := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancelHard()
		if err := client.StopAndCancel(hard); err != nil {
			return fmt.Errorf("stop River client: %w", err)
		}
	}
	logger.Info("stopped")
	return nil
}

// serveMetrics serves /metrics on the metrics address ("" disables it),
// and Go's profiling handlers under /debug/pprof/ when enabled. A listener
// that cannot start is logged and the worker runs without it: syncing
// matters more than its metrics (Prometheus's up metric reports the gap).
func serveMetrics(cfg config.Telemetry, tel *telemetry.Telemetry, logger *slog.Logger) *telemetry.AdminServer {
	addr := cfg.MetricsAddr
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.Handler())
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	srv, err := telemetry.ListenAdmin(addr, mux, logger)
	if err != nil {
		logger.Error("metrics listener not started; running without it", "error", err)
		return nil
	}
	logger.Info("metrics listening", "addr", srv.Addr(), "path", "/metrics", "pprof", cfg.Pprof)
	return srv
}
