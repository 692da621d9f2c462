package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/reporting/reportingtest"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRunRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	const key = "app-key-that-is-long-enough-0123456789"
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"no database":      {env: map[string]string{}, want: "-database-url (or PFMSYNC_DASHBOARD_DATABASE_URL) is required"},
		"link without key": {env: map[string]string{envDatabaseURL: "postgres://x@127.0.0.1/db", envLinkURL: "http://127.0.0.1:8081"}, want: "reconnect needs both"},
		"short key":        {env: map[string]string{envDatabaseURL: "postgres://x@127.0.0.1/db", envLinkURL: "http://127.0.0.1:8081", envAppKey: "short"}, want: "too short"},
		"stray argument":   {args: []string{"serve"}, env: map[string]string{envDatabaseURL: "postgres://x@127.0.0.1/db"}, want: "unexpected arguments"},
		"bad flag":         {args: []string{"-nope"}, env: map[string]string{}, want: "flag provided but not defined"},
		"unreachable db": {args: []string{"-database-url", "postgres://reader:s3cret-pw@127.0.0.1:1/db?connect_timeout=2", "-link-url", "http://127.0.0.1:8081", "-app-key", key},
			env: map[string]string{}, want: "read the reporting views"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr testsupport.SyncBuffer
			err := run(context.Background(), tc.args, env(tc.env), &stdout, &stderr)
			require.ErrorContains(t, err, tc.want)
			for _, secret := range []string{"s3cret-pw", key} {
				require.NotContains(t, err.Error(), secret)
				require.NotContains(t, stderr.String(), secret)
			}
		})
	}
}

// TestRunServes starts the command on a loopback port as a pfm_reader
// login role and reads its pages, then stops it with the context.
func TestRunServes(t *testing.T) {
	t.Parallel()
	dbURL := testdb.NewURL(t)
	readerURL := reportingtest.ReaderURL(t, dbURL)
	const key = "app-key-that-is-long-enough-0123456789"

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testsupport.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env(map[string]string{
			envDatabaseURL: readerURL, envLinkURL: "http://127.0.0.1:8081", envAppKey: key,
		}), &stdout, &stderr)
	}()
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+/)`)
	var base string
	require.Eventually(t, func() bool {
		if m := addr.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "stdout: %s stderr: %s", stdout.String(), stderr.String())

	get := func(path string) (int, string, http.Header) {
		res, err := http.Get(base + strings.TrimPrefix(path, "/"))
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(body), res.Header
	}
	status, body, hdr := get("/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok\n", body)
	require.Contains(t, hdr.Get("Content-Security-Policy"), "script-src 'none'")
	status, body, _ = get("/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "No app user has linked an institution yet.")
	status, _, _ = get("/?user=nobody")
	require.Equal(t, http.StatusNotFound, status)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the dashboard did not stop")
	}
	require.NotContains(t, stderr.String(), key)
	require.Contains(t, stderr.String(), "app_key=[redacted]")
}
