package jobs

import (
	"time"

	"github.com/pfmsync/pfmsync/internal/config"
)

// SyncConfig tunes how a link is synced. Start from DefaultSyncConfig:
// Overlap and FetchOnInteractive take their zero values literally (no
// overlap; no refresh), while a zero or negative value of any other field
// selects its default.
type SyncConfig struct {
	// BackfillDepth is how far back the first sync reads.
	BackfillDepth time.Duration
	// BackfillWindow is the span of posted dates read per backfill step,
	// newest first; progress commits after each window.
	BackfillWindow time.Duration
	// Overlap is subtracted from the watermark for updatedSince, to absorb
	// clock differences inside the bank; 0 means none.
	Overlap time.Duration
	// AccountConcurrency is how many readers of one link's transactions a
	// sync runs at once, each with at most one request to the bank in
	// flight (default config.DefaultAccountConcurrency): one per account,
	// and once an account is done, a second one for an account with
	// backfill windows left (backfillHelpers). With a bank that takes a
	// few hundred milliseconds per request, a link's sync is then as long
	// as its longest account's chain of requests, not their sum, and that
	// chain is shared by two readers once the others are done.
	AccountConcurrency int
	// AccountReaders is how many readers one account's backfill may have
	// (default config.DefaultAccountReaders): 2 lets a second reader take
	// its windows once another account of the link is done; 1 keeps one
	// reader, one request in flight, per account. An account never has
	// more than two readers: larger values act as 2.
	AccountReaders int
	// PageSize is the transactions page size (default and maximum 500).
	PageSize int
	// PageOverlap is how many rows consecutive pages overlap, so a row that
	// shifts between two page reads is never skipped (default 25).
	PageOverlap int
	// FetchOnInteractive asks the bank to refresh (PUT /fetch) before an
	// interactive sync (first, manual or resync).
	FetchOnInteractive bool
	// FetchOnScheduled asks the bank to refresh before scheduled syncs too.
	FetchOnScheduled bool
	// FetchMaxWait bounds the wait for a refresh task.
	FetchMaxWait time.Duration
	// JobTimeout bounds one sync attempt.
	JobTimeout time.Duration
	// SlotWait is how long a sync waits for a free per-institution slot
	// before snoozing (default 5 s).
	SlotWait time.Duration
	// Jitter spreads next_sync_at by up to this fraction of the interval
	// (default 0.1).
	Jitter float64
	// MaxRateLimitSnooze caps a snooze asked for by Retry-After (default 1h).
	MaxRateLimitSnooze time.Duration
	// StalePendingAge: a pending row the bank has not dated or updated for
	// longer than this (by the bank's clock) is tombstoned as stale
	// (default 14 days, the longest documented hold; negative disables).
	StalePendingAge time.Duration
	// ReconcileEvery is how often each account's recent window is
	// reconciled (default 24 hours; negative disables the scheduled pass,
	// the pass after a suspicious sign still runs).
	ReconcileEvery time.Duration
	// ReconcileWindow is the span of recent posted dates a reconciliation
	// re-reads (default 45 days).
	ReconcileWindow time.Duration
	// SuspectPendingAge: a live pending row older than this (by the bank's
	// clock) is a suspicious sign that triggers a reconciliation (default
	// 7 days).
	SuspectPendingAge time.Duration
	// DisableReconcile turns every reconciliation pass off.
	DisableReconcile bool
	// AuthFailureThreshold is how many refreshes in a row may be refused
	// with a non-standard authentication error before the link moves to
	// reauth_required (default config.DefaultAuthFailures).
	AuthFailureThreshold int
}

// DefaultSyncConfig is the sync configuration of an unconfigured worker:
// the defaults of internal/config's settings, and this package's own for
// the fields that are not settings.
func DefaultSyncConfig() SyncConfig {
	return SyncConfig{
		BackfillDepth:      config.DefaultBackfillDays * config.Day,
		BackfillWindow:     config.DefaultBackfillWindowDays * config.Day,
		Overlap:            config.DefaultOverlap,
		FetchOnInteractive: config.DefaultFetchOnInteractive,
		FetchOnScheduled:   config.DefaultFetchOnScheduled,
		FetchMaxWait:       config.DefaultFetchMaxWait,
		JobTimeout:         config.DefaultJobTimeout,
	}.withDefaults()
}

// SyncConfigFrom is the sync configuration of a worker configured by w.
func SyncConfigFrom(w config.Worker) SyncConfig {
	return SyncConfig{
		BackfillDepth:      time.Duration(w.BackfillDays) * config.Day,
		BackfillWindow:     time.Duration(w.BackfillWindowDays) * config.Day,
		Overlap:            w.Overlap,
		FetchOnInteractive: w.FetchOnInteractive,
		FetchOnScheduled:   w.FetchOnScheduled,
		FetchMaxWait:       w.FetchMaxWait,
		JobTimeout:         w.JobTimeout,
		AccountConcurrency: w.AccountConcurrency,
		AccountReaders:     w.AccountReaders,

		AuthFailureThreshold: w.AuthFailureThreshold,

		ReconcileEvery:    w.ReconcileEvery,
		ReconcileWindow:   time.Duration(w.ReconcileWindowDays) * config.Day,
		DisableReconcile:  w.ReconcileDisable,
		StalePendingAge:   stalePendingAge(w.StalePendingDays),
		SuspectPendingAge: time.Duration(w.SuspectPendingDays) * config.Day,
	}.withDefaults()
}

// stalePendingAge maps the setting's days to StalePendingAge, where 0
// days (never) is a negative age.
func stalePendingAge(days int) time.Duration {
	if days <= 0 {
		return -1
	}
	return time.Duration(days) * config.Day
}

// withDefaults fills every unset field that has a default.
func (c SyncConfig) withDefaults() SyncConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.BackfillDepth, config.DefaultBackfillDays*config.Day)
	def(&c.BackfillWindow, config.DefaultBackfillWindowDays*config.Day)
	def(&c.FetchMaxWait, config.DefaultFetchMaxWait)
	def(&c.JobTimeout, config.DefaultJobTimeout)
	def(&c.SlotWait, 5*time.Second)
	def(&c.MaxRateLimitSnooze, time.Hour)
	c.Overlap = max(c.Overlap, 0)
	if c.StalePendingAge == 0 {
		c.StalePendingAge = config.DefaultStalePendingDays * config.Day
	}
	if c.ReconcileEvery == 0 {
		c.ReconcileEvery = config.DefaultReconcileEvery
	}
	def(&c.ReconcileWindow, config.DefaultReconcileWindow*config.Day)
	def(&c.SuspectPendingAge, config.DefaultSuspectPendingDays*config.Day)
	if c.AccountConcurrency <= 0 {
		c.AccountConcurrency = config.DefaultAccountConcurrency
	}
	if c.AccountReaders <= 0 {
		c.AccountReaders = config.DefaultAccountReaders
	}
	if c.PageSize <= 0 || c.PageSize > 500 {
		c.PageSize = 500
	}
	if c.PageOverlap <= 0 {
		c.PageOverlap = 25
	}
	if c.PageOverlap >= c.PageSize {
		c.PageOverlap = c.PageSize / 2
	}
	if c.Jitter <= 0 {
		c.Jitter = 0.1
	}
	if c.AuthFailureThreshold <= 0 {
		c.AuthFailureThreshold = config.DefaultAuthFailures
	}
	return c
}
