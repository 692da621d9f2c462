package pfm

// ErrorClass says why a sync (or a revocation) failed, by what can be done
// about it. It is stored in links.last_error_class and
// sync_runs.error_class, shown on the status page and in the link API, and
// is the "error_class" label of the metrics; the constants' values are that
// vocabulary, so they never change. The empty class means no error.
type ErrorClass string

// Error classes. The first group classifies the bank's answers (the jobs
// map every kind of the Consumer API client's errors to one of them); the
// second, failures on pfmsync's side.
const (
	// ClassUnauthorized: the Consumer API answered 401 even after a fresh
	// access token.
	ClassUnauthorized ErrorClass = "unauthorized"
	// ClassForbidden: a scope was not granted or was refused (403).
	ClassForbidden ErrorClass = "forbidden"
	// ClassNotFound: the bank answered 404.
	ClassNotFound ErrorClass = "not_found"
	// ClassRateLimited: the bank answered 429 (or 503 with Retry-After), or
	// the institution's request budget ran out.
	ClassRateLimited ErrorClass = "rate_limited"
	// ClassTransient: a 5xx, a timeout, a reset connection, a truncated
	// body: retried later with backoff.
	ClassTransient ErrorClass = "transient"
	// ClassPermanent: another 4xx, a malformed or oversized body, an
	// invalid request: retrying will not help.
	ClassPermanent ErrorClass = "permanent"
	// ClassConsentRevoked: the bank refused the refresh token
	// (invalid_grant); the user must consent again.
	ClassConsentRevoked ErrorClass = "consent_revoked"
	// ClassCanceled: the attempt was canceled or timed out (shutdown, job
	// timeout).
	ClassCanceled ErrorClass = "canceled"
	// ClassRepeatedPage: the bank answered a transactions page with the
	// previous page again (it ignores offset); the pass stops instead of
	// looping until the job times out.
	ClassRepeatedPage ErrorClass = "repeated_page"
	// ClassMalformed: a record from the bank cannot be stored faithfully
	// (no id, amount or date).
	ClassMalformed ErrorClass = "malformed"
	// ClassQuarantined: the sync stored everything but records it set
	// aside in quarantine (a partial run, not a failure).
	ClassQuarantined ErrorClass = "quarantined"

	// ClassTokenUnreadable: the sealed refresh token does not open (key
	// ring problem).
	ClassTokenUnreadable ErrorClass = "token_unreadable"
	// ClassInstitutionNotConfigured: the link's institution is not
	// configured in this process.
	ClassInstitutionNotConfigured ErrorClass = "institution_not_configured"
	// ClassLinkGone: the link was deleted while it synced.
	ClassLinkGone ErrorClass = "link_gone"
	// ClassJobDiscarded: a sync job used up its attempts (failures or
	// rescues after a crash) and was discarded; the link was scheduled
	// again.
	ClassJobDiscarded ErrorClass = "job_discarded"
	// ClassInternal: any other failure on pfmsync's side.
	ClassInternal ErrorClass = "internal"
	// ClassUnknown stands for a failure recorded without a class (reports
	// only; never recorded).
	ClassUnknown ErrorClass = "unknown"
)

// ErrorClasses lists every error class.
func ErrorClasses() []ErrorClass {
	return []ErrorClass{
		ClassUnauthorized, ClassForbidden, ClassNotFound, ClassRateLimited, ClassTransient, ClassPermanent,
		ClassConsentRevoked, ClassCanceled, ClassRepeatedPage, ClassMalformed, ClassQuarantined,
		ClassTokenUnreadable, ClassInstitutionNotConfigured, ClassLinkGone, ClassJobDiscarded, ClassInternal, ClassUnknown,
	}
}
