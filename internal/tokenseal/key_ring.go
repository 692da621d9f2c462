package tokenseal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// KeyRing is the local [KeyWrapper]: a set of named AES-256 key-encryption
// keys, one of which is current. The current key wraps; every key unwraps.
//
// A KeyRing is immutable and safe for concurrent use. It keeps only the
// expanded AES keys, never the key bytes it was built from, and every way of
// printing it shows key ids only.
type KeyRing struct {
	current string
	// ids lists the key ids, current first, then in the order given.
	ids  []string
	keys map[string]cipher.AEAD
	// warnings holds notes from loading, see Warnings.
	warnings []string
}

var _ KeyWrapper = (*KeyRing)(nil)

// NewKeyRing builds a key ring from 32-byte keys by id; current names the key
// that seals. Key ids must be valid ([ValidKeyID]). NewKeyRing copies what it
// needs; the caller may zero the key slices afterwards.
func NewKeyRing(current string, keys map[string][]byte) (*KeyRing, error) {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		if id != current {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = append([]string{current}, ids...)
	r, err := newKeyRing(ids, func(id string) ([]byte, bool) {
		k, ok := keys[id]
		return k, ok
	})
	if err != nil {
		return nil, fmt.Errorf("tokenseal: %w", err)
	}
	return r, nil
}

// newKeyRing builds a ring from ids (current first) and a lookup of their
// keys.
func newKeyRing(ids []string, key func(id string) ([]byte, bool)) (*KeyRing, error) {
	if len(ids) == 0 || ids[0] == "" {
		return nil, errors.New("key ring has no current key")
	}
	r := &KeyRing{current: ids[0], ids: ids, keys: make(map[string]cipher.AEAD, len(ids))}
	for _, id := range ids {
		if !ValidKeyID(id) {
			return nil, fmt.Errorf("key id %q is not valid: want 1 to 64 of A-Z a-z 0-9 . _ -", id)
		}
		if _, dup := r.keys[id]; dup {
			return nil, fmt.Errorf("key id %q appears more than once", id)
		}
		k, ok := key(id)
		if !ok {
			return nil, fmt.Errorf("current key %q is not among the keys", id)
		}
		if len(k) != dataKeySize {
			return nil, fmt.Errorf("key %q is %d bytes, want %d (AES-256)", id, len(k), dataKeySize)
		}
		aead, err := newAEAD(k)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		r.keys[id] = aead
	}
	return r, nil
}

// newAEAD returns AES-256-GCM with random 96-bit nonces carried in front of
// the ciphertext. The AEAD keeps no reference to key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		// Only a wrong key length fails, and callers check it; the error
		// names the length, not the key.
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// CurrentKeyID returns the id of the key that seals.
func (r *KeyRing) CurrentKeyID() string { return r.current }

// KeyIDs returns the ids of every key in the ring, current first.
func (r *KeyRing) KeyIDs() []string { return slices.Clone(r.ids) }

// Has reports whether the ring holds a key named id.
func (r *KeyRing) Has(id string) bool {
	_, ok := r.keys[id]
	return ok
}

// Warnings returns notes about how the ring was loaded that an operator
// should see but that do not stop the service, such as a key file readable by
// other users. The caller logs them. They never contain key material.
func (r *KeyRing) Warnings() []string { return slices.Clone(r.warnings) }

// Wrap encrypts dek under the key keyID (any key in the ring; [Sealer] uses
// the current one), authenticating aad. The result is a 12-byte nonce, the
// encrypted key and a 16-byte tag.
func (r *KeyRing) Wrap(ctx context.Context, keyID string, dek, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tokenseal: wrap data key: %w", err)
	}
	aead, ok := r.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not in the key ring", ErrUnknownKey, keyID)
	}
	return aead.Seal(nil, nil, dek, aad), nil
}

// Unwrap decrypts a data key wrapped by [KeyRing.Wrap] under keyID with aad.
func (r *KeyRing) Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tokenseal: unwrap data key: %w", err)
	}
	aead, ok := r.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not in the key ring (keys: %s)", ErrUnknownKey, keyID, strings.Join(r.ids, ", "))
	}
	dek, err := aead.Open(nil, nil, wrapped, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: data key does not authenticate under key %q (wrong purpose or subject, or altered)", ErrOpen, keyID)
	}
	return dek, nil
}

// String describes the ring by key ids only, e.g. "KeyRing(current v2; v2, v1)".
func (r *KeyRing) String() string {
	if r == nil {
		return "KeyRing(nil)"
	}
	return fmt.Sprintf("KeyRing(current %s; %s)", r.current, strings.Join(r.ids, ", "))
}

// GoString is the %#v form; like String it shows key ids only.
func (r *KeyRing) GoString() string { return "tokenseal." + r.String() }

// Format implements fmt.Formatter so that no verb prints the keys.
func (r *KeyRing) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, r.GoString())
		return
	}
	_, _ = fmt.Fprint(f, r.String())
}

// LogValue implements slog.LogValuer with the String form.
func (r *KeyRing) LogValue() slog.Value { return slog.StringValue(r.String()) }
