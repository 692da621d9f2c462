package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 3, o.linked)
	require.Equal(t, "127.0.0.1:8081", o.linkAddr)
	for _, bad := range [][]string{{"-link", "0"}, {"-link", "6"}, {"extra"}, {"-nope"}} {
		_, err := parseFlags(bad, io.Discard)
		require.Error(t, err, "%v", bad)
	}
}

func TestDemoSecretsPersistAndStayPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys, appKey, err := demoSecrets(dir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(appKey), 32)
	info, err := os.Stat(keys)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	ring, err := tokenseal.LoadKeyRingFile(keys)
	require.NoError(t, err)
	require.Equal(t, "demo-1", ring.CurrentKeyID())

	// A second run reuses them: tokens sealed by the first stay readable.
	keys2, appKey2, err := demoSecrets(dir)
	require.NoError(t, err)
	require.Equal(t, keys, keys2)
	require.Equal(t, appKey, appKey2)
	before, err := os.ReadFile(filepath.Join(dir, "token-keys"))
	require.NoError(t, err)
	after, err := os.ReadFile(keys2)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestURLs(t *testing.T) {
	t.Parallel()
	u, err := withDatabase("postgres://app:secret@db:5432/postgres?sslmode=disable", "pfmsync_demo")
	require.NoError(t, err)
	require.Equal(t, "postgres://app:secret@db:5432/pfmsync_demo?sslmode=disable", u)
	require.Equal(t, "postgres://app:xxxxx@db:5432/pfmsync_demo?sslmode=disable", redact(u))
	_, err = withDatabase("not a url", "x")
	require.Error(t, err)
	require.Equal(t, "b", firstSet("", "b", "c"))
}
