package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// SyncWorker is the River worker for SyncArgs.
type SyncWorker struct {
	river.WorkerDefaults[SyncArgs]
	syncer *Syncer
	retry  RetryPolicy
}

// NewSyncWorker returns the worker that runs syncs with s.
func NewSyncWorker(s *Syncer, retry RetryPolicy) *SyncWorker {
	return &SyncWorker{syncer: s, retry: retry}
}

// Work syncs one link.
func (w *SyncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	return w.syncer.Sync(ctx, job.Args, job.ID, job.Attempt)
}

// Timeout bounds one attempt: a paginated backfill takes far longer than
// River's one-minute default.
func (w *SyncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return w.syncer.cfg.JobTimeout }

// NextRetry spreads retries of failed syncs (exponential, capped, jittered).
func (w *SyncWorker) NextRetry(job *river.Job[SyncArgs]) time.Time {
	return time.Now().Add(w.retry.delay(job.Attempt))
}
