package config

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// settings is the table of every environment variable pfmsync reads, in
// the order they are documented and dumped.
var settings = slices.Concat([]setting{
	{
		name: EnvDatabaseURL, aliases: []string{EnvDatabaseURLAlt}, key: "database.url",
		doc: "Postgres connection URL, `postgres://user:pass@host:5432/db`; **required**. The password is redacted wherever it is shown",
		load: func(r *reader, c *Config) {
			c.Database.URL = r.str(EnvDatabaseURL, r.raw(EnvDatabaseURLAlt))
			switch {
			case c.Database.URL == "":
				r.fail(EnvDatabaseURL, "is required (a postgres:// URL)")
			default:
				if err := validateDatabaseURL(c.Database.URL); err != nil {
					r.fail(EnvDatabaseURL, err.Error())
				}
			}
		},
		show: func(c *Config) string { return RedactURL(c.Database.URL) },
	},
	intSetting(EnvDatabaseMaxConns, "database.max_conns", DefaultDatabaseMaxConns, 1, 1000,
		func(c *Config) *int32 { return &c.Database.MaxConns }, "connection pool size of each process"),
	durationSetting(EnvDatabaseTimeout, "database.connect_timeout", DefaultDatabaseTimeout, time.Second, 5*time.Minute,
		func(c *Config) *time.Duration { return &c.Database.ConnectTimeout }, "deadline of the first connection at start"),
	boolSetting(EnvMigrate, "database.migrate", true,
		func(c *Config) *bool { return &c.Database.Migrate }, "apply pending migrations at start"),
	{
		name: EnvLogLevel, key: "log.level", def: "info",
		doc:  "minimum level logged: `debug`, `info`, `warn` or `error`",
		load: func(r *reader, c *Config) { c.Log.Level = r.level(EnvLogLevel, slog.LevelInfo) },
		show: func(c *Config) string { return levelName(c.Log.Level) },
	},
	{
		name: EnvLogFormat, key: "log.format", def: "json",
		doc:  "`json` (for log pipelines) or `text`",
		load: func(r *reader, c *Config) { c.Log.Format = r.oneOf(EnvLogFormat, "json", "json", "text") },
		show: func(c *Config) string { return c.Log.Format },
	},
	{
		name: EnvInstitutions,
		doc:  "the Banno institutions, an inline JSON list (see below); this or `" + EnvInstitutionsFile + "` is required by the worker and the link server",
		load: func(r *reader, c *Config) { r.institutionsJSON = r.raw(EnvInstitutions) },
	},
	{
		name: EnvInstitutionsFile, key: "institutions_file",
		doc:  "a file holding the institutions' JSON list instead",
		load: func(r *reader, c *Config) { c.InstitutionsFile = r.raw(EnvInstitutionsFile) },
		show: func(c *Config) string { return c.InstitutionsFile },
	},
	stringSetting(EnvTokenKeys, "token_keys", "", true, func(c *Config) *string { return &c.TokenKeys },
		"the key ring sealing refresh tokens, `id:base64key,id:base64key` (the first seals, all open; `docs/tokenseal.md`); this or `"+EnvTokenKeysFile+"` is required by the worker and the link server"),
	stringSetting(EnvTokenKeysFile, "token_keys_file", "", false, func(c *Config) *string { return &c.TokenKeysFile },
		"a file holding the key ring instead, one `id:base64key` a line, the first seals, `#` comments"),
	stringSetting(EnvLinkAddr, "link.addr", DefaultLinkAddr, false, func(c *Config) *string { return &c.Link.Addr },
		"the link server's public listener (consent pages, callback, link API)"),
	{
		name: EnvPublicURL, key: "link.public_url", def: "http://$" + EnvLinkAddr,
		doc: "how browsers reach the link server; the OAuth redirect URI is this + `/link/callback` and must be registered at every institution exactly",
		load: func(r *reader, c *Config) {
			c.Link.PublicURL = strings.TrimRight(r.raw(EnvPublicURL), "/")
			if c.Link.PublicURL != "" && !absoluteHTTP(c.Link.PublicURL) {
				r.fail(EnvPublicURL, "must be an absolute http(s) URL")
			}
		},
		show: func(c *Config) string { return c.Link.PublicURL },
	},
	stringSetting(EnvAppKey, "link.app_key", "", true, func(c *Config) *string { return &c.Link.AppKey },
		"the shared secret the PFM app signs link tokens and API requests with (HMAC-SHA256); required by the link server"),
	{
		name: EnvReturnURLs, key: "link.return_urls",
		doc: "comma-separated absolute URL prefixes the app may send users back to after consent; none: a success page is shown",
		load: func(r *reader, c *Config) {
			c.Link.ReturnURLs = r.list(EnvReturnURLs)
			for _, p := range c.Link.ReturnURLs {
				if !absoluteHTTP(p) {
					r.fail(EnvReturnURLs, fmt.Sprintf("entry %q must be an absolute http(s) URL prefix", p))
				}
			}
		},
		show: func(c *Config) string { return strings.Join(c.Link.ReturnURLs, ",") },
	},
	durationSetting(EnvConsentTTL, "link.consent_ttl", DefaultConsentTTL, time.Minute, time.Hour,
		func(c *Config) *time.Duration { return &c.Link.ConsentTTL }, "how long a started consent may take"),
	{
		name: EnvDashboardURL, key: "link.dashboard_url",
		doc: "an absolute http(s) URL the success page links to (the app's dashboard); none: no link",
		load: func(r *reader, c *Config) {
			c.Link.DashboardURL = r.raw(EnvDashboardURL)
			if c.Link.DashboardURL != "" && !absoluteHTTP(c.Link.DashboardURL) {
				r.fail(EnvDashboardURL, "must be an absolute http(s) URL")
			}
		},
		show: func(c *Config) string { return c.Link.DashboardURL },
	},
	durationSetting(EnvIDTokenClockSkew, "link.id_token_clock_skew", DefaultIDTokenClockSkew, time.Second, time.Hour,
		func(c *Config) *time.Duration { return &c.Link.IDTokenClockSkew },
		"tolerance on an ID token's `exp` and `iat` at the code exchange (Banno's own example allows 300 s)"),

	intSetting(EnvWorkerConcurrency, "worker.concurrency", DefaultWorkerConcurrency, 1, 1000,
		func(c *Config) *int { return &c.Worker.Concurrency }, "syncs one worker process runs at once, per institution too unless its `max_concurrent_syncs` bounds them deployment-wide (docs/operations.md, Sizing)"),
	intSetting(EnvAccountConcurrency, "worker.account_concurrency", DefaultAccountConcurrency, 1, 64,
		func(c *Config) *int { return &c.Worker.AccountConcurrency }, "readers of one link's transactions a sync runs side by side, each with one bank request in flight: an account each, and once an account is done a second reader of the account with the most backfill windows left (two at most per account); the institution's request rate stays the bound on what the bank sees"),
	intSetting(EnvAccountReaders, "worker.account_readers", DefaultAccountReaders, 1, 2,
		func(c *Config) *int { return &c.Worker.AccountReaders }, "readers of one account's backfill: with 2, once an account of the link is done, a second reader takes windows of the account with the most left (two of its requests in flight); 1 for a bank that bounds the requests in flight per account"),
	durationSetting(EnvScheduleEvery, "worker.schedule_every", DefaultScheduleEvery, time.Second, time.Hour,
		func(c *Config) *time.Duration { return &c.Worker.ScheduleEvery }, "scheduler period"),
	intSetting(EnvScheduleBatch, "worker.schedule_batch", DefaultScheduleBatch, 1, 100000,
		func(c *Config) *int { return &c.Worker.ScheduleBatch }, "due links claimed per scheduler transaction"),
	intSetting(EnvBackfillDays, "worker.backfill_days", DefaultBackfillDays, 1, 3660,
		func(c *Config) *int { return &c.Worker.BackfillDays }, "days of history a first sync reads"),
	intSetting(EnvBackfillWindowDays, "worker.backfill_window_days", DefaultBackfillWindowDays, 1, 3660,
		func(c *Config) *int { return &c.Worker.BackfillWindowDays }, "days of posted dates committed per backfill step"),
	durationSetting(EnvOverlap, "worker.updated_since_overlap", DefaultOverlap, 0, 7*Day,
		func(c *Config) *time.Duration { return &c.Worker.Overlap },
		"subtracted from the watermark for `updatedSince`, to absorb clock differences inside the bank; `0` is honoured (no overlap: a change the bank stamps late can be missed until the next full resync)"),
	boolSetting(EnvFetchOnInteractive, "worker.fetch_on_interactive", DefaultFetchOnInteractive,
		func(c *Config) *bool { return &c.Worker.FetchOnInteractive }, "ask the bank to refresh its data (`PUT /fetch`) before first, manual and resync syncs"),
	boolSetting(EnvFetchOnScheduled, "worker.fetch_on_scheduled", DefaultFetchOnScheduled,
		func(c *Config) *bool { return &c.Worker.FetchOnScheduled }, "… and before scheduled ones too (off is gentler on the bank)"),
	durationSetting(EnvFetchMaxWait, "worker.fetch_max_wait", DefaultFetchMaxWait, time.Second, 10*time.Minute,
		func(c *Config) *time.Duration { return &c.Worker.FetchMaxWait }, "bound on waiting for the bank's refresh task"),
	durationSetting(EnvJobTimeout, "worker.job_timeout", DefaultJobTimeout, time.Second, 24*time.Hour,
		func(c *Config) *time.Duration { return &c.Worker.JobTimeout }, "bound on one sync attempt"),
	{
		name: EnvRescueAfter, key: "worker.rescue_after", def: FormatDuration(DefaultRescueAfter),
		doc: "when River re-queues a sync whose process died; must exceed `" + EnvJobTimeout + "`; 2s to 48h",
		load: func(r *reader, c *Config) {
			c.Worker.RescueAfter = r.duration(EnvRescueAfter, DefaultRescueAfter, 2*time.Second, 48*time.Hour)
		},
		show: func(c *Config) string { return FormatDuration(c.Worker.RescueAfter) },
	},
	durationSetting(EnvRetryBase, "worker.retry_base", DefaultRetryBase, 10*time.Millisecond, time.Hour,
		func(c *Config) *time.Duration { return &c.Worker.RetryBase }, "first delay of the exponential backoff (±20% jitter) of failed syncs"),
	durationSetting(EnvRetryMax, "worker.retry_max", DefaultRetryMax, 10*time.Millisecond, 24*time.Hour,
		func(c *Config) *time.Duration { return &c.Worker.RetryMax }, "longest delay of that backoff"),
	durationSetting(EnvShutdownTimeout, "worker.shutdown_timeout", DefaultShutdownTimeout, 0, time.Hour,
		func(c *Config) *time.Duration { return &c.Worker.ShutdownTimeout }, "how long running syncs may finish on SIGTERM before they are cancelled (and resumed later)"),
	intSetting(EnvAuthFailures, "worker.auth_failure_threshold", DefaultAuthFailures, 1, 100,
		func(c *Config) *int { return &c.Worker.AuthFailureThreshold },
		"refreshes refused in a row with a non-standard authentication error (`400`/`401` other than `invalid_grant`/`invalid_client`) before the link moves to `reauth_required`"),
	durationSetting(EnvReconcileEvery, "worker.reconcile_every", DefaultReconcileEvery, time.Minute, 366*Day,
		func(c *Config) *time.Duration { return &c.Worker.ReconcileEvery },
		"how often each account's recent posted dates are re-read and repaired (tombstoning rows the bank no longer returns, correcting changed ones; `docs/bank-behaviours.md`); a suspicious sign in a sync triggers a pass sooner"),
	intSetting(EnvReconcileWindowDays, "worker.reconcile_window_days", DefaultReconcileWindow, 1, 3660,
		func(c *Config) *int { return &c.Worker.ReconcileWindowDays },
		"days of posted dates a reconciliation re-reads, counted back from the bank's clock at the previous pass (so a link that did not sync for weeks is covered too)"),
	boolSetting(EnvReconcileDisable, "worker.reconcile_disable", false,
		func(c *Config) *bool { return &c.Worker.ReconcileDisable },
		"turn every reconciliation pass off, scheduled or triggered (only for a bank whose incremental feed is proven exact: `worker probe-institution`)"),
	intSetting(EnvStalePendingDays, "worker.stale_pending_days", DefaultStalePendingDays, 0, 3660,
		func(c *Config) *int { return &c.Worker.StalePendingDays },
		"a pending transaction the bank has not dated or updated for longer than this many days is tombstoned as stale (14: the longest documented hold); `0` never does"),
	intSetting(EnvSuspectPendingDays, "worker.suspect_pending_days", DefaultSuspectPendingDays, 1, 3660,
		func(c *Config) *int { return &c.Worker.SuspectPendingDays },
		"a live pending transaction older than this many days is a suspicious sign that triggers a reconciliation"),

	{
		name: EnvUnlinkData, key: "data.unlink", def: "keep",
		doc: "what unlinking (`DELETE /api/links/{id}`) does with the link's synced data: `keep` it under the revoked link (the default; `" + EnvRetentionRevoked + "` can delete it later) or `purge` it at once; the app can override it per request with `?purge=`",
		load: func(r *reader, c *Config) {
			c.Data.UnlinkPurge = r.oneOf(EnvUnlinkData, "keep", "keep", "purge") == "purge"
		},
		show: func(c *Config) string {
			if c.Data.UnlinkPurge {
				return "purge"
			}
			return "keep"
		},
	},
	intSetting(EnvRetentionRevoked, "data.retention_revoked_link_days", 0, 0, 36600,
		func(c *Config) *int { return &c.Data.RevokedLinkDays }, "the worker deletes links revoked for longer than this many days, with all their data; `0` (the default) keeps them"),
	intSetting(EnvRetentionChangeFeed, "data.retention_change_feed_days", 0, 0, 36600,
		func(c *Config) *int { return &c.Data.ChangeFeedDays }, "the worker deletes change-feed entries older than this many days; a consumer whose cursor is older gets an error telling it to reload (`docs/sql.md`); `0` (the default) keeps them"),
	intSetting(EnvRetentionEvents, "data.retention_event_days", 0, 0, 36600,
		func(c *Config) *int { return &c.Data.EventDays }, "the worker deletes events older than this many days once their webhook is settled (delivered, dead or not configured; never a pending one); a consumer of `reporting.events_since` whose cursor is older gets an error (`docs/events.md`); `0` (the default) keeps them"),
	intSetting(EnvRetentionSyncRuns, "data.retention_sync_run_days", DefaultSyncRunDays, 1, 36600,
		func(c *Config) *int { return &c.Data.SyncRunDays }, "days of sync history (`sync_runs`) kept"),
	boolSetting(EnvProfileData, "data.profile", false,
		func(c *Config) *bool { return &c.Data.ProfileData }, "request the user profile scope at consent; off (the default) requests only the scopes the sync uses"),
}, eventSettings(), []setting{
	listenSetting(EnvMetricsAddr, "telemetry.metrics_addr", DefaultMetricsAddr,
		func(c *Config) *string { return &c.Telemetry.MetricsAddr }, "the worker's listener for `GET /metrics`"),
	boolSetting(EnvPprof, "telemetry.pprof", false,
		func(c *Config) *bool { return &c.Telemetry.Pprof }, "also serve Go's profiling handlers (`/debug/pprof/`) on the worker's metrics listener; off by default"),
	listenSetting(EnvAdminAddr, "telemetry.admin_addr", DefaultAdminAddr,
		func(c *Config) *string { return &c.Telemetry.AdminAddr }, "the link server's operator listener: `GET /metrics` and the status page at `/`"),
	stringSetting(EnvAdminToken, "telemetry.admin_token", "", true, func(c *Config) *string { return &c.Telemetry.AdminToken },
		"when set, protects the status page with HTTP Basic auth (any user name, this password)"),
	{
		name: EnvOTLPEndpoint, key: "telemetry.otlp_endpoint",
		doc: "base URL of an OTLP/HTTP collector, e.g. `http://otel-collector:4318`: traces go to `/v1/traces`, metrics to `/v1/metrics` under it " +
			"(every 60 s; `OTEL_METRIC_EXPORT_INTERVAL` in ms changes it). Headers, timeout and TLS come from the standard `OTEL_EXPORTER_OTLP_*` variables. " +
			"Unset: no trace is recorded and nothing is sent. Credentials in it are redacted wherever it is shown",
		load: func(r *reader, c *Config) { c.Telemetry.OTLPEndpoint = r.otlpEndpoint(EnvOTLPEndpoint) },
		show: func(c *Config) string { return RedactURL(c.Telemetry.OTLPEndpoint) },
	},
	{
		name: EnvTraceSampleRatio, key: "telemetry.trace_sample_ratio", def: "1",
		doc: "share of new traces recorded (0 to 1); a request carrying a sampled trace context follows its caller",
		load: func(r *reader, c *Config) {
			c.Telemetry.TraceSampleRatio = r.ratio(EnvTraceSampleRatio, DefaultTraceSampleRatio)
		},
		show: func(c *Config) string { return strconv.FormatFloat(c.Telemetry.TraceSampleRatio, 'g', -1, 64) },
	},
})
