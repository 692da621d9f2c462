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
)
