package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/testsupport"
	"github.com/pfmsync/pfmsync/internal/workercmd"
)

// noConfig is a getenv that fails the test if the configuration is read.
func noConfig(t *testing.T) func(string) string {
	return func(k string) string {
		t.Errorf("read %s: help must not read the configuration", k)
		return ""
	}
}

// command runs one worker command line in-process with vars as the
// environment.
func command(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return vars[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// envVars is workerEnv as a map.
func envVars(env *synctest.Env) map[string]string {
	vars := map[string]string{}
	for _, kv := range workerEnv(env) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	vars["PFMSYNC_LOG_LEVEL"] = "info" // one-shot commands still log only warnings
	return vars
}

func TestHelpPrintsUsageWithoutConfiguration(t *testing.T) {
	t.Parallel()

	testsupport.RequireHelp(t, run, workercmd.Usage)
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"links", "-h"}, noConfig(t), &stdout, io.Discard))
	require.Equal(t, workercmd.Usage, stdout.String())

	// The real binary, with an empty environment: exit status 0, usage on
	// stdout.
	bin, err := buildWorker()
	require.NoError(t, err)
	for _, arg := range []string{"-h", "--help", "help"} {
		cmd := exec.Command(bin, arg)
		cmd.Env = []string{}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), arg)
		require.Contains(t, stdout.String(), "usage: worker ", arg)
		require.Contains(t, stdout.String(), "worker links [-json]", arg)
		require.Empty(t, stderr.String(), arg)
	}
}

// TestBadCommandLinesFailInOneLine runs the binary with command lines it
// must reject: each gets one line on stderr and exit status 2 (usage) or
// 1 (a link that does not exist), without driver text.
func TestBadCommandLinesFailInOneLine(t *testing.T) {
	t.Parallel()
	bin, err := buildWorker()
	require.NoError(t, err)
	dbURL := testdb.NewURL(t)
	unknown := "6f1c2a9e-1111-4222-8333-444455556666"

	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"frob"}, 2, `worker: unknown command "frob" (run worker -h for the list)`},
		{[]string{"sync-now", "nope"}, 2, `worker: "nope" is not a link id`},
		{[]string{"enable", "1234"}, 2, `worker: "1234" is not a link id`},
		{[]string{"disable"}, 2, `worker: disable takes one LINK_ID`},
		{[]string{"links", "extra"}, 2, `worker: links takes no arguments, got ["extra"]`},
		{[]string{"sync-now", unknown}, 1, "worker: no link with id " + unknown},
		{[]string{"resync", strings.ToUpper(unknown)}, 1, "worker: no link with id " + unknown},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = []string{"PFMSYNC_DATABASE_URL=" + dbURL}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "%v: %v", tc.args, err)
		require.Equal(t, tc.status, exit.ExitCode(), tc.args)
		require.Equal(t, tc.want+"\n", stderr.String(), tc.args)
		require.Empty(t, stdout.String(), tc.args)
	}
}

func TestEnableAndDisableAreIdempotent(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	link := env.Consent(t, 1)
	vars := envVars(env)

	steps := []struct{ cmd, want, status string }{
		{"enable", "link " + link.ID + " is already active\n", "active"},
		{"disable", "link " + link.ID + " disabled\n", "disabled"},
		{"disable", "link " + link.ID + " is already disabled\n", "disabled"},
		{"enable", "link " + link.ID + " enabled; it syncs at the next scheduler pass\n", "active"},
		{"enable", "link " + link.ID + " is already active\n", "active"},
	}
	for i, s := range steps {
		stdout, stderr, err := command(t, vars, s.cmd, link.ID)
		require.NoError(t, err, "step %d", i)
		require.Equal(t, s.want, stdout, "step %d", i)
		require.Empty(t, stderr, "step %d: one-shot commands log only warnings", i)
		got, err := env.Store.Link(context.Background(), link.ID)
		require.NoError(t, err)
		require.Equal(t, s.status, string(got.Status), "step %d", i)
	}

	// A link the bank refused is not the operator's to resume.
	_, err := env.Pool.Exec(context.Background(), `UPDATE links SET status = 'reauth_required', next_sync_at = NULL WHERE id = $1`, link.ID)
	require.NoError(t, err)
	_, _, err = command(t, vars, "enable", link.ID)
	require.EqualError(t, err, "link "+link.ID+" is reauth_required, not disabled: only the user's new consent resumes it")
}

func TestLinksListing(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	first, second := env.Consent(t, 1), env.Consent(t, 2)
	vars := envVars(env)
	_, _, err := command(t, vars, "disable", second.ID)
	require.NoError(t, err)
	_, err = env.Pool.Exec(context.Background(), `UPDATE links SET last_success_at = '2026-11-02 10:30:00Z', next_sync_at = '2026-11-02 16:30:00Z' WHERE id = $1`, first.ID)
	require.NoError(t, err)

	stdout, stderr, err := command(t, vars, "links")
	require.NoError(t, err)
	require.Empty(t, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 3, stdout)
	require.Equal(t, []string{"ID", "APP", "USER", "INSTITUTION", "STATUS", "LAST", "SUCCESS", "NEXT", "SYNC", "LAST", "ERROR"}, strings.Fields(lines[0]))
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	require.Equal(t, []string{first.ID, synctest.AppUserRef(1), synctest.InstitutionSlug, "active", "2026-11-02", "10:30:00Z", "2026-11-02", "16:30:00Z", "-"}, rows[first.ID])
	require.Equal(t, []string{second.ID, synctest.AppUserRef(2), synctest.InstitutionSlug, "disabled", "never", "-", "-"}, rows[second.ID])
	// Columns line up: every row's status starts where the header's does.
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		require.Regexp(t, `^(active|disabled)`, l[col:])
	}

	stdout, _, err = command(t, vars, "links", "-json")
	require.NoError(t, err)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &listed))
	require.Len(t, listed, 2)
	byID := map[any]map[string]any{listed[0]["id"]: listed[0], listed[1]["id"]: listed[1]}
	require.Equal(t, map[string]any{
		"id": first.ID, "app_user_ref": synctest.AppUserRef(1), "institution": synctest.InstitutionSlug, "status": "active",
		"last_success_at": "2026-11-02T10:30:00Z", "next_sync_at": "2026-11-02T16:30:00Z",
	}, byID[first.ID])
	require.Equal(t, map[string]any{
		"id": second.ID, "app_user_ref": synctest.AppUserRef(2), "institution": synctest.InstitutionSlug, "status": "disabled",
		"last_success_at": nil, "next_sync_at": nil,
	}, byID[second.ID])
}

// TestResyncHasItsOwnTrigger resets a synced link, checks the re-sync is
// queued and recorded under the "resync" trigger, and that a resync that
// would race a pending sync resets nothing.
func TestResyncHasItsOwnTrigger(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	link := env.Consent(t, 1)
	vars := envVars(env)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A first sync, by the worker itself, so that there is progress to reset.
	var workerOut, workerErr syncBuffer
	done := make(chan error, 1)
	vars["PFMSYNC_METRICS_ADDR"] = "off"
	go func() { done <- run(ctx, nil, func(k string) string { return vars[k] }, &workerOut, &workerErr) }()
	jobID := queueFirstSync(t, env, link.ID)
	require.Eventually(t, func() bool { return jobState(t, env, jobID) == "completed" }, 2*time.Minute, 50*time.Millisecond, "logs:\n%s", workerErr.String())
	accounts := env.Count(t, `SELECT count(*) FROM sync_state s JOIN accounts a ON a.id = s.account_id WHERE a.link_id = $1`, link.ID)
	require.Positive(t, accounts)

	stdout, stderr, err := command(t, vars, "resync", link.ID)
	require.NoError(t, err)
	require.Empty(t, stderr)
	require.Contains(t, stdout, "queued a full re-sync of link "+link.ID)
	require.Eventually(t, func() bool {
		return env.Count(t, `SELECT count(*) FROM sync_runs WHERE link_id = $1 AND trigger = 'resync' AND outcome = 'success'`, link.ID) == 1
	}, 2*time.Minute, 50*time.Millisecond, "logs:\n%s", workerErr.String())
	require.Equal(t, 1, env.Count(t, `SELECT count(*) FROM river_job WHERE args->>'link_id' = $1 AND args->>'trigger' = 'resync'`, link.ID))
	env.RequireMatchesTruth(t, link, 1)
	cancel()
	require.NoError(t, <-done)

	// With the worker stopped, a queued sync stays pending: a resync now
	// would race it, so it fails and leaves the progress alone.
	queueFirstSync(t, env, link.ID)
	_, _, err = command(t, vars, "resync", link.ID)
	require.EqualError(t, err, "a sync of link "+link.ID+" is queued or running; nothing was reset: run resync again when it has finished")
	require.Equal(t, accounts, env.Count(t, `SELECT count(*) FROM sync_state s JOIN accounts a ON a.id = s.account_id WHERE a.link_id = $1`, link.ID))
}

func TestProbeInstitutionReportsAndStoresFindings(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	link := env.Consent(t, 1)
	vars := envVars(env)

	stdout, stderr, err := command(t, vars, "probe-institution", link.ID)
	require.NoError(t, err)
	require.Empty(t, stderr)
	require.Contains(t, stdout, "probe 1 of institution "+synctest.InstitutionSlug+" with link "+link.ID)
	require.Regexp(t, `refresh tokens rotate\s+yes`, stdout)
	require.Regexp(t, `offset\s+honoured`, stdout)
	require.Contains(t, stdout, "sandbox profile: documented\n")
	require.Equal(t, 1, env.Count(t, `SELECT count(*) FROM institution_probes WHERE link_id = $1 AND matched_profiles = '{documented}'`, link.ID))

	stdout, _, err = command(t, vars, "probe-institution", "-json", link.ID)
	require.NoError(t, err)
	var res struct {
		ID       int64          `json:"id"`
		Previous int64          `json:"previous_probe_id"`
		Findings map[string]any `json:"findings"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.Equal(t, int64(1), res.Previous)
	require.Equal(t, "inclusive", res.Findings["updatedSince"])

	_, _, err = command(t, vars, "probe-institution", "6f1c2a9e-1111-4222-8333-444455556666")
	require.EqualError(t, err, "no link with id 6f1c2a9e-1111-4222-8333-444455556666")
}
