package telemetry

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Attribute keys: every label of pfmsync's metrics. Their values come from
// small fixed sets (configured institutions, outcomes, error classes,
// route templates, statuses, job kinds, queues).
const (
	keyInstitution = attribute.Key("institution")
	keyOutcome     = attribute.Key("outcome")
	keyErrorClass  = attribute.Key("error_class")
	keyChange      = attribute.Key("change")
	keyRoute       = attribute.Key("route")
	keyStatus      = attribute.Key("status")
	keyResult      = attribute.Key("result")
	keyKind        = attribute.Key("kind")
	keyQueue       = attribute.Key("queue")
	keyState       = attribute.Key("state")
	keyEventType   = attribute.Key("event_type")
)

// Histogram buckets, in seconds.
var (
	// syncBuckets span a quick incremental sync to a long first backfill.
	syncBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	// requestBuckets span a fast API call to a slow page or token call.
	requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// instruments are the process's pfmsync.* instruments.
type instruments struct {
	syncs                metric.Int64Counter
	syncDuration         metric.Float64Histogram
	transactions         metric.Int64Counter
	reconcileRepairs     metric.Int64Counter
	rateLimitSnoozes     metric.Int64Counter
	slotWaitSnoozes      metric.Int64Counter
	secondReaders        metric.Int64Counter
	tokenRefreshFailures metric.Int64Counter
	scheduleLinks        metric.Int64Counter
	scheduleDuration     metric.Float64Histogram
	bankRequests         metric.Int64Counter
	bankRequestDuration  metric.Float64Histogram
	jobDuration          metric.Float64Histogram
	jobInserts           metric.Int64Counter
	eventDeliveries      metric.Int64Counter
	eventDeliveryTime    metric.Float64Histogram
}

// newInstruments creates the instruments on m.
func newInstruments(m metric.Meter) (*instruments, error) {
	var in instruments
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string, buckets []float64) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	in.syncs = counter("pfmsync.syncs", "{sync}", "Sync attempts by institution, outcome and error class.")
	in.syncDuration = histogram("pfmsync.sync.duration", "Duration of sync attempts by institution and outcome.", syncBuckets)
	in.transactions = counter("pfmsync.transactions", "{transaction}", "Transactions added, modified and removed by syncs.")
	in.reconcileRepairs = counter("pfmsync.reconcile.repairs", "{transaction}", "Rows the reconciliation pass (or the stale-pending rule) repaired, by kind: removed, modified, added, stale_pending. Any repair is a bug signal of the incremental feed.")
	in.rateLimitSnoozes = counter("pfmsync.rate_limit.snoozes", "{snooze}", "Syncs put off because the bank rate limited them (429, or 503 with Retry-After).")
	in.slotWaitSnoozes = counter("pfmsync.slot_wait.snoozes", "{snooze}", "Syncs put off because the institution's concurrent sync slots were all busy.")
	in.secondReaders = counter("pfmsync.sync.second_readers", "{reader}", "Second readers started on an account's backfill once another account of the sync was done.")
	in.tokenRefreshFailures = counter("pfmsync.token_refresh.failures", "{failure}", "Failed refresh-token exchanges by institution and error class.")
	in.scheduleLinks = counter("pfmsync.schedule.links", "{link}", "Due links the scheduler claimed, and whose sync it inserted or skipped (already queued).")
	in.scheduleDuration = histogram("pfmsync.schedule.duration", "Duration of scheduler passes.", requestBuckets)
	in.bankRequests = counter("pfmsync.bank_api.requests", "{request}", "HTTP requests to banks (retries included) by institution, route template and status.")
	in.bankRequestDuration = histogram("pfmsync.bank_api.request.duration", "Duration of HTTP requests to banks, body included, by institution and route template.", requestBuckets)
	in.jobDuration = histogram("pfmsync.job.duration", "Duration of River job attempts by kind, queue and outcome.", syncBuckets)
	in.jobInserts = counter("pfmsync.job.inserts", "{job}", "River jobs inserted, or skipped as duplicates of a queued one, by kind and queue.")
	in.eventDeliveries = counter("pfmsync.event.deliveries", "{attempt}", "Webhook delivery attempts by event type and outcome (delivered, retry, dead, not_configured).")
	in.eventDeliveryTime = histogram("pfmsync.event.delivery.duration", "Duration of webhook delivery attempts by event type and outcome.", requestBuckets)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &in, nil
}
