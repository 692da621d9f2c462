package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// lockedBuffer collects output written from several goroutines.
type lockedBuffer = testsupport.SyncBuffer

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	getenv := func(string) string { return "" }
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-users", "3", "-seed", "7", "-client-id", "cli", "-client-secret", "sec", "-redirect-uri", "http://127.0.0.1:9/cb", "-fault", "kind=latency,delay=1ms", "-budget", "1000/1s"}, getenv, &stdout, &stderr)
	}()

	urlRE := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		m := urlRE.FindStringSubmatch(stdout.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond)

	out := stdout.String()
	require.Contains(t, out, "user1 … user3")
	require.Contains(t, out, `id "cli", secret "sec"`)
	require.Contains(t, out, "http://127.0.0.1:9/cb")

	resp, err := http.Get(base + "/a/consumer/api/v0/oidc/.well-known/openid-configuration")
	require.NoError(t, err)
	var disco map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&disco))
	resp.Body.Close()
	require.Equal(t, base+"/a/consumer/api/v0/oidc", disco["issuer"])

	resp, err = http.Get(base + "/sandbox/faults")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `"budget":{"requests":1000,"per":"1s"}`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	for _, args := range [][]string{
		{"-users", "0"},
		{"-fault", "kind=nope"},
		{"-budget", "lots"},
		{"-start", "yesterday"},
		{"extra"},
	} {
		err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), getenv, io.Discard, io.Discard)
		require.Error(t, err, "%v", args)
	}
}

func TestBehaviourFlags(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	f, err := parseFlags([]string{"-profile", "broken-offset", "-max-page-limit", "50", "-stale-last-updated",
		"-malformed-record", "kind=amount,rate=0.5,position=-1"}, getenv, io.Discard)
	require.NoError(t, err)
	opts, err := f.options(nil)
	require.NoError(t, err)
	b := opts.Behaviour
	require.Equal(t, "broken-offset", b.Profile)
	require.True(t, b.IgnoreOffset, "from the profile")
	require.Equal(t, 50, b.MaxPageLimit, "a flag overrides the profile")
	require.True(t, b.StaleLastUpdated)
	require.Equal(t, &sandbox.MalformedRecord{Kind: "amount", Rate: 0.5, Position: -1}, b.MalformedRecord)

	f, err = parseFlags(nil, getenv, io.Discard)
	require.NoError(t, err)
	opts, err = f.options(nil)
	require.NoError(t, err)
	require.True(t, opts.Behaviour.IsZero(), "every option is off by default")

	for _, args := range [][]string{
		{"-profile", "nope"},
		{"-inactivated-ids", "sometimes"},
		{"-updated-since", "later"},
		{"-max-page-limit", "900"},
		{"-malformed-record", "kind=odd"},
	} {
		f, err := parseFlags(args, getenv, io.Discard)
		require.NoError(t, err)
		_, err = f.options(nil)
		require.Error(t, err, "%v", args)
	}
}

func TestStartFlag(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	f, err := parseFlags([]string{"-start", "2025-06-01T08:30:00Z"}, getenv, io.Discard)
	require.NoError(t, err)
	opts, err := f.options(nil)
	require.NoError(t, err)
	require.Equal(t, time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC), opts.Bank.Start.UTC())

	// Without -start the bank picks the current hour.
	f, err = parseFlags(nil, getenv, io.Discard)
	require.NoError(t, err)
	opts, err = f.options(nil)
	require.NoError(t, err)
	require.True(t, opts.Bank.Start.IsZero())

	f, err = parseFlags([]string{"-start", "June 1"}, getenv, io.Discard)
	require.NoError(t, err)
	_, err = f.options(nil)
	require.ErrorContains(t, err, "-start")
}
