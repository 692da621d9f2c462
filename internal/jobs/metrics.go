package jobs

import (
	"time"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Metrics receives what the jobs observe; the worker binary records them
// with OpenTelemetry.
type Metrics interface {
	// SyncFinished is called once per sync attempt.
	SyncFinished(institution string, outcome pfm.SyncOutcome, errorClass pfm.ErrorClass, d time.Duration, run store.SyncRun)
	// SlotWaitSnoozed is called when a sync found no free slot for its
	// institution and was snoozed.
	SlotWaitSnoozed(institution string)
	// LinksScheduled is called after each scheduler pass.
	LinksScheduled(claimed, inserted, skipped int, d time.Duration)
	// SecondReaderStarted is called when a second reader starts on an
	// account's backfill (backfillHelpers).
	SecondReaderStarted(institution string)
}

// noMetrics discards everything.
type noMetrics struct{}

func (noMetrics) SyncFinished(string, pfm.SyncOutcome, pfm.ErrorClass, time.Duration, store.SyncRun) {
}
func (noMetrics) SlotWaitSnoozed(string)                      {}
func (noMetrics) LinksScheduled(int, int, int, time.Duration) {}
func (noMetrics) SecondReaderStarted(string)                  {}
