package jobs

import "time"

// SyncConfig tunes how a link is synced. The zero value of each field
// selects its default.
type SyncConfig struct {
	// BackfillDepth is how far back the first sync reads (default 2 years).
	BackfillDepth time.Duration
	// BackfillWindow is the span of posted dates read per backfill step,
	// newest first; progress commits after each window (default 90 days).
	BackfillWindow time.Duration
	// Overlap is subtracted from the watermark for updatedSince, to absorb
	// clock differences inside the bank (default 1 hour).
	Overlap time.Duration
	// PageSize is the transactions page size (default and maximum 500).
	PageSize int
	// PageOverlap is how many rows consecutive pages overlap, so a row that
	// shifts between two page reads is never skipped (default 25).
	PageOverlap int
	// FetchOnInteractive asks the bank to refresh (PUT /fetch) before a
	// first or manual sync (default true; set DisableFetchOnInteractive).
	DisableFetchOnInteractive bool
	// FetchOnScheduled asks the bank to refresh before scheduled syncs too.
	FetchOnScheduled bool
	// FetchMaxWait bounds the wait for a refresh task (default 30 s).
	FetchMaxWait time.Duration
	// JobTimeout bounds one sync attempt (default 30 minutes).
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
}

func (c SyncConfig) withDefaults() SyncConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.BackfillDepth, 730*24*time.Hour)
	def(&c.BackfillWindow, 90*24*time.Hour)
	def(&c.Overlap, time.Hour)
	def(&c.FetchMaxWait, 30*time.Second)
	def(&c.JobTimeout, 30*time.Minute)
	def(&c.SlotWait, 5*time.Second)
	def(&c.MaxRateLimitSnooze, time.Hour)
	if c.StalePendingAge == 0 {
		c.StalePendingAge = 14 * 24 * time.Hour
	}
	if c.ReconcileEvery == 0 {
		c.ReconcileEvery = 24 * time.Hour
	}
	def(&c.ReconcileWindow, 45*24*time.Hour)
	def(&c.SuspectPendingAge, 7*24*time.Hour)
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
	return c
}
