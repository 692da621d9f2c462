package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// workerBinDir is the folder buildWorker built the worker in, removed
// when the tests end (TestMain).
var workerBinDir string

// buildWorker compiles this command once per test binary.
var buildWorker = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pfmsync-worker-bin")
	if err != nil {
		return "", err
	}
	workerBinDir = dir
	bin := filepath.Join(dir, "worker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// TestMain removes the worker binary the tests and benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	if workerBinDir != "" {
		_ = os.RemoveAll(workerBinDir)
	}
	os.Exit(code)
}

// workerEnv is the configuration of a worker process against env.
func workerEnv(env *synctest.Env) []string {
	insts, _ := json.Marshal([]map[string]any{{
		"slug": synctest.InstitutionSlug, "name": "Sandbox", "base_url": env.Sandbox.APIBaseURL(),
		"client_id": synctest.ClientID, "client_secret_env": "SANDBOX_CLIENT_SECRET",
		"requests_per_second": 1000, "burst": 1000,
	}})
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"PFMSYNC_DATABASE_URL=" + env.DatabaseURL,
		"PFMSYNC_INSTITUTIONS=" + string(insts),
		"SANDBOX_CLIENT_SECRET=" + synctest.ClientSecret,
		"PFMSYNC_TOKEN_KEYS=" + env.KeyRing,
		"PFMSYNC_PUBLIC_URL=http://127.0.0.1:1",
		"PFMSYNC_JOB_TIMEOUT=10s",
		"PFMSYNC_RESCUE_AFTER=11s",
		"PFMSYNC_RETRY_BASE=100ms",
		"PFMSYNC_RETRY_MAX=1s",
		"PFMSYNC_SCHEDULE_EVERY=1h",
		"PFMSYNC_FETCH_ON_INTERACTIVE=false",
		"PFMSYNC_BACKFILL_WINDOW_DAYS=30",
		"PFMSYNC_LOG_LEVEL=warn",
	}
}

// TestWorkerSurvivesSIGKILL kills the worker process at random points of a
// large first sync, several times, restarts it each time, and checks the
// datastore ends up exactly equal to the bank's ground truth: nothing lost,
// nothing duplicated.
func TestWorkerSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin, err := buildWorker()
	require.NoError(t, err)
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) {
		o.Bank.Density = 12
		o.Bank.Users = 1
	}})
	link := env.Consent(t, 1)
	jobID := queueFirstSync(t, env, link.ID)

	start := func() (*exec.Cmd, *testsupport.SyncBuffer) {
		// The process writes its logs while the test reads them.
		logs := &testsupport.SyncBuffer{}
		cmd := exec.Command(bin)
		cmd.Env = workerEnv(env)
		cmd.Stdout, cmd.Stderr = logs, logs
		require.NoError(t, cmd.Start())
		return cmd, logs
	}
	stored := func() int {
		return env.Count(t, `SELECT count(*) FROM transactions`)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for kills < 3 {
		cmd, _ := start()
		before := stored()
		// Wait until this process is writing (a rescued job can take the
		// rescue delay to start), then kill it at a random moment.
		deadline := time.Now().Add(45 * time.Second)
		for stored() == before && time.Now().Before(deadline) && jobState(t, env, jobID) != "completed" {
			time.Sleep(20 * time.Millisecond)
		}
		if jobState(t, env, jobID) == "completed" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			break
		}
		if stored() == before {
			// Nothing written yet (a rescue can take a while): let this
			// process go on instead of counting a kill that tests nothing.
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			continue
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		kills++
		t.Logf("killed worker %d with %d transactions stored", kills, stored())
	}
	require.GreaterOrEqual(t, kills, 2, "the sync was killed mid-way at least twice")

	// A last process finishes the job (River rescues the killed attempt).
	cmd, logs := start()
	require.Eventually(t, func() bool { return jobState(t, env, jobID) == "completed" }, 2*time.Minute, 100*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "graceful stop; logs:\n%s", logs.String())
	env.RequireMatchesTruth(t, link, 1)
	require.Zero(t, env.Count(t, `SELECT count(*) FROM (SELECT provider_transaction_id FROM transactions GROUP BY account_id, provider_transaction_id HAVING count(*) > 1) d`))
}

// queueFirstSync queues a link's first sync, as the link server does, with
// an insert-only River client, and returns the job id.
func queueFirstSync(tb testing.TB, env *synctest.Env, linkID string) int64 {
	tb.Helper()
	inserter, err := river.NewClient(riverpgxv5.New(env.Pool), &river.Config{})
	require.NoError(tb, err)
	res, err := inserter.Insert(context.Background(), jobs.SyncArgs{LinkID: linkID, Trigger: jobs.TriggerLink}, nil)
	require.NoError(tb, err)
	return res.Job.ID
}

func jobState(t *testing.T, env *synctest.Env, id int64) string {
	t.Helper()
	var state string
	require.NoError(t, env.Pool.QueryRow(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&state))
	return state
}
