package main

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// TestSmallPoolDoesNotStarveTheRequestBudget runs the real worker with a
// connection pool smaller than its concurrency against a slow bank. Every
// sync begins with a token refresh that holds a pooled connection while
// its request waits on the shared request budget; the budget's takes must
// not wait for those connections. Before the budget had connections of
// its own, the refreshes timed out after the token request's 30 s and the
// syncs needed a second attempt.
func TestSmallPoolDoesNotStarveTheRequestBudget(t *testing.T) {
	t.Parallel()
	const links = 6
	bin, err := buildWorker()
	require.NoError(t, err)
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) {
		o.Bank.Users, o.Bank.Density, o.Bank.HistoryDays, o.Bank.FutureDays = links, 1, 30, 1
	}})
	for i := range links {
		queueFirstSync(t, env, env.Consent(t, i+1).ID)
	}
	faults := env.Sandbox.Faults()
	faults.Latency = sandbox.Duration(200 * time.Millisecond)
	require.NoError(t, env.Sandbox.SetFaults(faults))

	cmd := exec.Command(bin)
	cmd.Env = append(workerEnv(env), "PFMSYNC_DATABASE_MAX_CONNS=2", "PFMSYNC_WORKER_CONCURRENCY=6", "PFMSYNC_METRICS_ADDR=off")
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	require.Eventually(t, func() bool {
		return env.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND state = 'completed'`) == links
	}, 3*time.Minute, 100*time.Millisecond, "every sync completes")
	require.Zero(t, env.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND (attempt > 1 OR cardinality(errors) > 0)`),
		"no sync needed a second attempt")
}
