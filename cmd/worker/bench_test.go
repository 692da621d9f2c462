package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// BenchmarkWorkerPeakMemory runs the real worker binary through a first
// sync of one user whose checking account holds about 25k or 100k
// transactions, and reports the worker process's peak resident memory
// (VmHWM) and the transactions it stored. Memory must not grow with the
// history size: the sync holds one page at a time.
func BenchmarkWorkerPeakMemory(b *testing.B) {
	bin, err := buildWorker()
	require.NoError(b, err)
	for _, density := range []float64{35, 140} {
		b.Run(fmt.Sprintf("density=%g", density), func(b *testing.B) {
			for range b.N {
				env := synctest.NewTB(b, synctest.Options{Sandbox: func(o *sandbox.Options) {
					o.Bank.Users, o.Bank.Density, o.Bank.HistoryDays, o.Bank.FutureDays = 1, density, 730, 1
				}})
				link := env.Consent(b, 1)
				ctx := context.Background()
				jobID := queueFirstSync(b, env, link.ID)

				cmd := exec.Command(bin)
				cmd.Env = append(workerEnv(env), "PFMSYNC_JOB_TIMEOUT=10m", "PFMSYNC_RESCUE_AFTER=11m", "PFMSYNC_BACKFILL_WINDOW_DAYS=90")
				require.NoError(b, cmd.Start())
				start := time.Now()
				var peak int64
				for {
					var state string
					require.NoError(b, env.Pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, jobID).Scan(&state))
					peak = max(peak, vmHWM(b, cmd.Process.Pid))
					if state == "completed" {
						break
					}
					require.Less(b, time.Since(start), 10*time.Minute, "sync did not finish")
					time.Sleep(50 * time.Millisecond)
				}
				elapsed := time.Since(start)
				peak = max(peak, vmHWM(b, cmd.Process.Pid))
				require.NoError(b, cmd.Process.Signal(syscall.SIGTERM))
				require.NoError(b, cmd.Wait())
				stored := env.Count(b, `SELECT count(*) FROM transactions`)
				b.ReportMetric(float64(peak)/1024, "peak_rss_MiB")
				b.ReportMetric(float64(stored), "transactions")
				b.ReportMetric(float64(stored)/elapsed.Seconds(), "tx/s_end_to_end")
			}
		})
	}
}

// vmHWM reads a process's peak resident set size in KiB.
func vmHWM(tb testing.TB, pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(tb, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(tb, err)
			return n
		}
	}
	tb.Fatalf("no VmHWM for pid %d", pid)
	return 0
}
