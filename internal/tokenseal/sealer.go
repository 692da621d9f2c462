package tokenseal

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// errNoWrapper is returned by a Sealer that was not made by New.
var errNoWrapper = errors.New("tokenseal: Sealer has no key wrapper; make it with New")

// Sealer seals and opens values with envelope encryption: a fresh data key
// per value, wrapped by a [KeyWrapper]. It is safe for concurrent use when its
// wrapper is (a [KeyRing] is).
type Sealer struct {
	w KeyWrapper
}

// New returns a Sealer that wraps data keys with w, usually a [*KeyRing]. It
// panics if w is nil, which is a wiring mistake.
func New(w KeyWrapper) *Sealer {
	if w == nil {
		panic("tokenseal: New called with a nil KeyWrapper")
	}
	return &Sealer{w: w}
}

// CurrentKeyID returns the id of the key new values are sealed under.
func (s *Sealer) CurrentKeyID() string {
	if s.w == nil {
		return ""
	}
	return s.w.CurrentKeyID()
}

// Seal encrypts plaintext for c under the wrapper's current key. Two seals of
// the same plaintext differ: each uses a fresh data key and nonces.
func (s *Sealer) Seal(ctx context.Context, plaintext []byte, c Context) (Sealed, error) {
	if s.w == nil {
		return nil, errNoWrapper
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	keyID := s.w.CurrentKeyID()
	if !ValidKeyID(keyID) {
		return nil, fmt.Errorf("tokenseal: key wrapper's current key id %q is not valid", keyID)
	}

	dek := make([]byte, dataKeySize)
	defer clear(dek)
	_, _ = rand.Read(dek) // never fails; see crypto/rand.Read

	wrapped, err := s.w.Wrap(ctx, keyID, dek, associatedData(labelDataKey, formatV1, keyID, c))
	if err != nil {
		return nil, fmt.Errorf("tokenseal: seal %s: wrap data key under key %q: %w", c.Purpose, keyID, err)
	}
	if len(wrapped) == 0 || len(wrapped) > maxWrappedLen {
		return nil, fmt.Errorf("tokenseal: seal %s: wrapped data key is %d bytes, want 1..%d", c.Purpose, len(wrapped), maxWrappedLen)
	}
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, fmt.Errorf("tokenseal: seal %s: %w", c.Purpose, err)
	}

	out := make([]byte, 0, 1+1+len(keyID)+2+len(wrapped)+nonceSize+len(plaintext)+tagSize)
	out = append(out, formatV1, byte(len(keyID)))
	out = append(out, keyID...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(wrapped)))
	out = append(out, wrapped...)
	out = aead.Seal(out, nil, plaintext, associatedData(labelPayload, formatV1, keyID, c))
	return Sealed(out), nil
}

// Open decrypts a value sealed for c. It returns an error matching
// [ErrMalformed] if sv is not a well-formed sealed value, [ErrUnknownKey] if
// its key is not in the wrapper, and [ErrOpen] if it was sealed for another
// purpose or subject or was altered. Other errors come from the wrapper (a KMS
// that cannot be reached) and say nothing about the value.
func (s *Sealer) Open(ctx context.Context, sv Sealed, c Context) ([]byte, error) {
	if s.w == nil {
		return nil, errNoWrapper
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	e, err := parse(sv)
	if err != nil {
		return nil, err
	}

	dek, err := s.w.Unwrap(ctx, e.keyID, e.wrapped, associatedData(labelDataKey, e.version, e.keyID, c))
	defer clear(dek)
	if err != nil {
		if errors.Is(err, ErrOpen) || errors.Is(err, ErrUnknownKey) {
			return nil, err
		}
		return nil, fmt.Errorf("tokenseal: open %s: unwrap data key under key %q: %w", c.Purpose, e.keyID, err)
	}
	if len(dek) != dataKeySize {
		return nil, fmt.Errorf("%w: unwrapped data key under key %q is %d bytes, want %d", ErrOpen, e.keyID, len(dek), dataKeySize)
	}
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, fmt.Errorf("tokenseal: open %s: %w", c.Purpose, err)
	}
	plaintext, err := aead.Open(nil, nil, e.payload, associatedData(labelPayload, e.version, e.keyID, c))
	if err != nil {
		return nil, fmt.Errorf("%w: payload does not authenticate under key %q (wrong purpose or subject, or altered)", ErrOpen, e.keyID)
	}
	return plaintext, nil
}

// NeedsReseal reports whether sv was sealed under a key other than the
// current one, so that [Sealer.Reseal] should move it. A value that is not
// well formed also reports true, so that a re-seal pass reaches it and
// reports its error.
func (s *Sealer) NeedsReseal(sv Sealed) bool {
	id, err := KeyID(sv)
	return err != nil || id != s.CurrentKeyID()
}

// Reseal opens sv for c with whichever key sealed it and seals the plaintext
// again under the current key, with a fresh data key. Errors are those of
// [Sealer.Open] and [Sealer.Seal].
func (s *Sealer) Reseal(ctx context.Context, sv Sealed, c Context) (Sealed, error) {
	plaintext, err := s.Open(ctx, sv, c)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	return s.Seal(ctx, plaintext, c)
}
