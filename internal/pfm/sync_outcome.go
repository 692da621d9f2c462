package pfm

// SyncOutcome is how one sync attempt ended. It is stored in
// sync_runs.outcome and is the "outcome" label of the sync metrics; the
// constants' values are that vocabulary, so they never change.
type SyncOutcome string

// Sync outcomes.
const (
	// OutcomeSuccess: everything granted was synced.
	OutcomeSuccess SyncOutcome = "success"
	// OutcomePartial: what was granted was synced, but a scope was refused
	// (not granted, or answered 403); the error class is ClassForbidden.
	OutcomePartial SyncOutcome = "partial"
	// OutcomeSnoozed: the bank rate limited the sync; it runs again later
	// without using up an attempt.
	OutcomeSnoozed SyncOutcome = "snoozed"
	// OutcomeFailed: the attempt failed; the error class says why.
	OutcomeFailed SyncOutcome = "failed"
	// OutcomeReauthRequired: the bank refused the refresh token; the user
	// must consent again.
	OutcomeReauthRequired SyncOutcome = "reauth_required"
	// OutcomeSkipped: there was nothing to sync (the link is gone).
	OutcomeSkipped SyncOutcome = "skipped"
)

// SyncOutcomes lists every sync outcome.
func SyncOutcomes() []SyncOutcome {
	return []SyncOutcome{OutcomeSuccess, OutcomePartial, OutcomeSnoozed, OutcomeFailed, OutcomeReauthRequired, OutcomeSkipped}
}

// Succeeded reports whether the outcome counts as a successful sync
// (success or partial).
func (o SyncOutcome) Succeeded() bool { return o == OutcomeSuccess || o == OutcomePartial }

// Failed reports whether the outcome counts as a failed sync (failed or
// reauth_required). Snoozed and skipped runs are neither.
func (o SyncOutcome) Failed() bool { return o == OutcomeFailed || o == OutcomeReauthRequired }
