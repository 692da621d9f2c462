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
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/telemetry"
)

// serviceName names the worker in metrics and traces.
const serviceName = "pfmsync-worker"

const usage = `usage: worker                     run the sync worker until interrupted
       worker migrate              apply pending database migrations and exit
       worker sync-now LINK_ID     queue a sync of one link now
       worker resync LINK_ID       forget a link's sync progress and queue a full re-sync
       worker disable LINK_ID      stop syncing a link
       worker enable LINK_ID       resume syncing a disabled link

Configuration comes from PFMSYNC_* environment variables (docs/operations.md).`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := logging.New(stderr, cfg.Log.Format, cfg.Log.Level).With("app", "worker")
	if len(args) == 0 {
		return serve(ctx, cfg, logger)
	}
	if len(args) == 1 && args[0] == "migrate" {
		cfg.Database.Migrate = true
		pool, _, err := bootstrap.OpenDatabase(ctx, cfg, "pfmsync-migrate", logger)
		if err != nil {
			return err
		}
		pool.Close()
		fmt.Fprintln(stdout, "database schema is up to date")
		return nil
	}
	if len(args) != 2 {
		fmt.Fprintln(stderr, usage)
		return errors.New("unexpected arguments")
	}
	return admin(ctx, cfg, logger, args[0], args[1], stdout)
}

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
	if err := tel.RegisterDBGauges(st, jobs.QueueSync, jobs.QueueMaintenance); err != nil {
		return err
	}
	if _, err := bootstrap.RegisterInstitutions(ctx, st, cfg); err != nil {
		return err
	}
	sealer, err := bootstrap.Sealer(cfg, logger)
	if err != nil {
		return err
	}
	transport := jobs.CountingTransport(tel.BankTransport(nil, cfg.Institutions))
	clients, err := bootstrap.BankClients(ctx, cfg, logger, transport, consumerapi.WithOTelOptions(tel.HTTPClientOptions()...))
	if err != nil {
		return err
	}
	var institutions []jobs.Institution
	for _, in := range cfg.Institutions {
		institutions = append(institutions, jobs.Institution{Slug: in.Slug, Client: clients[in.Slug], MaxConcurrentSyncs: in.MaxConcurrentSyncs})
	}
	w := cfg.Worker
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Store:        st,
		Sealer:       sealer,
		Institutions: institutions,
		Logger:       logger,
		Metrics:      tel.SyncMetrics(),
		Config: jobs.SyncConfig{
			BackfillDepth:             time.Duration(w.BackfillDays) * 24 * time.Hour,
			BackfillWindow:            time.Duration(w.BackfillWindowDays) * 24 * time.Hour,
			Overlap:                   w.Overlap,
			DisableFetchOnInteractive: !w.FetchOnInteractive,
			FetchOnScheduled:          w.FetchOnScheduled,
			FetchMaxWait:              w.FetchMaxWait,
			JobTimeout:                w.JobTimeout,
		},
	})
	client, err := jobs.NewClient(pool, st, syncer, jobs.ClientConfig{
		SyncConcurrency:      w.Concurrency,
		ScheduleEvery:        w.ScheduleEvery,
		Schedule:             jobs.ScheduleConfig{Batch: w.ScheduleBatch},
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

// admin runs one operator command against a link.
func admin(ctx context.Context, cfg config.Config, logger *slog.Logger, cmd, linkID string, stdout io.Writer) error {
	switch cmd {
	case "sync-now", "resync", "disable", "enable":
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	pool, st, err := bootstrap.OpenDatabase(ctx, cfg, "pfmsync-worker-admin", logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	link, err := st.Link(ctx, linkID)
	if err != nil {
		return err
	}
	// An insert-only River client: it never works jobs.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("create River client: %w", err)
	}
	queue := func(tx *store.Store) error {
		queued, err := jobs.EnqueueSync(ctx, client, tx.Tx(), link.ID, jobs.TriggerManual)
		if err != nil {
			return err
		}
		if queued {
			fmt.Fprintf(stdout, "queued a sync of link %s\n", link.ID)
		} else {
			fmt.Fprintf(stdout, "a sync of link %s is already queued or running\n", link.ID)
		}
		return nil
	}
	switch cmd {
	case "sync-now":
		if link.Status != pfm.LinkActive {
			return fmt.Errorf("link %s is %s: only active links sync (enable it, or the user must consent again)", link.ID, link.Status)
		}
		return st.Transact(ctx, queue)
	case "resync":
		if link.Status != pfm.LinkActive {
			return fmt.Errorf("link %s is %s: only active links sync", link.ID, link.Status)
		}
		return st.Transact(ctx, func(tx *store.Store) error {
			n, err := tx.ResetSyncState(ctx, link.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "reset sync progress of %d accounts\n", n)
			return queue(tx)
		})
	case "disable":
		if err := st.SetLinkStatus(ctx, link.ID, pfm.LinkDisabled, "", ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "link %s disabled\n", link.ID)
		return nil
	default: // enable
		if link.Status != pfm.LinkDisabled {
			return fmt.Errorf("link %s is %s, not disabled", link.ID, link.Status)
		}
		if err := st.SetLinkStatus(ctx, link.ID, pfm.LinkActive, "", ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "link %s enabled; it syncs at the next scheduler pass\n", link.ID)
		return nil
	}
}
