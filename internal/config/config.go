package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config is the configuration shared by pfmsync's binaries.
type Config struct {
	// Database configures the Postgres datastore.
	Database Database
	// Log configures structured logging.
	Log Log
	// Institutions are the Banno institutions pfmsync is registered with.
	Institutions []Institution
	// InstitutionsFile names the file the institutions were read from
	// ("" when they were given inline).
	InstitutionsFile string
	// TokenKeys is the key ring that seals refresh tokens, in the form
	// "id:base64key,id:base64key" (the first seals; all open). Secret.
	TokenKeys string
	// TokenKeysFile names a file holding the key ring instead (one
	// id:base64key per line, the first seals, # comments).
	TokenKeysFile string
	// Link configures the link server.
	Link LinkServer
	// Worker configures the sync worker.
	Worker Worker
	// Telemetry configures metrics and traces.
	Telemetry Telemetry
	// Events configures webhook delivery of events.
	Events Events
	// Data configures what pfmsync keeps, for how long, and what it asks
	// the bank for.
	Data Data
}

// Data configures a user's data lifecycle: retention, what unlinking does,
// and the optional profile scope. Retention that deletes is off (0) by
// default.
type Data struct {
	// UnlinkPurge makes an unlink delete the link's synced data (accounts,
	// balances, transactions, change feed, sync history) instead of keeping
	// it under the revoked link. The app can override it per request.
	UnlinkPurge bool
	// RevokedLinkDays deletes links revoked for longer than this, with all
	// their data; 0 keeps them.
	RevokedLinkDays int
	// ChangeFeedDays deletes change-feed entries older than this (their
	// app users' horizons move); 0 keeps them.
	ChangeFeedDays int
	// EventDays deletes settled events (delivered, dead, not_configured)
	// older than this (their app users' events horizons move); 0 keeps
	// them. Pending events are never deleted.
	EventDays int
	// SyncRunDays is how long sync history is kept.
	SyncRunDays int
	// ProfileData requests the user profile scope at consent. Off: only
	// the scopes the sync uses are requested.
	ProfileData bool
}

// Worker configures cmd/worker.
type Worker struct {
	// Concurrency is how many syncs one process runs at once.
	Concurrency int
	// AccountConcurrency is how many readers of one link's transactions a
	// sync runs at once (an account each, and second readers).
	AccountConcurrency int
	// AccountReaders is how many readers one account's backfill may have:
	// 2 lets a second reader take its windows once another account of the
	// link is done, 1 keeps one request per account in flight.
	AccountReaders int
	// ScheduleEvery is the scheduler's period; ScheduleBatch how many due
	// links one scheduler transaction claims.
	ScheduleEvery time.Duration
	ScheduleBatch int
	// BackfillDays is how far back a first sync reads; BackfillWindowDays
	// the span committed per step.
	BackfillDays       int
	BackfillWindowDays int
	// Overlap is subtracted from the watermark for updatedSince.
	Overlap time.Duration
	// FetchOnScheduled / FetchOnInteractive ask the bank to refresh its
	// data (PUT /fetch) before scheduled / first, manual and resync syncs;
	// FetchMaxWait bounds the wait for the refresh task.
	FetchOnScheduled   bool
	FetchOnInteractive bool
	FetchMaxWait       time.Duration
	// JobTimeout bounds one sync attempt; RescueAfter is when River
	// re-queues a job whose worker died (must exceed JobTimeout).
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// RetryBase and RetryMax shape the exponential backoff of failed syncs.
	RetryBase time.Duration
	RetryMax  time.Duration
	// ShutdownTimeout is how long running syncs may finish on shutdown
	// before they are cancelled (and resumed later by River).
	ShutdownTimeout time.Duration
	// AuthFailureThreshold is how many refreshes in a row the institution
	// may refuse with a non-standard authentication error before the link
	// moves to reauth_required.
	AuthFailureThreshold int
	// ReconcileEvery is how often each account's recent window is
	// reconciled; ReconcileWindowDays the span of posted dates re-read;
	// ReconcileDisable turns every reconciliation pass off.
	ReconcileEvery      time.Duration
	ReconcileWindowDays int
	ReconcileDisable    bool
	// StalePendingDays: a pending row the bank has not reported for longer
	// is tombstoned as stale (0: never). SuspectPendingDays: a live pending
	// row older than this triggers a reconciliation.
	StalePendingDays   int
	SuspectPendingDays int
}

// LinkServer configures cmd/linkserver.
type LinkServer struct {
	// Addr is the public listener (consent pages, callback, link API).
	Addr string
	// PublicURL is how browsers reach Addr; the OAuth redirect URI is
	// PublicURL + "/link/callback" and must be registered at every
	// institution exactly.
	PublicURL string
	// AppKey authenticates the PFM app: it signs link tokens and API
	// requests (HMAC-SHA256). Secret.
	AppKey string
	// ReturnURLs are the URL prefixes the app may ask to be sent back to
	// after consent; empty allows none (a success page is shown).
	ReturnURLs []string
	// ConsentTTL is how long a started consent may take.
	ConsentTTL time.Duration
	// DashboardURL, when set, is linked from the success page (the PFM
	// app's dashboard, or the reference dashboard in the demo).
	DashboardURL string
	// IDTokenClockSkew is the tolerance applied to an ID token's exp and
	// iat at the code exchange.
	IDTokenClockSkew time.Duration
}

// Database configures the connection to the Postgres datastore.
type Database struct {
	// URL is a libpq-style connection URL. It may carry a password, so it
	// is redacted by String.
	URL string
	// MaxConns bounds the connection pool.
	MaxConns int32
	// Migrate makes the binary apply pending migrations at start.
	Migrate bool
	// ConnectTimeout bounds the first connection attempt at start.
	ConnectTimeout time.Duration
}

// Log configures the process's slog logger.
type Log struct {
	// Level is the minimum level logged.
	Level slog.Level
	// Format is "json" (the default, for log pipelines) or "text".
	Format string
}

// Environment variable names read by Load.
const (
	EnvDatabaseURL      = "PFMSYNC_DATABASE_URL"
	EnvDatabaseURLAlt   = "DATABASE_URL"
	EnvDatabaseMaxConns = "PFMSYNC_DATABASE_MAX_CONNS"
	EnvMigrate          = "PFMSYNC_MIGRATE"
	EnvDatabaseTimeout  = "PFMSYNC_DATABASE_CONNECT_TIMEOUT"
	EnvLogLevel         = "PFMSYNC_LOG_LEVEL"
	EnvLogFormat        = "PFMSYNC_LOG_FORMAT"
	EnvTokenKeys        = "PFMSYNC_TOKEN_KEYS"
	EnvTokenKeysFile    = "PFMSYNC_TOKEN_KEYS_FILE"
	EnvLinkAddr         = "PFMSYNC_LINK_ADDR"
	EnvPublicURL        = "PFMSYNC_PUBLIC_URL"
	EnvAppKey           = "PFMSYNC_APP_KEY"
	EnvReturnURLs       = "PFMSYNC_RETURN_URLS"
	EnvConsentTTL       = "PFMSYNC_CONSENT_TTL"
	EnvDashboardURL     = "PFMSYNC_DASHBOARD_URL"

	EnvWorkerConcurrency  = "PFMSYNC_WORKER_CONCURRENCY"
	EnvAccountConcurrency = "PFMSYNC_ACCOUNT_CONCURRENCY"
	EnvAccountReaders     = "PFMSYNC_ACCOUNT_READERS"
	EnvScheduleEvery      = "PFMSYNC_SCHEDULE_EVERY"
	EnvScheduleBatch      = "PFMSYNC_SCHEDULE_BATCH"
	EnvBackfillDays       = "PFMSYNC_BACKFILL_DAYS"
	EnvBackfillWindowDays = "PFMSYNC_BACKFILL_WINDOW_DAYS"
	EnvOverlap            = "PFMSYNC_UPDATED_SINCE_OVERLAP"
	EnvFetchOnScheduled   = "PFMSYNC_FETCH_ON_SCHEDULED"
	EnvFetchOnInteractive = "PFMSYNC_FETCH_ON_INTERACTIVE"
	EnvFetchMaxWait       = "PFMSYNC_FETCH_MAX_WAIT"
	EnvJobTimeout         = "PFMSYNC_JOB_TIMEOUT"
	EnvRescueAfter        = "PFMSYNC_RESCUE_AFTER"
	EnvRetryBase          = "PFMSYNC_RETRY_BASE"
	EnvRetryMax           = "PFMSYNC_RETRY_MAX"
	EnvShutdownTimeout    = "PFMSYNC_SHUTDOWN_TIMEOUT"
	EnvAuthFailures       = "PFMSYNC_AUTH_FAILURE_THRESHOLD"
	EnvIDTokenClockSkew   = "PFMSYNC_ID_TOKEN_CLOCK_SKEW"

	EnvReconcileEvery      = "PFMSYNC_RECONCILE_EVERY"
	EnvReconcileWindowDays = "PFMSYNC_RECONCILE_WINDOW_DAYS"
	EnvReconcileDisable    = "PFMSYNC_RECONCILE_DISABLE"
	EnvStalePendingDays    = "PFMSYNC_STALE_PENDING_DAYS"
	EnvSuspectPendingDays  = "PFMSYNC_SUSPECT_PENDING_DAYS"

	EnvUnlinkData          = "PFMSYNC_UNLINK_DATA"
	EnvRetentionRevoked    = "PFMSYNC_RETENTION_REVOKED_LINK_DAYS"
	EnvRetentionChangeFeed = "PFMSYNC_RETENTION_CHANGE_FEED_DAYS"
	EnvRetentionSyncRuns   = "PFMSYNC_RETENTION_SYNC_RUN_DAYS"
	EnvRetentionEvents     = "PFMSYNC_RETENTION_EVENT_DAYS"
	EnvProfileData         = "PFMSYNC_PROFILE_DATA"
)

// Load reads and validates the configuration from getenv (os.Getenv in
// production, a map lookup in tests): every variable of the settings
// table, then the rules that span several. It reports every invalid value
// at once. Error messages name the variable and never repeat a secret value.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	var cfg Config
	for _, s := range settings {
		s.load(&r, &cfg)
	}
	cfg.Institutions = r.institutions(cfg.InstitutionsFile)
	if cfg.Worker.RescueAfter <= cfg.Worker.JobTimeout {
		r.fail(EnvRescueAfter, fmt.Sprintf("must exceed %s (%s), or River would rescue jobs that are still running", EnvJobTimeout, FormatDuration(cfg.Worker.JobTimeout)))
	}
	if cfg.TokenKeys != "" && cfg.TokenKeysFile != "" {
		r.fail(EnvTokenKeys, "and "+EnvTokenKeysFile+" are both set; use one")
	}
	if cfg.Link.PublicURL == "" {
		cfg.Link.PublicURL = "http://" + cfg.Link.Addr
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

// absoluteHTTP reports whether raw is an absolute http(s) URL.
func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
}

// validateDatabaseURL checks the shape of a database URL without echoing it.
func validateDatabaseURL(raw string) error {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return errors.New("must start with postgres:// or postgresql://")
	}
	if _, err := url.Parse(raw); err != nil {
		return errors.New("is not a valid URL")
	}
	return nil
}

// String renders the configuration for a start-up log line, one key=value
// per setting (in the order of docs/operations.md), secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for _, a := range c.attrs() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value)
	}
	return b.String()
}

// LogValue makes slog render the redacted configuration as a group of
// the same keys and values as String.
func (c Config) LogValue() slog.Value { return slog.GroupValue(c.attrs()...) }

// attrs is the redacted dump: every setting with a key, then each
// institution.
func (c Config) attrs() []slog.Attr {
	var out []slog.Attr
	for _, s := range settings {
		if s.key != "" {
			out = append(out, slog.String(s.key, s.value(&c)))
		}
	}
	for _, in := range c.Institutions {
		out = append(out, slog.String("institution."+in.Slug, fmt.Sprintf("{base_url=%s client_id=%s client_secret=%s rps=%g burst=%d max_syncs=%d insecure_http=%t}",
			in.BaseURL, in.ClientID, redactSet(in.ClientSecret), in.RequestsPerSecond, in.Burst, in.MaxConcurrentSyncs, in.AllowInsecureHTTP)))
	}
	return out
}

// redactSet says whether a secret is set without showing it.
func redactSet(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return "[redacted]"
}

// RedactURL returns raw with any password replaced by "xxxxx", and every query
// parameter that could carry a secret masked. Unparsable input is fully
// redacted.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "[redacted]"
	}
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "key") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
