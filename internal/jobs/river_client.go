package jobs

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/store"
)

// ClientConfig configures the worker's River client.
type ClientConfig struct {
	// SyncConcurrency is how many syncs this process runs at once
	// (default 10).
	SyncConcurrency int
	// ScheduleEvery is the scheduler's period (default 30 s).
	ScheduleEvery time.Duration
	// Schedule tunes each scheduler pass.
	Schedule ScheduleConfig
	// RescueStuckJobsAfter is when River re-queues a job whose process
	// died; it must exceed the sync's JobTimeout (default JobTimeout+15m).
	RescueStuckJobsAfter time.Duration
	// Retry is the backoff of failed syncs.
	Retry RetryPolicy
	// Events configures webhook delivery; EventsConcurrency is how many
	// deliveries run at once (default 4).
	Events            events.DeliveryConfig
	EventsConcurrency int
	// EventsMaxAttempts bounds one event's delivery attempts before it is
	// dead (default events.DefaultMaxAttempts).
	EventsMaxAttempts int
	// Middleware wraps job execution and insertion (telemetry).
	Middleware []rivertype.Middleware
	Logger     *slog.Logger
}

// NewClient builds the worker's River client: the sync and maintenance
// queues, the workers, and the periodic scheduler job (run on start).
// Several processes may run it against one database: River distributes
// jobs, unique jobs keep one sync per link, and the scheduler claims links
// with SKIP LOCKED.
func NewClient(pool *pgxpool.Pool, st *store.Store, syncer *Syncer, cfg ClientConfig) (*river.Client[pgx.Tx], error) {
	if cfg.SyncConcurrency <= 0 {
		cfg.SyncConcurrency = 10
	}
	if cfg.ScheduleEvery <= 0 {
		cfg.ScheduleEvery = 30 * time.Second
	}
	if cfg.RescueStuckJobsAfter <= syncer.cfg.JobTimeout {
		cfg.RescueStuckJobsAfter = syncer.cfg.JobTimeout + 15*time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, NewSyncWorker(syncer, cfg.Retry)); err != nil {
		return nil, fmt.Errorf("register sync worker: %w", err)
	}
	if cfg.Schedule.EventsMaxAttempts <= 0 {
		cfg.Schedule.EventsMaxAttempts = cfg.EventsMaxAttempts
	}
	if err := river.AddWorkerSafely(workers, NewScheduleWorker(st, syncer, cfg.Schedule, cfg.Logger)); err != nil {
		return nil, fmt.Errorf("register scheduler: %w", err)
	}
	if err := river.AddWorkerSafely(workers, NewTransferVerdictsWorker(st, cfg.Logger)); err != nil {
		return nil, fmt.Errorf("register transfer verdicts worker: %w", err)
	}
	if cfg.EventsConcurrency <= 0 {
		cfg.EventsConcurrency = 4
	}
	deliver, err := events.NewDeliverWorker(st, cfg.Events)
	if err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, deliver); err != nil {
		return nil, fmt.Errorf("register event delivery worker: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{
			QueueSync:        {MaxWorkers: cfg.SyncConcurrency},
			QueueMaintenance: {MaxWorkers: 2},
			events.Queue:     {MaxWorkers: cfg.EventsConcurrency},
		},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.ScheduleEvery),
				func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
		JobTimeout:           syncer.cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		RetryPolicy:          &cfg.Retry,
		Middleware:           cfg.Middleware,
		Logger:               cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("create River client: %w", err)
	}
	// The syncer's events queue their deliveries with this client.
	syncer.events = events.NewEmitter(client, cfg.Events.Enabled(), cfg.EventsMaxAttempts)
	syncer.verdicts = client
	return client, nil
}
