package pfm

import "errors"

// Sentinel errors returned across package boundaries. Callers match them with
// errors.Is; the wrapping error says what was being done.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")

	// ErrConflict means the write would violate a uniqueness rule.
	ErrConflict = errors.New("conflict")

	// ErrInvalid means a value was refused by a validation rule.
	ErrInvalid = errors.New("invalid")

	// ErrConsentRequestUsed means a consent request's state was already
	// consumed by an earlier callback (a replay).
	ErrConsentRequestUsed = errors.New("consent request already used")

	// ErrConsentRequestExpired means a consent request outlived its expiry.
	ErrConsentRequestExpired = errors.New("consent request expired")

	// ErrStaleToken means a sealed token changed since it was read: another
	// process (a re-consent, a concurrent refresh) wrote a newer one.
	ErrStaleToken = errors.New("sealed token changed concurrently")
)
