package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// ScheduleArgs is the periodic job that queues syncs for due links.
type ScheduleArgs struct{}

// Kind is the River job kind.
func (ScheduleArgs) Kind() string { return "schedule_syncs" }

// InsertOpts keeps at most one scheduler job queued.
func (ScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueMaintenance,
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: syncUniqueStates},
	}
}

// ScheduleConfig tunes the scheduler.
type ScheduleConfig struct {
	// Batch is how many due links one transaction claims (default 1000).
	Batch int
	// MaxBatches bounds the batches of one pass (default 100).
	MaxBatches int
	// KeepSyncRuns is how long sync_runs history is kept (default 90
	// days); each pass deletes at most 10,000 older rows.
	KeepSyncRuns time.Duration
	// Retention deletes old data on each pass; zero ages keep it.
	Retention Retention
	// EventsMaxAttempts bounds the attempts of a delivery the sweeper
	// queues again (0: events.DefaultMaxAttempts).
	EventsMaxAttempts int
}

// discardLookback bounds how far back the scheduler looks for discarded
// sync jobs (River keeps discarded jobs for a week by default).
const discardLookback = 24 * time.Hour

// Retention is how long data is kept before the scheduler deletes it; a
// zero age keeps it forever. Each pass deletes at most retentionBatch rows
// of each kind, so a backlog drains over several passes.
type Retention struct {
	// RevokedLinks deletes links revoked for longer, with all their data.
	RevokedLinks time.Duration
	// ChangeFeed deletes change-feed entries older than this; the app
	// users' horizons move so old cursors get an error.
	ChangeFeed time.Duration
	// Events deletes events older than this once their webhook is settled
	// (never a pending one); the app users' events horizons move so old
	// cursors get an error.
	Events time.Duration
}

// retentionBatch bounds the rows of one kind one pass deletes.
const retentionBatch = 10000

// revokedLinkBatch bounds the links one pass purges.
const revokedLinkBatch = 100

// ScheduleWorker claims due links and inserts their sync jobs in the same
// transaction that moves their next_sync_at, batch by batch.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	store  *store.Store
	syncer *Syncer
	cfg    ScheduleConfig
	logger *slog.Logger
}

// NewScheduleWorker returns the scheduler worker.
func NewScheduleWorker(st *store.Store, syncer *Syncer, cfg ScheduleConfig, logger *slog.Logger) *ScheduleWorker {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = 100
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ScheduleWorker{store: st, syncer: syncer, cfg: cfg, logger: logger}
}

// Work runs one scheduler pass.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("scheduler needs its River client: %w", err)
	}
	now := time.Now()
	// A sync job that used up its attempts is recorded on its link and
	// the link made due, so that this very pass queues it again.
	if ids, derr := w.store.RescheduleDiscardedSyncs(ctx, SyncArgs{}.Kind(), now.Add(-discardLookback), pfm.ClassJobDiscarded); derr != nil {
		w.logger.Warn("reschedule discarded syncs", "error", derr)
	} else if len(ids) > 0 {
		w.logger.Warn("discarded syncs scheduled again", "links", ids)
	}
	res, err := Schedule(ctx, w.store, client, w.syncer.Jitter, w.cfg, now)
	w.syncer.metrics.LinksScheduled(res.Claimed, res.Inserted, res.Skipped, res.Duration)
	keep := w.cfg.KeepSyncRuns
	if keep <= 0 {
		keep = 90 * 24 * time.Hour
	}
	if pruned, perr := w.store.DeleteSyncRunsBefore(ctx, now.Add(-keep), 10000); perr != nil {
		w.logger.Warn("prune sync run history", "error", perr)
	} else if pruned > 0 {
		w.logger.Info("sync run history pruned", "deleted", pruned, "older_than", keep)
	}
	w.applyRetention(ctx, now)
	if _, ferr := w.store.FoldEventDeliveryCounts(ctx); ferr != nil {
		w.logger.Warn("fold event delivery counts", "error", ferr)
	}
	if n, serr := SweepEventDeliveries(ctx, w.store, client, w.cfg.EventsMaxAttempts); serr != nil {
		w.logger.Warn("sweep event deliveries", "error", serr)
	} else if n > 0 {
		w.logger.Warn("pending events had no delivery job; queued again", "events", n)
	}
	if res.Claimed > 0 {
		w.logger.Info("syncs scheduled", "claimed", res.Claimed, "inserted", res.Inserted,
			"already_queued", res.Skipped, "duration", res.Duration.Round(time.Millisecond))
	}
	return err
}

// applyRetention deletes what the retention settings say is too old. A
// failure is logged and retried at the next pass.
func (w *ScheduleWorker) applyRetention(ctx context.Context, now time.Time) {
	r := w.cfg.Retention
	if r.RevokedLinks > 0 {
		if n, err := w.store.PurgeRevokedLinks(ctx, now.Add(-r.RevokedLinks), revokedLinkBatch); err != nil {
			w.logger.Warn("purge revoked links", "error", err)
		} else if n > 0 {
			w.logger.Info("revoked links purged", "deleted", n, "revoked_for_more_than", r.RevokedLinks)
		}
	}
	if r.ChangeFeed > 0 {
		if n, err := w.store.DeleteTransactionChangesBefore(ctx, now.Add(-r.ChangeFeed), retentionBatch); err != nil {
			w.logger.Warn("prune change feed", "error", err)
		} else if n > 0 {
			w.logger.Info("change feed pruned", "deleted", n, "older_than", r.ChangeFeed)
		}
	}
	if r.Events > 0 {
		if n, err := w.store.DeleteEventsBefore(ctx, now.Add(-r.Events), retentionBatch); err != nil {
			w.logger.Warn("prune events", "error", err)
		} else if n > 0 {
			w.logger.Info("events pruned", "deleted", n, "older_than", r.Events)
		}
	}
}

// sweepBatch bounds the events one pass queues again.
const sweepBatch = 1000

// SweepEventDeliveries queues a delivery job again for every pending event
// that has none left in a non-final state (a job row deleted by hand, or
// discarded before it settled the event), so the link's later events,
// which wait for it, never wait forever. It returns how many it queued (at
// most sweepBatch per call); maxAttempts bounds each new job's attempts
// (0: events.DefaultMaxAttempts).
func SweepEventDeliveries(ctx context.Context, st *store.Store, client *river.Client[pgx.Tx], maxAttempts int) (int, error) {
	if maxAttempts <= 0 {
		maxAttempts = events.DefaultMaxAttempts
	}
	var n int
	err := st.Transact(ctx, func(tx *store.Store) error {
		seqs, err := tx.PendingEventsWithoutJob(ctx, events.DeliverArgs{}.Kind(), sweepBatch)
		if err != nil || len(seqs) == 0 {
			return err
		}
		params := make([]river.InsertManyParams, len(seqs))
		for i, seq := range seqs {
			params[i] = river.InsertManyParams{Args: events.DeliverArgs{Seq: seq},
				InsertOpts: &river.InsertOpts{Queue: events.Queue, MaxAttempts: maxAttempts}}
		}
		if _, err := client.InsertManyTx(ctx, tx.Tx(), params); err != nil {
			return fmt.Errorf("queue event deliveries: %w", err)
		}
		n = len(seqs)
		return nil
	})
	return n, err
}

// ScheduleResult says what one scheduler pass did.
type ScheduleResult struct {
	Claimed, Inserted, Skipped int
	Duration                   time.Duration
}

// Schedule claims links due at now and queues their syncs, batch by batch,
// each batch in one transaction (claim, move next_sync_at, insert jobs).
// Links whose sync is already queued or running are skipped by River's
// unique jobs and simply rescheduled.
func Schedule(ctx context.Context, st *store.Store, client *river.Client[pgx.Tx], jitter func(time.Duration) time.Duration, cfg ScheduleConfig, now time.Time) (ScheduleResult, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = 100
	}
	start := time.Now()
	var res ScheduleResult
	for range cfg.MaxBatches {
		var claimed int
		err := st.Transact(ctx, func(tx *store.Store) error {
			due, err := tx.ClaimDueLinks(ctx, now, cfg.Batch, jitter)
			if err != nil || len(due) == 0 {
				return err
			}
			claimed = len(due)
			params := make([]river.InsertManyParams, len(due))
			for i, d := range due {
				params[i] = river.InsertManyParams{Args: SyncArgs{LinkID: d.ID, Trigger: TriggerScheduled}}
			}
			results, err := client.InsertManyTx(ctx, tx.Tx(), params)
			if err != nil {
				return fmt.Errorf("insert sync jobs: %w", err)
			}
			res.Claimed += claimed
			for _, r := range results {
				if r.UniqueSkippedAsDuplicate {
					res.Skipped++
				} else {
					res.Inserted++
				}
			}
			return nil
		})
		if err != nil {
			res.Duration = time.Since(start)
			return res, fmt.Errorf("schedule due links: %w", err)
		}
		if claimed < cfg.Batch {
			break
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// EnqueueSync queues a sync of one link in tx (a manual "sync now" or the
// first sync after consent). It reports false when a sync of the link is
// already queued or running.
func EnqueueSync(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, linkID string, trigger Trigger) (bool, error) {
	res, err := client.InsertTx(ctx, tx, SyncArgs{LinkID: linkID, Trigger: trigger}, nil)
	if err != nil {
		return false, fmt.Errorf("queue sync of link %s: %w", linkID, err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}
