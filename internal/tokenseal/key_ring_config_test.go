package tokenseal

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseKeyRing(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(seedOf("v1")), testKey(seedOf("v2"))

	for name, spec := range map[string]string{
		"standard padded":  "v2:" + base64.StdEncoding.EncodeToString(k2) + ",v1:" + base64.StdEncoding.EncodeToString(k1),
		"standard raw":     "v2:" + base64.RawStdEncoding.EncodeToString(k2) + ",v1:" + base64.RawStdEncoding.EncodeToString(k1),
		"url padded":       "v2:" + base64.URLEncoding.EncodeToString(k2) + ",v1:" + base64.URLEncoding.EncodeToString(k1),
		"url raw":          "v2:" + base64.RawURLEncoding.EncodeToString(k2) + ",v1:" + base64.RawURLEncoding.EncodeToString(k1),
		"spaces and comma": "  v2 : " + base64.StdEncoding.EncodeToString(k2) + " , v1:" + base64.StdEncoding.EncodeToString(k1) + ",\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseKeyRing(spec)
			require.NoError(t, err)
			require.Equal(t, "v2", r.CurrentKeyID())
			require.Equal(t, []string{"v2", "v1"}, r.KeyIDs())

			// The parsed keys are the test keys: values sealed by a ring
			// built from the same bytes open.
			c := Context{Purpose: "p", Subject: "s"}
			sv, err := New(testRing(t, "v1")).Seal(t.Context(), []byte("x"), c)
			require.NoError(t, err)
			got, err := New(r).Open(t.Context(), sv, c)
			require.NoError(t, err)
			require.Equal(t, []byte("x"), got)
		})
	}
}

func TestParseKeyRingErrors(t *testing.T) {
	t.Parallel()
	good := testKeyB64(1)
	short := base64.StdEncoding.EncodeToString(testKey(2)[:16])
	long := base64.StdEncoding.EncodeToString(append(testKey(3), 4))
	mixed := "+-" + testKeyB64(5)[2:] // both alphabets at once

	for name, tc := range map[string]struct {
		spec   string
		msg    string
		secret string
	}{
		"empty":          {"", "no keys", ""},
		"only commas":    {" , ,", "no keys", ""},
		"missing colon":  {"v1" + good, "entry 1 has no ':'", good},
		"bare key":       {good, "entry 1 has no ':'", good},
		"empty id":       {":" + good, "entry 1 has an empty key id", good},
		"empty key":      {"v1:" + good + ",v2:", `entry 2: key "v2" is empty`, good},
		"bad base64":     {"v1:" + good[:20] + "!!" + good[22:], `entry 1: key "v1" is not valid base64`, good[:20]},
		"mixed alphabet": {"v1:" + mixed, `entry 1: key "v1" is not valid base64`, mixed},
		"bad padding":    {"v1:" + good + "==", `entry 1: key "v1" is not valid base64`, good},
		"16-byte key":    {"v1:" + short, `entry 1: key "v1" decodes to 16 bytes, want 32`, short},
		"33-byte key":    {"v1:" + long, `entry 1: key "v1" decodes to 33 bytes, want 32`, long},
		"duplicate id":   {"v1:" + good + ",v2:" + testKeyB64(2) + ",v1:" + testKeyB64(3), `entry 3: key id "v1" appears more than once`, good},
		"bad id":         {"v 1:" + good, "entry 1: key id is not valid", good},
		"id with slash":  {"keys/v1:" + good, "entry 1: key id is not valid", good},
		"long id":        {strings.Repeat("x", 65) + ":" + good, "entry 1: key id is not valid", good},
		"swapped":        {strings.TrimRight(base64.RawURLEncoding.EncodeToString(testKey(1)), "=") + ":v1", "looks like a base64 key", base64.RawURLEncoding.EncodeToString(testKey(1))},
		"swapped padded": {good + ":v1", "key id is not valid", good},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseKeyRing(tc.spec)
			require.Nil(t, r)
			require.ErrorContains(t, err, tc.msg)
			require.Regexp(t, "^tokenseal: ", err.Error())
			if tc.secret != "" {
				require.NotContains(t, err.Error(), tc.secret)
			}
			// No key of the spec appears in the message, in any form.
			for _, entry := range strings.Split(tc.spec, ",") {
				_, text, ok := strings.Cut(entry, ":")
				if !ok {
					text = entry
				}
				if text = strings.TrimSpace(text); len(text) > 8 {
					require.NotContains(t, err.Error(), text)
				}
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	a, b := GenerateKey(), GenerateKey()
	require.NotEqual(t, a, b)
	k, err := base64.StdEncoding.DecodeString(a)
	require.NoError(t, err)
	require.Len(t, k, 32)

	r, err := ParseKeyRing("gen:" + a)
	require.NoError(t, err)
	require.Equal(t, "gen", r.CurrentKeyID())
}

// writeKeyFile writes content to a file in a fresh directory with mode perm.
func writeKeyFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token-keys")
	require.NoError(t, os.WriteFile(path, []byte(content), perm))
	require.NoError(t, os.Chmod(path, perm)) // not subject to the umask
	return path
}

func TestLoadKeyRingFile(t *testing.T) {
	t.Parallel()
	content := "# pfmsync token keys, current first\n" +
		"\n" +
		"2026-11:" + testKeyB64(seedOf("2026-11")) + "   # added November 2026\n" +
		"  v1:" + testKeyB64(seedOf("v1")) + " , v0:" + testKeyB64(seedOf("v0")) + "\r\n" +
		"# v-old:removed after the re-seal\n"
	path := writeKeyFile(t, content, 0o600)

	r, err := LoadKeyRingFile(path)
	require.NoError(t, err)
	require.Equal(t, "2026-11", r.CurrentKeyID())
	require.Equal(t, []string{"2026-11", "v1", "v0"}, r.KeyIDs())
	require.Empty(t, r.Warnings())

	c := Context{Purpose: "p", Subject: "s"}
	sv, err := New(testRing(t, "v0")).Seal(t.Context(), []byte("x"), c)
	require.NoError(t, err)
	_, err = New(r).Open(t.Context(), sv, c)
	require.NoError(t, err)
}

func TestLoadKeyRingFileErrors(t *testing.T) {
	t.Parallel()

	_, err := LoadKeyRingFile(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "tokenseal: key file")

	_, err = LoadKeyRingFile(t.TempDir())
	require.ErrorContains(t, err, "is not a regular file")

	good := testKeyB64(1)
	path := writeKeyFile(t, "# keys\nv1:"+good+"\nv2:"+base64.StdEncoding.EncodeToString(testKey(2)[:16])+"\n", 0o600)
	_, err = LoadKeyRingFile(path)
	require.ErrorContains(t, err, `key file `+path+`: line 3: key "v2" decodes to 16 bytes, want 32`)
	require.NotContains(t, err.Error(), good)

	path = writeKeyFile(t, "# nothing yet\n", 0o600)
	_, err = LoadKeyRingFile(path)
	require.ErrorContains(t, err, "no keys")

	path = writeKeyFile(t, strings.Repeat("#", maxKeyFileSize+1), 0o600)
	_, err = LoadKeyRingFile(path)
	require.ErrorContains(t, err, "larger than")
}

func TestLoadKeyRingFilePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	content := "v1:" + testKeyB64(1) + "\n"

	for _, perm := range []os.FileMode{0o620, 0o602, 0o666} {
		_, err := LoadKeyRingFile(writeKeyFile(t, content, perm))
		require.ErrorContains(t, err, "writable by group or others", "%04o", perm)
	}

	for _, perm := range []os.FileMode{0o400, 0o600} {
		r, err := LoadKeyRingFile(writeKeyFile(t, content, perm))
		require.NoError(t, err)
		require.Empty(t, r.Warnings())
	}

	for _, perm := range []os.FileMode{0o640, 0o644, 0o444} {
		r, err := LoadKeyRingFile(writeKeyFile(t, content, perm))
		require.NoError(t, err)
		require.Len(t, r.Warnings(), 1)
		require.Contains(t, r.Warnings()[0], "readable by group or others")
		require.NotContains(t, r.Warnings()[0], testKeyB64(1))
	}

	// A symbolic link (as Kubernetes secret volumes use) is followed and the
	// target's mode is checked.
	target := writeKeyFile(t, content, 0o600)
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(target, link))
	r, err := LoadKeyRingFile(link)
	require.NoError(t, err)
	require.Equal(t, "v1", r.CurrentKeyID())
}

func TestLoadKeyRing(t *testing.T) {
	t.Parallel()
	spec := "v1:" + testKeyB64(1)
	path := writeKeyFile(t, "f1:"+testKeyB64(2)+"\n", 0o600)

	r, err := LoadKeyRing(spec, "")
	require.NoError(t, err)
	require.Equal(t, "v1", r.CurrentKeyID())

	r, err = LoadKeyRing("  ", path)
	require.NoError(t, err)
	require.Equal(t, "f1", r.CurrentKeyID())

	_, err = LoadKeyRing(spec, path)
	require.ErrorContains(t, err, "both PFMSYNC_TOKEN_KEYS and PFMSYNC_TOKEN_KEYS_FILE are set")

	_, err = LoadKeyRing("", "")
	require.ErrorContains(t, err, "set PFMSYNC_TOKEN_KEYS or PFMSYNC_TOKEN_KEYS_FILE")

	_, err = LoadKeyRing("v1:"+testKeyB64(1)[:20], "")
	require.ErrorContains(t, err, `tokenseal: PFMSYNC_TOKEN_KEYS: entry 1: key "v1"`)
	require.NotContains(t, err.Error(), testKeyB64(1)[:20])
}
