package tokenseal

import "errors"

// Sentinel errors. Match them with errors.Is; the returned errors wrap them
// with detail (the key id, which part failed) but never with a plaintext, a
// data key or key material.
var (
	// ErrMalformed reports a sealed value that is not a well-formed value of a
	// known format version: empty, truncated, or with an impossible length or
	// key id.
	ErrMalformed = errors.New("tokenseal: malformed sealed value")

	// ErrUnknownKey reports a sealed value whose key id is not held by the
	// key wrapper, typically a key removed from the ring before every value
	// sealed under it was re-sealed. The wrapped error names the key id.
	ErrUnknownKey = errors.New("tokenseal: unknown key")

	// ErrOpen reports a sealed value that fails authentication: opened for
	// another purpose or subject than it was sealed for, sealed under a
	// different key of the same name, or altered.
	ErrOpen = errors.New("tokenseal: sealed value does not open")
)
