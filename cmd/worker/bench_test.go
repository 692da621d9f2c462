package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// workerCPUProfile, when set, enables the worker's pprof endpoint during
// BenchmarkWorkerPeakMemory and writes a CPU profile of the sync to this
// path (suffixed with the density).
var workerCPUProfile = flag.String("worker.cpuprofile", "", "write a CPU profile of the worker process during BenchmarkWorkerPeakMemory to this file")

// workerAllocs, when set, enables the worker's pprof endpoint during
// BenchmarkWorkerPeakMemory and reports what the worker process allocated
// until the job completed (alloc_MiB, allocs) and how many garbage
// collections it ran (gc_cycles), from its runtime.MemStats.
var workerAllocs = flag.Bool("worker.allocs", false, "report the worker process's allocations and garbage collections during BenchmarkWorkerPeakMemory")

// workerHeapProfile, when set, enables the worker's pprof endpoint during
// BenchmarkWorkerPeakMemory, samples its heap profile every 500 ms of the
// sync and writes the sample with the largest in-use heap to this path
// (suffixed with the density), in pprof's text form.
var workerHeapProfile = flag.String("worker.heapprofile", "", "write the largest heap profile of the worker process seen during BenchmarkWorkerPeakMemory to this file")

// workerHeapSamples, when set with -worker.heapprofile, also keeps every
// heap sample taken: PATH.density<D>.<N>, to average over the sync.
var workerHeapSamples = flag.String("worker.heapsamples", "", "with -worker.heapprofile, write every heap sample of BenchmarkWorkerPeakMemory to files with this prefix")

// workerGODEBUG, when set, is the GODEBUG of the worker process in
// BenchmarkWorkerPeakMemory: memprofilerate=8192 for fine heap samples,
// gctrace=1 for the live heap after every collection (with
// -worker.stderr).
var workerGODEBUG = flag.String("worker.godebug", "", "GODEBUG of the worker process during BenchmarkWorkerPeakMemory")

// workerStderr, when set, receives the worker process's standard error
// during BenchmarkWorkerPeakMemory (suffixed with the density).
var workerStderr = flag.String("worker.stderr", "", "write the worker process's standard error during BenchmarkWorkerPeakMemory to this file")

// workerRSSTrace, when set, receives the worker process's resident set
// size every 50 ms of the sync (seconds since the start and VmRSS in KiB,
// one line each; suffixed with the density): when in the sync the peak
// happens.
var workerRSSTrace = flag.String("worker.rsstrace", "", "write the worker process's resident set size every 50 ms of BenchmarkWorkerPeakMemory to this file")

// workerExtraEnv, when set, adds settings to the worker process's
// environment during BenchmarkWorkerPeakMemory: KEY=VALUE pairs separated
// by spaces (e.g. "PFMSYNC_LOG_LEVEL=debug" with -worker.stderr for the
// sync's timeline, or "PFMSYNC_ACCOUNT_CONCURRENCY=1").
var workerExtraEnv = flag.String("worker.env", "", "space-separated KEY=VALUE settings added to the worker process's environment during BenchmarkWorkerPeakMemory")

// BenchmarkWorkerPeakMemory runs the real worker binary through a first
// sync of one user whose checking account holds about 25k or 100k
// transactions, and reports the worker process's peak resident memory
// (VmHWM), the transactions it stored, and the sync's speed as a ratio
// to a raw COPY of the same rows into the same table (x_copy, measured
// in the same run right after the sync: the median of three COPYs).
// Memory must not grow with the history size: the sync holds at most two
// pages at a time.
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
				if *workerGODEBUG != "" {
					cmd.Env = append(cmd.Env, "GODEBUG="+*workerGODEBUG)
				}
				cmd.Env = append(cmd.Env, strings.Fields(*workerExtraEnv)...)
				if *workerStderr != "" {
					f, err := os.Create(fmt.Sprintf("%s.density%g", *workerStderr, density))
					require.NoError(b, err)
					defer f.Close()
					cmd.Stderr = f
				}
				var profile chan error
				var heap *heapSampler
				var pprofBase string
				if *workerCPUProfile != "" || *workerHeapProfile != "" || *workerAllocs {
					addr := freeAddr(b)
					pprofBase = "http://" + addr
					cmd.Env = append(cmd.Env, "PFMSYNC_PPROF=true", "PFMSYNC_METRICS_ADDR="+addr)
					if *workerCPUProfile != "" {
						profile = make(chan error, 1)
						go func() {
							profile <- saveCPUProfile("http://"+addr, fmt.Sprintf("%s.density%g", *workerCPUProfile, density))
						}()
					}
					if *workerHeapProfile != "" {
						heap = &heapSampler{base: "http://" + addr}
						if *workerHeapSamples != "" {
							heap.every = fmt.Sprintf("%s.density%g", *workerHeapSamples, density)
						}
					}
				}
				var rssTrace *os.File
				if *workerRSSTrace != "" {
					rssTrace, err = os.Create(fmt.Sprintf("%s.density%g", *workerRSSTrace, density))
					require.NoError(b, err)
					defer rssTrace.Close()
				}
				require.NoError(b, cmd.Start())
				start := time.Now()
				var peak int64
				for {
					var state string
					require.NoError(b, env.Pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, jobID).Scan(&state))
					peak = max(peak, vmHWM(b, cmd.Process.Pid))
					if rssTrace != nil {
						_, err := fmt.Fprintf(rssTrace, "%.2f %d\n", time.Since(start).Seconds(), procStatusKiB(b, cmd.Process.Pid, "VmRSS:"))
						require.NoError(b, err)
					}
					if heap != nil {
						heap.sample()
					}
					if state == "completed" {
						break
					}
					require.Less(b, time.Since(start), 10*time.Minute, "sync did not finish")
					time.Sleep(50 * time.Millisecond)
				}
				elapsed := time.Since(start)
				peak = max(peak, vmHWM(b, cmd.Process.Pid))
				if profile != nil {
					// The profile covers the sync's first 10 s.
					require.NoError(b, <-profile)
				}
				if *workerAllocs {
					bytes, objects, gcs, err := readWorkerAllocs(pprofBase)
					require.NoError(b, err)
					b.ReportMetric(float64(bytes)/(1<<20), "alloc_MiB")
					b.ReportMetric(float64(objects), "allocs")
					b.ReportMetric(float64(gcs), "gc_cycles")
				}
				if heap != nil {
					require.NoError(b, heap.save(fmt.Sprintf("%s.density%g", *workerHeapProfile, density)))
					b.ReportMetric(float64(heap.inuse)/(1<<20), "peak_heap_inuse_MiB")
				}
				require.NoError(b, cmd.Process.Signal(syscall.SIGTERM))
				require.NoError(b, cmd.Wait())
				stored := env.Count(b, `SELECT count(*) FROM transactions`)
				syncTime := syncRunDuration(b, env, jobID)
				copyTime := copyStoredTransactions(b, env)
				b.ReportMetric(float64(peak)/1024, "peak_rss_MiB")
				b.ReportMetric(float64(stored), "transactions")
				b.ReportMetric(float64(stored)/elapsed.Seconds(), "tx/s_end_to_end")
				b.ReportMetric(float64(stored)/syncTime.Seconds(), "tx/s_sync")
				b.ReportMetric(float64(stored)/copyTime.Seconds(), "copy_rows/s")
				b.ReportMetric(copyTime.Seconds()/elapsed.Seconds(), "x_copy")
				b.ReportMetric(copyTime.Seconds()/syncTime.Seconds(), "x_copy_sync")
			}
		})
	}
}

// syncRunDuration returns how long the job's successful sync run took,
// as the worker recorded it (sync_runs: from the run's start to its end,
// every page committed). Unlike the benchmark's end-to-end time, it
// leaves out the worker process's start and River's marking the job
// completed, which its batch completer does up to 250 ms later.
func syncRunDuration(tb testing.TB, env *synctest.Env, jobID int64) time.Duration {
	var micros int64
	require.NoError(tb, env.Pool.QueryRow(context.Background(), `
		SELECT (extract(epoch FROM finished_at - started_at) * 1e6)::bigint
		FROM sync_runs WHERE job_id = $1 AND outcome = 'success'`, jobID).Scan(&micros))
	return time.Duration(micros) * time.Microsecond
}

// copyStoredTransactions reads every stored transaction, empties the
// table (and the change feed), and writes the same rows back with a raw
// COPY into the same table (same indexes, same foreign key): the
// baseline a sync's end-to-end speed is compared with. The COPY runs
// copyRuns times, the table emptied before each, and it returns the
// median duration: the first COPY after a sync was the slowest of three
// in nearly every run (13% at 40k transactions, median of 16 runs), and
// one COPY's time moved the ratios with it.
func copyStoredTransactions(tb testing.TB, env *synctest.Env) time.Duration {
	ctx := context.Background()
	cols := []string{"account_id", "provider_transaction_id", "amount", "signed_amount", "currency", "posted_at", "pending",
		"pending_status", "type", "subtype", "memo", "description", "merchant_name", "category", "check_number",
		"running_balance", "sequence", "provider_updated_at", "removed_at", "raw"}
	rows, err := env.Pool.Query(ctx, `
		SELECT account_id, provider_transaction_id, amount::text, signed_amount::text, currency, posted_at, pending,
			pending_status, type, subtype, memo, description, merchant_name, category, check_number,
			running_balance::text, sequence, provider_updated_at, removed_at, raw::text
		FROM transactions`)
	require.NoError(tb, err)
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	require.NoError(tb, err)
	times := make([]time.Duration, copyRuns)
	for i := range times {
		_, err = env.Pool.Exec(ctx, `TRUNCATE transactions, transaction_change_pages`)
		require.NoError(tb, err)
		start := time.Now()
		n, err := env.Pool.CopyFrom(ctx, pgx.Identifier{"transactions"}, cols, pgx.CopyFromRows(all))
		times[i] = time.Since(start)
		require.NoError(tb, err)
		require.EqualValues(tb, len(all), n)
	}
	tb.Logf("COPY of %d rows: %v", len(all), times)
	slices.Sort(times)
	return times[len(times)/2]
}

// copyRuns is how many times copyStoredTransactions times the COPY.
const copyRuns = 3

// freeAddr returns a loopback address with a free port.
func freeAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := ln.Addr().String()
	require.NoError(tb, ln.Close())
	return addr
}

// saveCPUProfile waits for the worker's pprof endpoint at base and writes
// a 10-second CPU profile from it to path.
func saveCPUProfile(base, path string) error {
	var resp *http.Response
	var err error
	for range 200 {
		if resp, err = http.Get(base + "/debug/pprof/profile?seconds=10"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// heapSampler keeps the worker's heap profile (pprof's text form) with
// the largest HeapInuse seen, sampled at most every 500 ms.
type heapSampler struct {
	base    string
	last    time.Time
	inuse   int64
	profile []byte
	// every, when set, is the prefix of files that receive every sample.
	every string
	n     int
}

func (h *heapSampler) sample() {
	if time.Since(h.last) < 500*time.Millisecond {
		return
	}
	h.last = time.Now()
	resp, err := http.Get(h.base + "/debug/pprof/heap?debug=1")
	if err != nil {
		return // not listening yet
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return
	}
	n, err := memStat(body, "HeapInuse")
	if err != nil {
		return
	}
	if h.every != "" {
		h.n++
		_ = os.WriteFile(fmt.Sprintf("%s.%03d", h.every, h.n), body, 0o600)
	}
	if n > h.inuse {
		h.inuse, h.profile = n, body
	}
}

func (h *heapSampler) save(path string) error {
	if h.profile == nil {
		return fmt.Errorf("heap profile: no sample taken from %s", h.base)
	}
	return os.WriteFile(path, h.profile, 0o600)
}

// memStat reads one figure of the runtime.MemStats section of a heap
// profile in pprof's text form (name is e.g. "TotalAlloc").
func memStat(profile []byte, name string) (int64, error) {
	_, after, ok := strings.Cut(string(profile), "# "+name+" = ")
	if !ok {
		return 0, fmt.Errorf("heap profile: no %s", name)
	}
	return strconv.ParseInt(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]), 10, 64)
}

// readWorkerAllocs reads what the worker process allocated since it started
// from its pprof endpoint at base: bytes, objects and garbage
// collections.
func readWorkerAllocs(base string) (bytes, objects, gcs int64, err error) {
	resp, err := http.Get(base + "/debug/pprof/heap?debug=1")
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, 0, err
	}
	if bytes, err = memStat(body, "TotalAlloc"); err != nil {
		return 0, 0, 0, err
	}
	if objects, err = memStat(body, "Mallocs"); err != nil {
		return 0, 0, 0, err
	}
	gcs, err = memStat(body, "NumGC")
	return bytes, objects, gcs, err
}

// vmHWM reads a process's peak resident set size in KiB.
func vmHWM(tb testing.TB, pid int) int64 { return procStatusKiB(tb, pid, "VmHWM:") }

// procStatusKiB reads one of a process's memory figures in KiB from
// /proc/PID/status (field is e.g. "VmHWM:").
func procStatusKiB(tb testing.TB, pid int, field string) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(tb, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(tb, err)
			return n
		}
	}
	tb.Fatalf("no %s for pid %d", field, pid)
	return 0
}
