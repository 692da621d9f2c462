package tokenseal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewKeyRing(t *testing.T) {
	t.Parallel()

	r, err := NewKeyRing("v3", map[string][]byte{"v1": testKey(1), "v3": testKey(3), "v2": testKey(2)})
	require.NoError(t, err)
	require.Equal(t, "v3", r.CurrentKeyID())
	require.Equal(t, []string{"v3", "v1", "v2"}, r.KeyIDs())
	require.True(t, r.Has("v1"))
	require.False(t, r.Has("v4"))
	require.Empty(t, r.Warnings())

	// The ring keeps no reference to the caller's key bytes.
	k := testKey(9)
	r, err = NewKeyRing("k", map[string][]byte{"k": k})
	require.NoError(t, err)
	s, err := New(r).Seal(t.Context(), []byte("x"), Context{Purpose: "p", Subject: "s"})
	require.NoError(t, err)
	clear(k)
	_, err = New(r).Open(t.Context(), s, Context{Purpose: "p", Subject: "s"})
	require.NoError(t, err)
}

func TestNewKeyRingErrors(t *testing.T) {
	t.Parallel()

	for name, tc := range map[string]struct {
		current string
		keys    map[string][]byte
		msg     string
	}{
		"no keys":         {"v1", nil, `current key "v1" is not among the keys`},
		"no current":      {"", map[string][]byte{"v1": testKey(1)}, "no current key"},
		"current missing": {"v2", map[string][]byte{"v1": testKey(1)}, `current key "v2" is not among the keys`},
		"short key":       {"v1", map[string][]byte{"v1": testKey(1)[:16]}, `key "v1" is 16 bytes, want 32`},
		"long key":        {"v1", map[string][]byte{"v1": append(testKey(1), 0)}, `key "v1" is 33 bytes, want 32`},
		"bad id":          {"v1", map[string][]byte{"v1": testKey(1), "a b": testKey(2)}, `key id "a b" is not valid`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := NewKeyRing(tc.current, tc.keys)
			require.Nil(t, r)
			require.ErrorContains(t, err, tc.msg)
			require.Regexp(t, "^tokenseal: ", err.Error())
			for _, k := range tc.keys {
				requireNoSecret(t, err, k)
			}
		})
	}
}

func TestKeyRingWrapUnwrap(t *testing.T) {
	t.Parallel()
	r := testRing(t, "v2", "v1")
	dek := testKey(7)
	aad := []byte("aad")

	w, err := r.Wrap(t.Context(), "v1", dek, aad)
	require.NoError(t, err)
	require.Len(t, w, nonceSize+dataKeySize+tagSize)
	got, err := r.Unwrap(t.Context(), "v1", w, aad)
	require.NoError(t, err)
	require.Equal(t, dek, got)

	_, err = r.Unwrap(t.Context(), "v2", w, aad)
	require.ErrorIs(t, err, ErrOpen)
	_, err = r.Unwrap(t.Context(), "v1", w, []byte("other"))
	require.ErrorIs(t, err, ErrOpen)
	_, err = r.Unwrap(t.Context(), "v1", w[:10], aad)
	require.ErrorIs(t, err, ErrOpen)
	_, err = r.Unwrap(t.Context(), "v9", w, aad)
	require.ErrorIs(t, err, ErrUnknownKey)
	require.ErrorContains(t, err, `key "v9" is not in the key ring (keys: v2, v1)`)
	_, err = r.Wrap(t.Context(), "v9", dek, aad)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestKeyRingPrintsNoKeys(t *testing.T) {
	t.Parallel()
	r := testRing(t, "v2", "v1")

	want := "KeyRing(current v2; v2, v1)"
	require.Equal(t, want, r.String())
	for _, format := range []string{"%v", "%+v", "%s", "%q", "%x", "%d"} {
		require.Equal(t, want, fmt.Sprintf(format, r), format)
	}
	require.Equal(t, "tokenseal."+want, fmt.Sprintf("%#v", r))
	require.Equal(t, "KeyRing(nil)", (*KeyRing)(nil).String())

	// A struct holding a ring, printed or logged, shows no more.
	holder := struct{ Ring *KeyRing }{r}
	require.Contains(t, fmt.Sprintf("%+v", holder), want)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "ring", r)
	require.Contains(t, buf.String(), want)
	j, err := json.Marshal(holder)
	require.NoError(t, err)
	require.Equal(t, `{"Ring":{}}`, string(j))

	for _, out := range []string{fmt.Sprintf("%+v", holder), fmt.Sprintf("%#v", holder), buf.String()} {
		for _, id := range []string{"v1", "v2"} {
			k := testKey(seedOf(id))
			require.NotContains(t, out, base64.StdEncoding.EncodeToString(k))
			require.NotContains(t, out, fmt.Sprintf("%x", k))
		}
	}
}

func TestValidKeyID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"v1", "2026-11", "a.b_c-D", string(bytes.Repeat([]byte("x"), 64))} {
		require.True(t, ValidKeyID(id), id)
	}
	for _, id := range []string{"", "a b", "v1:", "é", "a/b", "a,b", string(bytes.Repeat([]byte("x"), 65))} {
		require.False(t, ValidKeyID(id), id)
	}
}
