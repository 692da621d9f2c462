package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// SyncMetrics records what the sync jobs report. It implements
// jobs.Metrics.
type SyncMetrics struct {
	in *instruments
}

// SyncMetrics returns the recorder to give jobs.SyncerOptions.Metrics.
func (t *Telemetry) SyncMetrics() *SyncMetrics { return &SyncMetrics{in: t.instruments} }

// SyncFinished records one sync attempt: its outcome and duration, the
// transactions it changed, a rate-limit snooze, and a refresh token that
// could not be opened (a key ring problem, counted with the token refresh
// failures; failures at the bank are counted by BankTransport).
func (m *SyncMetrics) SyncFinished(institution string, outcome pfm.SyncOutcome, errorClass pfm.ErrorClass, d time.Duration, run store.SyncRun) {
	ctx := context.Background()
	inst := keyInstitution.String(institution)
	m.in.syncs.Add(ctx, 1, metric.WithAttributes(inst, outcomeLabel(outcome), errorClassLabel(errorClass)))
	m.in.syncDuration.Record(ctx, d.Seconds(), metric.WithAttributes(inst, outcomeLabel(outcome)))
	for _, c := range []struct {
		change string
		n      int
	}{{"added", run.Added}, {"modified", run.Modified}, {"removed", run.Removed}} {
		m.in.transactions.Add(ctx, int64(c.n), metric.WithAttributes(inst, keyChange.String(c.change)))
	}
	if outcome == pfm.OutcomeSnoozed {
		m.in.rateLimitSnoozes.Add(ctx, 1, metric.WithAttributes(inst))
	}
	if errorClass == pfm.ClassTokenUnreadable {
		m.in.tokenRefreshFailures.Add(ctx, 1, metric.WithAttributes(inst, errorClassLabel(errorClass)))
	}
}

// SlotWaitSnoozed records a sync put off for want of a free slot.
func (m *SyncMetrics) SlotWaitSnoozed(institution string) {
	m.in.slotWaitSnoozes.Add(context.Background(), 1, metric.WithAttributes(keyInstitution.String(institution)))
}

// SecondReaderStarted records a second reader started on an account's
// backfill.
func (m *SyncMetrics) SecondReaderStarted(institution string) {
	m.in.secondReaders.Add(context.Background(), 1, metric.WithAttributes(keyInstitution.String(institution)))
}

// LinksScheduled records one scheduler pass.
func (m *SyncMetrics) LinksScheduled(claimed, inserted, skipped int, d time.Duration) {
	ctx := context.Background()
	for _, c := range []struct {
		result string
		n      int
	}{{"claimed", claimed}, {"inserted", inserted}, {"skipped", skipped}} {
		m.in.scheduleLinks.Add(ctx, int64(c.n), metric.WithAttributes(keyResult.String(c.result)))
	}
	m.in.scheduleDuration.Record(ctx, d.Seconds())
}

// outcomeLabel is the "outcome" label of a sync outcome: its value as
// stored in sync_runs.
func outcomeLabel(o pfm.SyncOutcome) attribute.KeyValue { return keyOutcome.String(string(o)) }

// errorClassLabel is the "error_class" label of an error class: its value
// as stored on links and sync runs ("" for none).
func errorClassLabel(c pfm.ErrorClass) attribute.KeyValue { return keyErrorClass.String(string(c)) }
