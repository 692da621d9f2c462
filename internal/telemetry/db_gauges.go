package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/pfmsync/pfmsync/internal/store"
)

// River job states the queue gauge reports (the unfinished ones).
var queueStates = []string{"available", "pending", "scheduled", "running", "retryable"}

// Bounds of the gauges' reads.
const (
	// gaugeReadTimeout bounds one read of the datastore.
	gaugeReadTimeout = 5 * time.Second
	// gaugeMaxAge is how long one read serves collections (the Prometheus
	// scrape and the OTLP push each collect).
	gaugeMaxAge = 5 * time.Second
)

// SnapshotSource reads the figures of the datastore gauges (a
// *store.Store).
type SnapshotSource interface {
	TelemetrySnapshot(ctx context.Context) (store.TelemetrySnapshot, error)
}

// RegisterDBGauges reports, at each collection, figures read from the
// datastore: pfmsync_links{institution,status}, pfmsync_queue_jobs
// {queue,state} and pfmsync_queue_lag_seconds{queue} (how long the oldest
// available job has waited). queues are reported even when empty (zeros),
// so that alerts see them. Every process reading the same database
// reports the same figures: aggregate them with max, not sum. A failed
// read is logged and reports nothing.
func (t *Telemetry) RegisterDBGauges(src SnapshotSource, queues ...string) error {
	links, err := t.meter.Int64ObservableGauge("pfmsync.links", metric.WithUnit("{link}"),
		metric.WithDescription("Links by institution and status, read from the datastore."))
	if err != nil {
		return fmt.Errorf("create links gauge: %w", err)
	}
	jobs, err := t.meter.Int64ObservableGauge("pfmsync.queue.jobs", metric.WithUnit("{job}"),
		metric.WithDescription("River jobs waiting or running, by queue and state."))
	if err != nil {
		return fmt.Errorf("create queue jobs gauge: %w", err)
	}
	lag, err := t.meter.Float64ObservableGauge("pfmsync.queue.lag", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest available job of each queue has waited to run."))
	if err != nil {
		return fmt.Errorf("create queue lag gauge: %w", err)
	}
	g := &dbGauges{src: src, logger: t.logger}
	_, err = t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		snap, ok := g.read(ctx)
		if !ok {
			return nil
		}
		for _, l := range snap.Links {
			o.ObserveInt64(links, l.Links, metric.WithAttributes(keyInstitution.String(l.Institution), keyStatus.String(l.Status)))
		}
		counts := map[[2]string]int64{}
		lags := map[string]float64{}
		for _, q := range queues {
			lags[q] = 0
			for _, s := range queueStates {
				counts[[2]string{q, s}] = 0
			}
		}
		for _, j := range snap.Jobs {
			counts[[2]string{j.Queue, j.State}] = j.Jobs
			if _, ok := lags[j.Queue]; !ok {
				lags[j.Queue] = 0 // a queue with jobs has a lag series too
			}
		}
		for _, l := range snap.Lags {
			lags[l.Queue] = l.Lag.Seconds()
		}
		for k, n := range counts {
			o.ObserveInt64(jobs, n, metric.WithAttributes(keyQueue.String(k[0]), keyState.String(k[1])))
		}
		for q, s := range lags {
			o.ObserveFloat64(lag, s, metric.WithAttributes(keyQueue.String(q)))
		}
		return nil
	}, links, jobs, lag)
	if err != nil {
		return fmt.Errorf("register datastore gauges: %w", err)
	}
	return nil
}

// dbGauges reads the datastore at most once per gaugeMaxAge.
type dbGauges struct {
	src    SnapshotSource
	logger *slog.Logger

	mu   sync.Mutex
	at   time.Time
	snap store.TelemetrySnapshot
	ok   bool
}

// read returns a recent snapshot, reading one if the last is too old.
func (g *dbGauges) read(ctx context.Context) (store.TelemetrySnapshot, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.at.IsZero() && time.Since(g.at) < gaugeMaxAge {
		return g.snap, g.ok
	}
	ctx, cancel := context.WithTimeout(ctx, gaugeReadTimeout)
	defer cancel()
	snap, err := g.src.TelemetrySnapshot(ctx)
	g.at, g.snap, g.ok = time.Now(), snap, err == nil
	if err != nil {
		g.logger.Warn("read datastore gauges", "error", err)
	}
	return g.snap, g.ok
}
