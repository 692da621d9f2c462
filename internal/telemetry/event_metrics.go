package telemetry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/pfmsync/pfmsync/internal/store"
)

// EventMetrics records webhook deliveries. It implements events.Metrics.
type EventMetrics struct {
	in *instruments
}

// EventMetrics returns the recorder to give events.DeliveryConfig.Metrics.
func (t *Telemetry) EventMetrics() *EventMetrics { return &EventMetrics{in: t.instruments} }

// EventDelivery records one delivery attempt.
func (m *EventMetrics) EventDelivery(eventType, outcome string, d time.Duration) {
	attrs := metric.WithAttributes(keyEventType.String(eventType), keyOutcome.String(outcome))
	m.in.eventDeliveries.Add(context.Background(), 1, attrs)
	m.in.eventDeliveryTime.Record(context.Background(), d.Seconds(), attrs)
}

// EventStatsSource reads the delivery figures (a *store.Store).
type EventStatsSource interface {
	EventDeliveryStats(ctx context.Context) (store.EventDeliveryStats, error)
}

// RegisterEventGauges reports, at each collection, pfmsync_events{status}
// (events by delivery status) and pfmsync_events_oldest_pending_seconds
// (the age of the oldest event not yet delivered: alert on it). Like the
// other datastore gauges, every process reports the same figures.
func (t *Telemetry) RegisterEventGauges(src EventStatsSource) error {
	count, err := t.meter.Int64ObservableGauge("pfmsync.events", metric.WithUnit("{event}"),
		metric.WithDescription("Events by webhook delivery status (pending, delivered, dead, not_configured), read from the datastore."))
	if err != nil {
		return fmt.Errorf("create events gauge: %w", err)
	}
	age, err := t.meter.Float64ObservableGauge("pfmsync.events.oldest_pending", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event whose webhook is not yet delivered (0 when none)."))
	if err != nil {
		return fmt.Errorf("create oldest pending event gauge: %w", err)
	}
	var mu sync.Mutex
	var at time.Time
	var last store.EventDeliveryStats
	var ok bool
	_, err = t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		mu.Lock()
		defer mu.Unlock()
		if at.IsZero() || time.Since(at) >= gaugeMaxAge {
			rctx, cancel := context.WithTimeout(ctx, gaugeReadTimeout)
			defer cancel()
			var rerr error
			last, rerr = src.EventDeliveryStats(rctx)
			at, ok = time.Now(), rerr == nil
			if rerr != nil {
				t.logger.Warn("read event delivery gauges", "error", rerr)
			}
		}
		if !ok {
			return nil
		}
		for _, c := range []struct {
			status string
			n      int64
		}{{store.EventPending, last.Pending}, {store.EventDelivered, last.Delivered}, {store.EventDead, last.Dead}, {store.EventNotConfigured, last.NotConfigured}} {
			o.ObserveInt64(count, c.n, metric.WithAttributes(keyStatus.String(c.status)))
		}
		var secs float64
		if last.OldestPending != nil {
			secs = max(0, time.Since(*last.OldestPending).Seconds())
		}
		o.ObserveFloat64(age, secs)
		return nil
	}, count, age)
	if err != nil {
		return fmt.Errorf("register event gauges: %w", err)
	}
	return nil
}
