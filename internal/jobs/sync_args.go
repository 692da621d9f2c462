package jobs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queues pfmsync's workers serve.
const (
	// QueueSync runs link syncs. Interactive syncs (a new link, a manual
	// "sync now") are inserted at a higher priority than scheduled ones, so
	// a person waiting is never stuck behind the scheduled backlog.
	QueueSync = "sync"
	// QueueMaintenance runs the scheduler and clean-up jobs.
	QueueMaintenance = "maintenance"
)

// Trigger says why a sync was queued.
type Trigger string

// Sync triggers.
const (
	// TriggerLink is the first sync after a consent.
	TriggerLink Trigger = "link"
	// TriggerManual is a "sync now" from the app or an operator.
	TriggerManual Trigger = "manual"
	// TriggerScheduled is queued by the scheduler.
	TriggerScheduled Trigger = "scheduled"
	// TriggerResync is an operator's full re-sync, queued after the
	// link's sync progress was reset.
	TriggerResync Trigger = "resync"
)

// Interactive reports whether a person is likely waiting for the sync.
func (t Trigger) Interactive() bool {
	return t == TriggerLink || t == TriggerManual || t == TriggerResync
}

// River priorities (1 is served first).
const (
	priorityInteractive = 1
	priorityScheduled   = 3
)

// syncUniqueStates makes a link's sync unique while one is queued or
// running: a second insert for the same link is skipped.
var syncUniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable,
	rivertype.JobStatePending,
	rivertype.JobStateRunning,
	rivertype.JobStateRetryable,
	rivertype.JobStateScheduled,
}

// SyncArgs is the River job that syncs one link. At most one exists per
// link among queued and running jobs (unique by link id).
type SyncArgs struct {
	LinkID  string  `json:"link_id" river:"unique"`
	Trigger Trigger `json:"trigger"`
}

// Kind is the River job kind.
func (SyncArgs) Kind() string { return "sync_link" }

// InsertOpts puts syncs on QueueSync, unique per link, interactive ones
// first.
func (a SyncArgs) InsertOpts() river.InsertOpts {
	priority := priorityScheduled
	if a.Trigger.Interactive() {
		priority = priorityInteractive
	}
	return river.InsertOpts{
		Queue:       QueueSync,
		Priority:    priority,
		MaxAttempts: 12,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: syncUniqueStates},
	}
}
