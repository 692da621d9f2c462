package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"

	"github.com/pfmsync/pfmsync/internal/store"
)

// TransferVerdictsArgs is the River job that computes an app user's missing
// own-account transfer verdicts (store.FillTransferVerdicts). A sync queues
// one in its final transaction, so the rows it wrote are read cheaply by
// the reporting views; the views compute a missing verdict when read, so
// the job only makes reads faster and nothing waits for it.
type TransferVerdictsArgs struct {
	AppUserRef string `json:"app_user_ref"`
}

// Kind is the River job kind.
func (TransferVerdictsArgs) Kind() string { return "transfer_verdicts" }

// InsertOpts puts the job on the maintenance queue.
func (TransferVerdictsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5}
}

// transferVerdictsBusyWait is how long a fill put off by a write to the
// app user's transactions waits before it tries again (plus up to as much
// again, spread).
const transferVerdictsBusyWait = 5 * time.Second

// TransferVerdictsWorker runs TransferVerdictsArgs.
type TransferVerdictsWorker struct {
	river.WorkerDefaults[TransferVerdictsArgs]
	store  *store.Store
	logger *slog.Logger
}

// NewTransferVerdictsWorker returns the worker that fills transfer verdicts.
func NewTransferVerdictsWorker(st *store.Store, logger *slog.Logger) *TransferVerdictsWorker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &TransferVerdictsWorker{store: st, logger: logger}
}

// Work fills the app user's missing verdicts; while another write to the
// app user's transactions is under way (a sync of another of its links),
// it snoozes and tries again.
func (w *TransferVerdictsWorker) Work(ctx context.Context, job *river.Job[TransferVerdictsArgs]) error {
	n, err := w.store.FillTransferVerdicts(ctx, job.Args.AppUserRef, 0)
	if errors.Is(err, store.ErrTransferVerdictsBusy) {
		return river.JobSnooze(transferVerdictsBusyWait + time.Duration(rand.Int64N(int64(transferVerdictsBusyWait))))
	}
	if err != nil {
		return err
	}
	if n > 0 {
		w.logger.Debug("transfer verdicts stored", "job_id", job.ID, "verdicts", n)
	}
	return nil
}

// queueTransferVerdicts queues the fill of the app user's verdicts in the
// sync's final transaction tx (nothing when the Syncer has no River
// client).
func (s *Syncer) queueTransferVerdicts(ctx context.Context, tx *store.Store, appUserRef string) error {
	if s.verdicts == nil {
		return nil
	}
	if _, err := s.verdicts.InsertTx(ctx, tx.Tx(), TransferVerdictsArgs{AppUserRef: appUserRef}, nil); err != nil {
		return fmt.Errorf("queue the transfer verdicts of the synced rows: %w", err)
	}
	return nil
}
