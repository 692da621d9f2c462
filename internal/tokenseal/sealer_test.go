package tokenseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()

	for _, size := range []int{0, 1, 43, 1024, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			plain := bytes.Repeat([]byte{0xa5}, size)

			s, err := b.sealer.Seal(t.Context(), plain, b.ctx)
			require.NoError(t, err)
			require.Len(t, s, 92+len("v1")+size)

			got, err := b.sealer.Open(t.Context(), s, b.ctx)
			require.NoError(t, err)
			require.Equal(t, len(plain), len(got))
			require.True(t, bytes.Equal(plain, got))
		})
	}
}

func TestSealDoesNotContainPlaintext(t *testing.T) {
	t.Parallel()
	b := setup(t)

	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)
	require.False(t, bytes.Contains(s, b.plain))
}

func TestSealTwiceDiffers(t *testing.T) {
	t.Parallel()
	b := setup(t)

	s1, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)
	s2, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)
	require.NotEqual(t, s1, s2)

	e1, err := parse(s1)
	require.NoError(t, err)
	e2, err := parse(s2)
	require.NoError(t, err)
	require.NotEqual(t, e1.wrapped, e2.wrapped, "fresh data key and wrap nonce")
	require.NotEqual(t, e1.payload[:nonceSize], e2.payload[:nonceSize], "fresh payload nonce")
}

func TestOpenWrongContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	for name, c := range map[string]Context{
		"other subject":  {Purpose: b.ctx.Purpose, Subject: "0b7e5d3c-1a2f-4e6d-8c9b-7a5f3e1d2c4b"},
		"other purpose":  {Purpose: PurposePKCEVerifier, Subject: b.ctx.Subject},
		"subject prefix": {Purpose: b.ctx.Purpose, Subject: b.ctx.Subject[:10]},
		"fields swapped": {Purpose: b.ctx.Subject, Subject: b.ctx.Purpose},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := b.sealer.Open(t.Context(), s, c)
			require.ErrorIs(t, err, ErrOpen)
			require.Nil(t, got)
			require.Contains(t, err.Error(), `key "v1"`)
			requireNoSecret(t, err, b.plain, testKey(seedOf("v1")))
		})
	}
}

func TestOpenTamperedEveryByte(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	for i := range s {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			tampered := bytes.Clone(s)
			tampered[i] ^= flip
			got, err := b.sealer.Open(t.Context(), tampered, b.ctx)
			require.Error(t, err, "byte %d ^ %#x", i, flip)
			require.Nil(t, got)
			require.True(t,
				errors.Is(err, ErrOpen) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnknownKey),
				"byte %d ^ %#x: unexpected error %v", i, flip, err)
			requireNoSecret(t, err, b.plain)
		}
	}

	// Payload bytes authenticate under an unwrapped data key: ErrOpen.
	tampered := bytes.Clone(s)
	tampered[len(tampered)-1] ^= 1
	_, err = b.sealer.Open(t.Context(), tampered, b.ctx)
	require.ErrorIs(t, err, ErrOpen)
	require.Contains(t, err.Error(), "payload")

	// Appending a byte is tampering too.
	_, err = b.sealer.Open(t.Context(), append(bytes.Clone(s), 0), b.ctx)
	require.ErrorIs(t, err, ErrOpen)
}

func TestOpenSwappedParts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s1, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)
	s2, err := b.sealer.Seal(t.Context(), []byte("another token"), b.ctx)
	require.NoError(t, err)
	e1, err := parse(s1)
	require.NoError(t, err)
	e2, err := parse(s2)
	require.NoError(t, err)

	// The wrapped data key of one value with the payload of another.
	mixed := bytes.Clone(s1[:len(s1)-len(e1.payload)])
	mixed = append(mixed, e2.payload...)
	_, err = b.sealer.Open(t.Context(), mixed, b.ctx)
	require.ErrorIs(t, err, ErrOpen)
}

func TestOpenTruncated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	// Every prefix short of the smallest possible payload is malformed.
	minLen := len(s) - len(b.plain)
	for n := 0; n < minLen; n++ {
		_, err := b.sealer.Open(t.Context(), s[:n], b.ctx)
		require.ErrorIs(t, err, ErrMalformed, "prefix of %d bytes", n)
		_, err = KeyID(s[:n])
		require.ErrorIs(t, err, ErrMalformed, "prefix of %d bytes", n)
	}
	// Longer prefixes cut the payload: they fail authentication.
	for n := minLen; n < len(s); n++ {
		_, err := b.sealer.Open(t.Context(), s[:n], b.ctx)
		require.ErrorIs(t, err, ErrOpen, "prefix of %d bytes", n)
	}

	_, err = b.sealer.Open(t.Context(), nil, b.ctx)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "empty")
}

func TestOpenMalformed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		mutate func(s []byte) []byte
		msg    string
	}{
		"future version": {func(s []byte) []byte { s[0] = 2; return s }, "unknown format version 2"},
		"zero key id":    {func(s []byte) []byte { s[1] = 0; return s }, "key id length 0"},
		"long key id":    {func(s []byte) []byte { s[1] = 65; return s }, "key id length 65"},
		"bad key id":     {func(s []byte) []byte { s[2] = '/'; return s }, "characters outside"},
		"empty wrapped":  {func(s []byte) []byte { s[4], s[5] = 0, 0; return s }, "empty wrapped data key"},
		"huge wrapped":   {func(s []byte) []byte { s[4], s[5] = 0xff, 0xff; return s }, "truncated in the wrapped data key"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := b.sealer.Open(t.Context(), tc.mutate(bytes.Clone(s)), b.ctx)
			require.ErrorIs(t, err, ErrMalformed)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := Context{Purpose: PurposeRefreshToken, Subject: "link-1"}
	plain := []byte("refresh-token-under-v1")

	old := New(testRing(t, "v1"))
	sealedV1, err := old.Seal(ctx, plain, c)
	require.NoError(t, err)
	require.False(t, old.NeedsReseal(sealedV1))

	// Rotation: v2 is current, v1 is kept to open.
	rotated := New(testRing(t, "v2", "v1"))
	require.Equal(t, "v2", rotated.CurrentKeyID())
	got, err := rotated.Open(ctx, sealedV1, c)
	require.NoError(t, err)
	require.Equal(t, plain, got)
	require.True(t, rotated.NeedsReseal(sealedV1))

	sealedV2, err := rotated.Reseal(ctx, sealedV1, c)
	require.NoError(t, err)
	require.False(t, rotated.NeedsReseal(sealedV2))
	id, err := KeyID(sealedV2)
	require.NoError(t, err)
	require.Equal(t, "v2", id)

	// Once every value is re-sealed, v1 can go.
	only := New(testRing(t, "v2"))
	got, err = only.Open(ctx, sealedV2, c)
	require.NoError(t, err)
	require.Equal(t, plain, got)

	// A value still under the removed key names it.
	_, err = only.Open(ctx, sealedV1, c)
	require.ErrorIs(t, err, ErrUnknownKey)
	require.ErrorContains(t, err, `"v1"`)
	requireNoSecret(t, err, plain, testKey(seedOf("v1")), testKey(seedOf("v2")))

	// Re-sealing a value in the wrong context fails like Open.
	_, err = rotated.Reseal(ctx, sealedV1, Context{Purpose: PurposeRefreshToken, Subject: "link-2"})
	require.ErrorIs(t, err, ErrOpen)
}

func TestSameIDDifferentKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	other, err := NewKeyRing("v1", map[string][]byte{"v1": testKey(0x33)})
	require.NoError(t, err)
	_, err = New(other).Open(t.Context(), s, b.ctx)
	require.ErrorIs(t, err, ErrOpen)
}

func TestNeedsResealMalformed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.True(t, b.sealer.NeedsReseal(nil))
	require.True(t, b.sealer.NeedsReseal(Sealed{1, 2, 3}))
	_, err := b.sealer.Reseal(t.Context(), Sealed{1, 2, 3}, b.ctx)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	ring := testRing(t, "2026-11", "v1")
	s, err := New(ring).Seal(t.Context(), []byte("x"), Context{Purpose: "p", Subject: "s"})
	require.NoError(t, err)

	id, err := KeyID(s)
	require.NoError(t, err)
	require.Equal(t, "2026-11", id)
	require.Equal(t, byte(formatV1), s[0])

	_, err = KeyID(Sealed("not a sealed value"))
	require.ErrorIs(t, err, ErrMalformed)
}

func TestContextValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	for _, c := range []Context{{}, {Purpose: "p"}, {Subject: "s"}} {
		_, err := b.sealer.Seal(t.Context(), b.plain, c)
		require.ErrorContains(t, err, "empty")
		requireNoSecret(t, err, b.plain)
		_, err = b.sealer.Open(t.Context(), s, c)
		require.ErrorContains(t, err, "empty")
	}
	require.Equal(t, "refresh_token/"+b.ctx.Subject, b.ctx.String())
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.sealer.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = b.sealer.Seal(ctx, b.plain, b.ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = b.sealer.Open(ctx, s, b.ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrOpen)
}

func TestZeroSealer(t *testing.T) {
	t.Parallel()
	var s Sealer
	_, err := s.Seal(t.Context(), []byte("x"), Context{Purpose: "p", Subject: "s"})
	require.ErrorIs(t, err, errNoWrapper)
	_, err = s.Open(t.Context(), Sealed{1}, Context{Purpose: "p", Subject: "s"})
	require.ErrorIs(t, err, errNoWrapper)
	require.Empty(t, s.CurrentKeyID())
	require.Panics(t, func() { New(nil) })
}

// fakeKMS is a KeyWrapper standing in for a remote KMS: it wraps with a key
// ring under an alias and can fail like an unreachable service.
type fakeKMS struct {
	ring *KeyRing
	down error
	// prefix makes wrapped keys longer than a KeyRing's, as KMS blobs are.
	prefix []byte
}

func (f *fakeKMS) CurrentKeyID() string { return f.ring.CurrentKeyID() }

func (f *fakeKMS) Wrap(ctx context.Context, keyID string, dek, aad []byte) ([]byte, error) {
	if f.down != nil {
		return nil, f.down
	}
	w, err := f.ring.Wrap(ctx, keyID, dek, aad)
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(f.prefix), w...), nil
}

func (f *fakeKMS) Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) ([]byte, error) {
	if f.down != nil {
		return nil, f.down
	}
	if !bytes.HasPrefix(wrapped, f.prefix) {
		return nil, fmt.Errorf("%w: not a blob of this KMS", ErrOpen)
	}
	return f.ring.Unwrap(ctx, keyID, wrapped[len(f.prefix):], aad)
}

func TestPluggableWrapper(t *testing.T) {
	t.Parallel()
	b := setup(t)
	kms := &fakeKMS{ring: testRing(t, "kms-2026"), prefix: bytes.Repeat([]byte{0xcc}, 200)}
	s := New(kms)

	sv, err := s.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)
	got, err := s.Open(t.Context(), sv, b.ctx)
	require.NoError(t, err)
	require.Equal(t, b.plain, got)
	id, err := KeyID(sv)
	require.NoError(t, err)
	require.Equal(t, "kms-2026", id)

	_, err = s.Open(t.Context(), sv, Context{Purpose: "p", Subject: "s"})
	require.ErrorIs(t, err, ErrOpen)

	// An unreachable KMS is neither ErrOpen nor ErrUnknownKey.
	unreachable := errors.New("kms: connection refused")
	down := New(&fakeKMS{ring: kms.ring, prefix: kms.prefix, down: unreachable})
	_, err = down.Open(t.Context(), sv, b.ctx)
	require.ErrorIs(t, err, unreachable)
	require.NotErrorIs(t, err, ErrOpen)
	require.NotErrorIs(t, err, ErrUnknownKey)
	require.ErrorContains(t, err, `key "kms-2026"`)
	_, err = down.Seal(t.Context(), b.plain, b.ctx)
	require.ErrorIs(t, err, unreachable)

	// A wrapper with a malformed current key id is refused before wrapping.
	bad := New(badIDWrapper{kms})
	_, err = bad.Seal(t.Context(), b.plain, b.ctx)
	require.ErrorContains(t, err, "not valid")

	// A wrapper whose blob does not fit the two-byte length is refused.
	huge := New(&fakeKMS{ring: kms.ring, prefix: make([]byte, maxWrappedLen)})
	_, err = huge.Seal(t.Context(), b.plain, b.ctx)
	require.ErrorContains(t, err, "wrapped data key is")
}

type badIDWrapper struct{ KeyWrapper }

func (badIDWrapper) CurrentKeyID() string { return "projects/p/keys/k" }

func TestConcurrentSealOpen(t *testing.T) {
	t.Parallel()
	ring := testRing(t, "v2", "v1")
	s := New(ring)
	oldSealed, err := New(testRing(t, "v1")).Seal(t.Context(), []byte("old"), Context{Purpose: PurposeRefreshToken, Subject: "old"})
	require.NoError(t, err)

	const goroutines, rounds = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				c := Context{Purpose: PurposeRefreshToken, Subject: fmt.Sprintf("link-%d-%d", g, i)}
				plain := []byte(fmt.Sprintf("token-%d-%d", g, i))
				sv, err := s.Seal(t.Context(), plain, c)
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Open(t.Context(), sv, c)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, plain) {
					errs <- fmt.Errorf("goroutine %d round %d: wrong plaintext", g, i)
					return
				}
				if _, err := s.Reseal(t.Context(), oldSealed, Context{Purpose: PurposeRefreshToken, Subject: "old"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// shortKeyWrapper unwraps to a data key of the wrong size, as a broken KMS
// adapter might.
type shortKeyWrapper struct{ KeyWrapper }

func (w shortKeyWrapper) Unwrap(ctx context.Context, keyID string, wrapped, aad []byte) ([]byte, error) {
	dek, err := w.KeyWrapper.Unwrap(ctx, keyID, wrapped, aad)
	if err != nil {
		return nil, err
	}
	return dek[:16], nil
}

func TestOpenWrongSizeDataKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := New(shortKeyWrapper{b.ring})
	sv, err := s.Seal(t.Context(), b.plain, b.ctx)
	require.NoError(t, err)
	_, err = s.Open(t.Context(), sv, b.ctx)
	require.ErrorIs(t, err, ErrOpen)
	require.ErrorContains(t, err, "is 16 bytes, want 32")
}
