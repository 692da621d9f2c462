package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Events configures webhook delivery of events (docs/events.md).
type Events struct {
	// WebhookURL receives every app user's events, unless
	// WebhookURLsByAppUser names another endpoint for the user. Neither
	// set: events are recorded (NOTIFY, events_since) but not delivered.
	WebhookURL           string
	WebhookURLsByAppUser map[string]string
	// SigningKeys signs webhooks: "id=secret,id=secret", the first signs.
	// Secret.
	SigningKeys string
	// Timeout bounds one delivery attempt; MaxAttempts the attempts before
	// an event is dead; RetryBase and RetryMax shape the backoff.
	Timeout     time.Duration
	MaxAttempts int
	RetryBase   time.Duration
	RetryMax    time.Duration
	// Concurrency is how many deliveries one worker runs at once.
	Concurrency int
}

// Enabled reports whether any webhook endpoint is configured.
func (e Events) Enabled() bool { return e.WebhookURL != "" || len(e.WebhookURLsByAppUser) > 0 }

// Environment variables of event delivery.
const (
	EnvEventsWebhookURL       = "PFMSYNC_EVENTS_WEBHOOK_URL"
	EnvEventsWebhookURLsByApp = "PFMSYNC_EVENTS_WEBHOOK_URLS"
	EnvEventsSigningKeys      = "PFMSYNC_EVENTS_SIGNING_KEYS"
	EnvEventsTimeout          = "PFMSYNC_EVENTS_TIMEOUT"
	EnvEventsMaxAttempts      = "PFMSYNC_EVENTS_MAX_ATTEMPTS"
	EnvEventsRetryBase        = "PFMSYNC_EVENTS_RETRY_BASE"
	EnvEventsRetryMax         = "PFMSYNC_EVENTS_RETRY_MAX"
	EnvEventsConcurrency      = "PFMSYNC_EVENTS_CONCURRENCY"
)

// Defaults of event delivery.
const (
	DefaultEventsTimeout     = 10 * time.Second
	DefaultEventsMaxAttempts = 12
	DefaultEventsRetryBase   = 10 * time.Second
	DefaultEventsRetryMax    = time.Hour
	DefaultEventsConcurrency = 4
)

// eventSettings are the rows of the settings table for event delivery.
func eventSettings() []setting {
	return []setting{
		{
			name: EnvEventsWebhookURL, key: "events.webhook_url",
			doc: "the endpoint every event is POSTed to as a signed webhook (`docs/events.md`); unset: events are recorded and published on NOTIFY but not delivered. Credentials in it are redacted wherever it is shown",
			load: func(r *reader, c *Config) {
				c.Events.WebhookURL = r.raw(EnvEventsWebhookURL)
				if c.Events.WebhookURL != "" && !absoluteHTTP(c.Events.WebhookURL) {
					r.fail(EnvEventsWebhookURL, "must be an absolute http(s) URL")
				}
			},
			show: func(c *Config) string { return RedactURL(c.Events.WebhookURL) },
		},
		{
			name: EnvEventsWebhookURLsByApp, key: "events.webhook_urls",
			doc: "per app user endpoints overriding `" + EnvEventsWebhookURL + "`: `app_user_ref=url,app_user_ref=url`",
			load: func(r *reader, c *Config) {
				for _, part := range r.list(EnvEventsWebhookURLsByApp) {
					user, u, ok := strings.Cut(part, "=")
					user = strings.TrimSpace(user)
					if !ok || user == "" || !absoluteHTTP(strings.TrimSpace(u)) {
						r.fail(EnvEventsWebhookURLsByApp, fmt.Sprintf("entry %d must be app_user_ref=absolute http(s) URL", len(c.Events.WebhookURLsByAppUser)+1))
						continue
					}
					if c.Events.WebhookURLsByAppUser == nil {
						c.Events.WebhookURLsByAppUser = map[string]string{}
					}
					c.Events.WebhookURLsByAppUser[user] = strings.TrimSpace(u)
				}
			},
			show: func(c *Config) string {
				var out []string
				for user, u := range c.Events.WebhookURLsByAppUser {
					out = append(out, user+"="+RedactURL(u))
				}
				slices.Sort(out)
				return strings.Join(out, ",")
			},
		},
		{
			name: EnvEventsSigningKeys, key: "events.signing_keys", secret: true,
			doc: "the webhook signing keys, `id=secret,id=secret` (secrets of at least 32 characters; the first signs, its id is sent in `Pfmsync-Key-Id`); required when an endpoint is set",
			load: func(r *reader, c *Config) {
				c.Events.SigningKeys = r.raw(EnvEventsSigningKeys)
				if c.Events.Enabled() && c.Events.SigningKeys == "" {
					r.fail(EnvEventsSigningKeys, "is required when a webhook endpoint is set")
				}
			},
			show: func(c *Config) string { return c.Events.SigningKeys },
		},
		durationSetting(EnvEventsTimeout, "events.timeout", DefaultEventsTimeout, time.Second, 5*time.Minute,
			func(c *Config) *time.Duration { return &c.Events.Timeout }, "bound on one webhook delivery attempt; no answer in time counts as a failure"),
		intSetting(EnvEventsMaxAttempts, "events.max_attempts", DefaultEventsMaxAttempts, 1, 100,
			func(c *Config) *int { return &c.Events.MaxAttempts }, "delivery attempts of one event before it is marked `dead`"),
		durationSetting(EnvEventsRetryBase, "events.retry_base", DefaultEventsRetryBase, 10*time.Millisecond, time.Hour,
			func(c *Config) *time.Duration { return &c.Events.RetryBase }, "first delay of the doubling backoff of failed deliveries"),
		durationSetting(EnvEventsRetryMax, "events.retry_max", DefaultEventsRetryMax, 10*time.Millisecond, 24*time.Hour,
			func(c *Config) *time.Duration { return &c.Events.RetryMax }, "longest delay of that backoff"),
		intSetting(EnvEventsConcurrency, "events.concurrency", DefaultEventsConcurrency, 1, 100,
			func(c *Config) *int { return &c.Events.Concurrency }, "webhook deliveries one worker process runs at once"),
	}
}
