package tokenseal

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOpen checks that Open and KeyID never panic and fail only with the
// package's sentinels on arbitrary input, and that nothing but the genuine
// value opens.
func FuzzOpen(f *testing.F) {
	ring := testRing(f, "v2", "v1")
	s := New(ring)
	c := Context{Purpose: PurposeRefreshToken, Subject: "link-1"}
	genuine, err := s.Seal(f.Context(), []byte("fuzz-plaintext"), c)
	require.NoError(f, err)
	old, err := New(testRing(f, "v1")).Seal(f.Context(), nil, c)
	require.NoError(f, err)
	unknown, err := New(testRing(f, "v0")).Seal(f.Context(), []byte("x"), c)
	require.NoError(f, err)

	for _, seed := range [][]byte{
		nil, {}, {0}, {1}, {1, 0}, {1, 2, 'v', '1'}, {2, 2, 'v', '1', 0, 1, 0},
		genuine, old, unknown, genuine[:len(genuine)-1], genuine[:20],
		append(bytes.Clone(genuine), 0), bytes.Repeat([]byte{0xff}, 200),
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		id, idErr := KeyID(data)
		if idErr != nil {
			require.ErrorIs(t, idErr, ErrMalformed)
			require.True(t, s.NeedsReseal(data))
		} else {
			require.True(t, ValidKeyID(id))
		}

		plain, err := s.Open(t.Context(), data, c)
		if err == nil {
			require.NoError(t, idErr)
			// Seeds come from whichever process set the fuzz target up, so
			// a genuine value is recognised by what it holds: the keys and
			// context are fixed and only these plaintexts are ever sealed.
			require.True(t, string(plain) == "fuzz-plaintext" || len(plain) == 0, "forged value opened")
			require.Contains(t, []string{"v1", "v2"}, id)
			return
		}
		require.Nil(t, plain)
		require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrOpen), "unexpected error %v", err)
		require.Equal(t, idErr != nil, errors.Is(err, ErrMalformed))
		require.NotContains(t, err.Error(), "fuzz-plaintext")
	})
}

// FuzzParseKeyRing checks that ParseKeyRing never panics and that its errors
// never repeat the text after a colon (the key).
func FuzzParseKeyRing(f *testing.F) {
	for _, seed := range []string{
		"", ",", "v1:" + testKeyB64(1), "v2:" + testKeyB64(2) + ",v1:" + testKeyB64(1),
		"v1:" + testKeyB64(1)[:20], testKeyB64(1), "v1:" + testKeyB64(1) + ",v1:" + testKeyB64(2),
		"a b:c", "v1:====", ":::",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		r, err := ParseKeyRing(spec)
		if err == nil {
			require.True(t, ValidKeyID(r.CurrentKeyID()))
			return
		}
		require.Nil(t, r)
		entries := strings.Split(spec, ",")
		for _, entry := range entries {
			_, key, ok := strings.Cut(entry, ":")
			if key = strings.TrimSpace(key); !ok || len(key) < 16 {
				continue
			}
			// An error may name a key id; skip keys that are one.
			if slices.ContainsFunc(entries, func(e string) bool {
				id, _, _ := strings.Cut(e, ":")
				return strings.Contains(id, key)
			}) {
				continue
			}
			require.NotContains(t, err.Error(), key)
		}
	})
}
