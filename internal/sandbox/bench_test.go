package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// BenchmarkServeTransactions measures the sandbox's transaction serving rate
// over real HTTP on loopback: clients walk 500-row pages of large accounts,
// decoding each response as a client would.
func BenchmarkServeTransactions(b *testing.B) {
	tb := setupBench(b, bank.Config{Start: bank.FixedStart, Seed: 1, Users: 4, HistoryDays: 730, FutureDays: 30, Density: 4})
	type target struct{ user, account string }
	var targets []target
	var toks []string
	for n := 1; n <= 4; n++ {
		tok := tb.authorize(b, n)
		user := tb.srv.Bank().UserID(n)
		accounts, _, _ := tb.srv.Bank().Accounts(user, tb.srv.Clock().Now())
		for _, a := range accounts {
			targets = append(targets, target{user, a.ID})
			toks = append(toks, tok.AccessToken)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var served, next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		offsets := map[int]int{}
		for pb.Next() {
			i := int(next.Add(1)) % len(targets)
			tg := targets[i]
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/users/%s/accounts/%s/transactions?offset=%d&limit=500", tb.srv.APIBaseURL(), tg.user, tg.account, offsets[i]), nil)
			req.Header.Set("Authorization", "Bearer "+toks[i])
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var page wirePage
			err = json.NewDecoder(resp.Body).Decode(&page)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d: %v", resp.StatusCode, err)
				return
			}
			served.Add(int64(len(page.Transactions)))
			offsets[i] += 500
			if len(page.Transactions) < 500 {
				offsets[i] = 0
			}
		}
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(served.Load())/elapsed.Seconds(), "tx/s")
	b.ReportMetric(float64(served.Load())/float64(b.N), "tx/op")
}

// BenchmarkStartAtScale builds a sandbox of 10,000 users (about a million
// transactions) and touches every user's accounts and transactions once,
// reporting the time to first serve and the heap it ends with.
func BenchmarkStartAtScale(b *testing.B) {
	for range b.N {
		start := time.Now()
		s, err := New(Options{BaseURL: "http://127.0.0.1:1", Clients: []authserver.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:1/cb"}}}, Bank: bank.Config{Start: bank.FixedStart, Seed: 1, Users: 10000, HistoryDays: 730, FutureDays: 30, Density: 0.1}})
		if err != nil {
			b.Fatal(err)
		}
		ready := time.Since(start)
		now := s.Clock().Now()
		total := 0
		for n := 1; n <= 10000; n++ {
			accounts, _, _ := s.Bank().Accounts(s.Bank().UserID(n), now)
			for _, a := range accounts {
				p, err := s.Bank().Transactions(s.Bank().UserID(n), a.ID, now, bank.Query{})
				if err != nil {
					b.Fatal(err)
				}
				total += len(p.Transactions)
			}
		}
		all := time.Since(start)
		var ms runtimeMem
		ms.read()
		runtime.KeepAlive(s)
		b.ReportMetric(ready.Seconds()*1000, "ms-to-listen")
		b.ReportMetric(all.Seconds(), "s-to-touch-all")
		b.ReportMetric(float64(total), "transactions")
		b.ReportMetric(float64(ms.heapMiB), "heap-MiB")
	}
}

func setupBench(b *testing.B, cfg bank.Config) *testBundle {
	return setup(b, func(o *Options) { o.Bank = cfg })
}

// runtimeMem reads the live heap after a collection.
type runtimeMem struct{ heapMiB uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heapMiB = ms.HeapAlloc >> 20
}
