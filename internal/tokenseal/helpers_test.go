package tokenseal

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey returns a deterministic 32-byte key distinct per seed.
func testKey(seed byte) []byte {
	k := make([]byte, dataKeySize)
	for i := range k {
		k[i] = seed ^ byte(i*7+1)
	}
	return k
}

// testKeyB64 is testKey in standard base64.
func testKeyB64(seed byte) string { return base64.StdEncoding.EncodeToString(testKey(seed)) }

// testRing builds a ring from ids, the first current; key i has seed i+1 for
// every id, so "v1" is the same key in every ring a test builds.
func testRing(t testing.TB, ids ...string) *KeyRing {
	t.Helper()
	keys := make(map[string][]byte, len(ids))
	for _, id := range ids {
		keys[id] = testKey(seedOf(id))
	}
	r, err := NewKeyRing(ids[0], keys)
	require.NoError(t, err)
	return r
}

// seedOf derives a key seed from an id so that equal ids get equal keys.
func seedOf(id string) byte {
	var s byte = 0x5a
	for i := 0; i < len(id); i++ {
		s = s*31 + id[i]
	}
	return s
}

// testBundle is what most tests need.
type testBundle struct {
	ring   *KeyRing
	sealer *Sealer
	ctx    Context
	plain  []byte
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	ring := testRing(t, "v1")
	return &testBundle{
		ring:   ring,
		sealer: New(ring),
		ctx:    Context{Purpose: PurposeRefreshToken, Subject: "6f1c2a9e-3b5d-4c1e-9a7f-0d2e4b6c8a10"},
		plain:  []byte("rt-7Hq2-very-secret-refresh-token-value"),
	}
}

// requireNoSecret asserts that err's message contains none of secrets.
func requireNoSecret(t testing.TB, err error, secrets ...[]byte) {
	t.Helper()
	require.Error(t, err)
	msg := err.Error()
	for _, s := range secrets {
		require.False(t, bytes.Contains([]byte(msg), s), "error %q contains a secret", msg)
		require.NotContains(t, msg, fmt.Sprintf("%x", s))
		require.NotContains(t, msg, base64.StdEncoding.EncodeToString(s))
		require.NotContains(t, msg, base64.RawURLEncoding.EncodeToString(s))
	}
}
