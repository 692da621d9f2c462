package main

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// BenchmarkWorkersScaleWithBankLatency measures first syncs of 40 links
// against a sandbox that answers every request after 200 ms, done by one
// worker process and then by two (default settings, each run on its own
// database, in the same benchmark run). Reported: links/s of each and
// their ratio (x_one; 2.0 = two processes sync twice as fast). 40 links
// are four waves of one process at the default concurrency (10) and two
// waves of two processes, so neither run ends on a partly idle wave.
func BenchmarkWorkersScaleWithBankLatency(b *testing.B) {
	const links = 40
	bin, err := buildWorker()
	require.NoError(b, err)
	for range b.N {
		var rate [3]float64
		for _, procs := range []int{1, 2} {
			env := synctest.NewTB(b, synctest.Options{Sandbox: func(o *sandbox.Options) {
				o.Bank.Users, o.Bank.Density, o.Bank.HistoryDays, o.Bank.FutureDays = links, 1, 120, 1
			}})
			for i := range links {
				queueFirstSync(b, env, env.Consent(b, i+1).ID)
			}
			// The bank's latency applies from here on, not to the consents.
			faults := env.Sandbox.Faults()
			faults.Latency = sandbox.Duration(200 * time.Millisecond)
			require.NoError(b, env.Sandbox.SetFaults(faults))
			start := time.Now()
			var cmds []*exec.Cmd
			for range procs {
				cmd := exec.Command(bin)
				cmd.Env = append(workerEnv(env), "PFMSYNC_JOB_TIMEOUT=5m", "PFMSYNC_RESCUE_AFTER=6m", "PFMSYNC_METRICS_ADDR=off")
				require.NoError(b, cmd.Start())
				cmds = append(cmds, cmd)
			}
			for env.Count(b, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND state = 'completed'`) < links {
				require.Less(b, time.Since(start), 10*time.Minute, "syncs did not finish")
				time.Sleep(20 * time.Millisecond)
			}
			elapsed := time.Since(start)
			for _, cmd := range cmds {
				require.NoError(b, cmd.Process.Signal(syscall.SIGTERM))
				require.NoError(b, cmd.Wait())
			}
			rate[procs] = links / elapsed.Seconds()
			// A sync that needed a second attempt makes a slow run: say
			// why, so a slow run can be told from a slow machine.
			retried := env.Count(b, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND attempt > 1`)
			b.ReportMetric(float64(retried), fmt.Sprintf("retried_%d", procs))
			if retried > 0 {
				rows, err := env.Pool.Query(context.Background(), `
					SELECT e->>'error', count(*) FROM river_job, jsonb_array_elements(to_jsonb(errors)) e
					WHERE kind = 'sync_link' GROUP BY 1 ORDER BY 2 DESC LIMIT 5`)
				require.NoError(b, err)
				for rows.Next() {
					var msg string
					var n int
					require.NoError(b, rows.Scan(&msg, &n))
					b.Logf("%d processes: %d attempts failed with: %s", procs, n, msg)
				}
				require.NoError(b, rows.Err())
			}
		}
		b.ReportMetric(rate[1], "links/s_one")
		b.ReportMetric(rate[2], "links/s_two")
		b.ReportMetric(rate[2]/rate[1], "x_one")
	}
}
