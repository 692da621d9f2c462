package bank

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scaleConfig gives 10,000 users about a million transactions in total.
var scaleConfig = Config{Start: FixedStart, Seed: 2026, Users: 10_000, HistoryDays: 60, FutureDays: 30, Density: 0.4}

// touchAll generates every user of b and builds their account views at the
// bank's start, as a server listing every user's accounts would. It returns
// the number of timeline records and of transactions live at the start.
func touchAll(b *Bank, workers int) (records, live int64) {
	var rec, lv atomic.Int64
	var wg sync.WaitGroup
	now := b.Config().Start
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1 + w; n <= b.UserCount(); n += workers {
				u := b.user(n)
				b.Accounts(u.id, now)
				for _, a := range u.accounts {
					rec.Add(int64(len(a.records)))
					if a.visibleAt(now.UnixMilli()) {
						lv.Add(int64(len(b.viewAt(u, a, now.UnixMilli()).entries)))
					}
				}
			}
		}()
	}
	wg.Wait()
	return rec.Load(), lv.Load()
}

// heapAfterGC returns the live heap in bytes after a collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestScale generates the full scale configuration: 10,000 users and about a
// million transactions. Under the race detector it generates a quarter of the
// users (the detector multiplies the cost), and BenchmarkScale covers the
// whole set.
func TestScale(t *testing.T) {
	// Not parallel: it measures the heap.
	cfg, want := scaleConfig, 1_000_000.0
	if raceEnabled {
		cfg.Users, want = cfg.Users/4, want/4
	}
	base := heapAfterGC()
	start := time.Now()
	b := newTestBank(t, cfg)
	generated := 0
	b.users.Range(func(any, any) bool { generated++; return true })
	require.Zero(t, generated, "New generates nothing: users are made on first access")
	records, live := touchAll(b, 2)
	elapsed := time.Since(start)
	after := heapAfterGC()
	heap := after - min(base, after)
	runtime.KeepAlive(b)
	t.Logf("%d users: %d timeline records, %d live transactions at start, %.0f MiB heap, %s",
		b.UserCount(), records, live, float64(heap)/(1<<20), elapsed.Round(time.Millisecond))
	require.InDelta(t, want, records, want/4)
	require.Less(t, heap, uint64(1<<30))
	require.Less(t, heap/uint64(records), uint64(400), "bytes per record")
}

// BenchmarkScale generates 10,000 users with about a million transactions.
func BenchmarkScale(b *testing.B) {
	for b.Loop() {
		bank := newTestBank(b, scaleConfig)
		records, _ := touchAll(bank, runtime.GOMAXPROCS(0))
		b.ReportMetric(float64(records), "records")
		b.ReportMetric(float64(heapAfterGC())/(1<<20), "heap-MiB")
		runtime.KeepAlive(bank)
	}
}
