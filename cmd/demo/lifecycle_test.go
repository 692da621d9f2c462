package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

func TestConnectURLSubcommand(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"-link-addr", "127.0.0.1:18081", "connect-url", "demo-user-9"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "connect-url", o.command)
	require.Equal(t, "demo-user-9", o.user)
	for _, bad := range [][]string{{"connect-url"}, {"connect-url", "a", "b"}, {"connect-url", " "}, {"api-token"}, {"api-token", "a", "b"}} {
		_, err := parseFlags(bad, io.Discard)
		require.Error(t, err, "%v", bad)
	}

	o.state = t.TempDir()
	var out strings.Builder
	require.ErrorContains(t, printConnectURL(&out, o), "start the demo first")
	_, _, err = demoSecrets(o.state)
	require.NoError(t, err)
	require.NoError(t, printConnectURL(&out, o))
	require.Regexp(t, `^http://127\.0\.0\.1:18081/link\?token=[\w.-]+\n$`, out.String())
}

// TestAPITokenSubcommand makes a link API token for an app user with the
// demo's app key: audience api, the user as subject, an expiry the link
// server accepts (at most MaxTokenLifetime ahead), and a MAC the key
// checks. The run command's check (scripts/test-run.sh) calls the link
// API with it.
func TestAPITokenSubcommand(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"api-token", "demo-user-1"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "api-token", o.command)
	o.state = t.TempDir()
	var out strings.Builder
	require.ErrorContains(t, printAPIToken(&out, o), "start the demo first")
	_, appKey, err := demoSecrets(o.state)
	require.NoError(t, err)
	require.NoError(t, printAPIToken(&out, o))

	token := strings.TrimSuffix(out.String(), "\n")
	body, mac, ok := strings.Cut(token, ".")
	require.True(t, ok, "body.mac")
	payload, err := base64.RawURLEncoding.DecodeString(body)
	require.NoError(t, err)
	var claims struct {
		Aud, Sub string
		Exp      int64
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.Equal(t, linkserver.AudienceAPI, claims.Aud)
	require.Equal(t, "demo-user-1", claims.Sub)
	require.LessOrEqual(t, time.Until(time.Unix(claims.Exp, 0)), linkserver.MaxTokenLifetime)
	require.Greater(t, time.Until(time.Unix(claims.Exp, 0)), linkserver.MaxTokenLifetime-time.Minute)
	h := hmac.New(sha256.New, appKey)
	h.Write([]byte(body))
	require.Equal(t, base64.RawURLEncoding.EncodeToString(h.Sum(nil)), mac)
}

func TestCheckPortsNamesTheTakenPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	o := options{sandboxAddr: "127.0.0.1:0", linkAddr: l.Addr().String(), adminAddr: "127.0.0.1:0", metrics: "127.0.0.1:0", dashboardAddr: l.Addr().String()}
	err = checkPorts(o, false)
	require.ErrorContains(t, err, l.Addr().String()+" (for the link server) is in use")
	require.ErrorContains(t, err, "-link-addr")
	require.NotContains(t, err.Error(), "dashboard")
	err = checkPorts(o, true)
	require.ErrorContains(t, err, "-dashboard-addr")

	o.linkAddr, o.dashboardAddr = "127.0.0.1:0", "127.0.0.1:0"
	require.NoError(t, checkPorts(o, true))
}

func TestResetDropsDatabaseAndKeysTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := testdb.AdminURL()
	o := options{state: t.TempDir(), database: "pfmsync_test_reset_" + strings.ReplaceAll(filepath.Base(t.TempDir()), "-", "_")}
	t.Cleanup(func() { _, _ = dropDatabase(context.Background(), admin, o.database) })
	_, err := ensureDatabase(ctx, admin, o.database)
	require.NoError(t, err)
	_, _, err = demoSecrets(o.state)
	require.NoError(t, err)
	_, err = dashboardPassword(o.state)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(o.state, "logs"), 0o700))

	var out strings.Builder
	require.NoError(t, reset(ctx, &out, admin, o))
	require.Contains(t, out.String(), "dropped database "+o.database)
	for _, name := range stateFiles {
		_, err := os.Stat(filepath.Join(o.state, name))
		require.ErrorIs(t, err, os.ErrNotExist, name)
	}
	_, err = os.Stat(filepath.Join(o.state, "logs"))
	require.NoError(t, err, "logs are kept")
	created, err := ensureDatabase(ctx, admin, o.database)
	require.NoError(t, err)
	require.True(t, created, "the database was dropped")

	// Reset with nothing to reset is fine.
	require.NoError(t, reset(ctx, io.Discard, admin, options{state: t.TempDir(), database: o.database + "_none"}))
}
