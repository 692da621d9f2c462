package tokenseal

import "context"

// KeyWrapper wraps and unwraps data keys under named key-encryption keys. The
// local implementation is [KeyRing]; a cloud KMS (AWS KMS, Google Cloud KMS,
// Vault Transit) plugs in by implementing the same three methods.
//
// Implementations must be safe for concurrent use.
type KeyWrapper interface {
	// CurrentKeyID names the key new values are sealed under. It must be a
	// valid key id ([ValidKeyID]): a short alias, which a KMS wrapper maps
	// to its key resource name.
	CurrentKeyID() string

	// Wrap encrypts dek under the key keyID, authenticating aad, and returns
	// the wrapped key (at most 65535 bytes). [Sealer] passes the id
	// CurrentKeyID returned; an implementation may refuse any other.
	Wrap(ctx context.Context, keyID string, dek, aad []byte) ([]byte, error)

	// Unwrap reverses Wrap. It returns an error matching [ErrUnknownKey] if it
	// has no key keyID, and one matching [ErrOpen] if wrapped does not
	// authenticate under that key and aad. Any other error (a KMS that cannot
	// be reached) says nothing about the value and may be transient.
	Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) ([]byte, error)
}
