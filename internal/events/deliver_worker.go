package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Queue is the River queue of webhook deliveries.
const Queue = "events"

// DefaultMaxAttempts is how many times one delivery is tried before the
// event is dead.
const DefaultMaxAttempts = 12

// DeliverArgs is the River job delivering one event's webhook.
type DeliverArgs struct {
	Seq int64 `json:"seq"`
}

// Kind names the job in River.
func (DeliverArgs) Kind() string { return "event_delivery" }

// InsertOpts puts deliveries on their own queue.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: DefaultMaxAttempts}
}

// Metrics receives delivery outcomes.
type Metrics interface {
	// EventDelivery records one attempt: outcome is delivered, retry, dead,
	// or not_configured.
	EventDelivery(eventType, outcome string, d time.Duration)
}

type noMetrics struct{}

func (noMetrics) EventDelivery(string, string, time.Duration) {}

// DeliveryConfig configures webhook delivery.
type DeliveryConfig struct {
	// Endpoint receives every app user's events, unless EndpointsByAppUser
	// names another for the user. Neither: events are not delivered.
	Endpoint           string
	EndpointsByAppUser map[string]string
	// Keys sign the webhooks; the first one is used.
	Keys []SigningKey
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// RetryBase and RetryMax shape the exponential backoff (default 10 s
	// doubling up to 1 h).
	RetryBase, RetryMax time.Duration
	// Client sends the requests (default: a client with Timeout).
	Client  *http.Client
	Metrics Metrics
	Logger  *slog.Logger
}

// Enabled reports whether any endpoint is configured.
func (c DeliveryConfig) Enabled() bool { return c.Endpoint != "" || len(c.EndpointsByAppUser) > 0 }

// endpoint is where appUser's events go ("" for nowhere).
func (c DeliveryConfig) endpoint(appUser string) string {
	if u, ok := c.EndpointsByAppUser[appUser]; ok {
		return u
	}
	return c.Endpoint
}

// delay is the wait after failed attempt n (1-based).
func (c DeliveryConfig) delay(attempt int) time.Duration {
	d := c.RetryBase
	for i := 1; i < attempt && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}

// DeliverWorker delivers webhooks: one event per job, in seq order per
// link (a later event waits while an earlier one of the link is pending),
// marking the event delivered after a 2xx answer and dead once its
// attempts are used up. A process dying mid-delivery leaves the job to
// River's rescue: the event is sent again (at least once).
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	store *store.Store
	cfg   DeliveryConfig
}

// NewDeliverWorker returns the delivery worker.
func NewDeliverWorker(st *store.Store, cfg DeliveryConfig) (*DeliverWorker, error) {
	if cfg.Enabled() && len(cfg.Keys) == 0 {
		return nil, errors.New("webhook delivery needs a signing key")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 10 * time.Second
	}
	if cfg.RetryMax < cfg.RetryBase {
		cfg.RetryMax = max(time.Hour, cfg.RetryBase)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &DeliverWorker{store: st, cfg: cfg}, nil
}

// Timeout bounds one attempt a little beyond the HTTP timeout.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.cfg.Timeout + 5*time.Second
}

// NextRetry is the exponential backoff, as recorded on the event.
func (w *DeliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.cfg.delay(job.Attempt))
}

// blockedSnooze bounds the wait of an event behind an earlier one.
const blockedSnooze = 30 * time.Second

// Work delivers one event.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	ev, err := w.store.Event(ctx, job.Args.Seq)
	if errors.Is(err, pfm.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("event %d no longer exists", job.Args.Seq))
	}
	if err != nil {
		return err
	}
	if ev.DeliveryStatus != store.EventPending {
		return nil // delivered before a crash, or given up on
	}
	log := w.cfg.Logger.With("event_seq", ev.Seq, "event_id", ev.ID, "event_type", ev.Type, "link_id", ev.LinkID, "attempt", job.Attempt)
	earlier, blocked, err := w.store.EarlierPendingEvent(ctx, ev.LinkID, ev.Seq)
	if err != nil {
		return err
	}
	if blocked {
		wait := time.Second
		if earlier.NextAttemptAt != nil {
			wait = max(wait, time.Until(*earlier.NextAttemptAt))
		}
		return river.JobSnooze(min(wait, blockedSnooze))
	}
	url := w.cfg.endpoint(ev.AppUserRef)
	if url == "" {
		w.cfg.Metrics.EventDelivery(ev.Type, "not_configured", 0)
		return w.store.MarkEventNotConfigured(ctx, ev.Seq)
	}
	started := time.Now()
	sendErr := w.send(ctx, url, ev)
	took := time.Since(started)
	// The outcome is recorded even when the job's context ended.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if sendErr == nil {
		if err := w.store.MarkEventDelivered(bctx, ev.Seq); err != nil {
			return err
		}
		w.cfg.Metrics.EventDelivery(ev.Type, "delivered", took)
		log.Debug("event delivered")
		return nil
	}
	dead := job.Attempt >= job.MaxAttempts
	if err := w.store.MarkEventAttemptFailed(bctx, ev.Seq, truncate(sendErr.Error(), 300), time.Now().Add(w.cfg.delay(job.Attempt)), dead); err != nil {
		return errors.Join(sendErr, err)
	}
	if dead {
		w.cfg.Metrics.EventDelivery(ev.Type, "dead", took)
		log.Error("event delivery gave up: the event is dead", "error", sendErr)
		return river.JobCancel(sendErr)
	}
	w.cfg.Metrics.EventDelivery(ev.Type, "retry", took)
	log.Warn("event delivery failed; retrying", "error", sendErr)
	return sendErr
}

// send POSTs the signed event; only a 2xx answer counts as delivered.
func (w *DeliverWorker) send(ctx context.Context, url string, ev store.Event) error {
	b := BodyOf(ev)
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build webhook request: %w", err)
	}
	SetHeaders(req.Header, w.cfg.Keys[0], time.Now(), body, b)
	req.Header.Set("User-Agent", "pfmsync-webhooks")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post webhook: the endpoint answered %s", resp.Status)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// DeliveryConfigFrom turns the environment's configuration into a
// DeliveryConfig (signing keys parsed); metrics and logger are the
// process's.
func DeliveryConfigFrom(c config.Events, metrics Metrics, logger *slog.Logger) (DeliveryConfig, error) {
	d := DeliveryConfig{
		Endpoint: c.WebhookURL, EndpointsByAppUser: c.WebhookURLsByAppUser,
		Timeout: c.Timeout, RetryBase: c.RetryBase, RetryMax: c.RetryMax,
		Metrics: metrics, Logger: logger,
	}
	if c.SigningKeys != "" {
		keys, err := ParseSigningKeys(c.SigningKeys)
		if err != nil {
			return DeliveryConfig{}, fmt.Errorf("%s: %w", config.EnvEventsSigningKeys, err)
		}
		d.Keys = keys
	}
	if d.Enabled() && len(d.Keys) == 0 {
		return DeliveryConfig{}, fmt.Errorf("%s: no signing key", config.EnvEventsSigningKeys)
	}
	return d, nil
}
