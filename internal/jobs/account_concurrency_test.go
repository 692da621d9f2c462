package jobs_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// inFlight counts the transactions requests in flight and keeps the
// largest number seen, of all of them and of each account's; onTwo (when
// set) runs once, the first time an account has two in flight.
type inFlight struct {
	next  http.RoundTripper
	onTwo func()
	mu    sync.Mutex
	now   int
	peak  int
	// account and accountPeak are by request path: one per account.
	account     map[string]int
	accountPeak map[string]int
}

func newInFlight() *inFlight {
	return &inFlight{next: http.DefaultTransport, account: map[string]int{}, accountPeak: map[string]int{}}
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/transactions") {
		return f.next.RoundTrip(r)
	}
	path := r.URL.Path
	f.mu.Lock()
	f.now++
	f.peak = max(f.peak, f.now)
	f.account[path]++
	f.accountPeak[path] = max(f.accountPeak[path], f.account[path])
	if f.account[path] == 2 && f.onTwo != nil {
		f.onTwo()
		f.onTwo = nil
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.account[path]--
		f.mu.Unlock()
	}()
	return f.next.RoundTrip(r)
}

func (f *inFlight) max() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

// A link's accounts are read side by side, never more of them at once
// than AccountConcurrency, each with one request in flight; the result is
// the bank's ground truth as when they are read one after another.
func TestAccountsOfALinkAreReadSideBySide(t *testing.T) {
	t.Parallel()
	flight := newInFlight()
	b := &testBundle{synctest.New(t, synctest.Options{
		Sandbox: func(o *sandbox.Options) {
			o.Faults.Latency = sandbox.Duration(50 * time.Millisecond)
		},
		ClientOptions: []consumerapi.Option{consumerapi.WithTransport(jobs.CountingTransport(flight))},
	})}
	cfg := jobs.DefaultSyncConfig()
	cfg.AccountConcurrency = 2
	worker := b.startWorker(t, cfg, jobs.ClientConfig{})
	// Sandbox user 2 has more accounts than the bound.
	link := b.consent(t, 2)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))
	b.requireMatchesTruth(t, link, 2)
	require.Greater(t, b.count(t, `SELECT count(*) FROM accounts WHERE link_id = $1`, link.ID), cfg.AccountConcurrency)
	require.Equal(t, cfg.AccountConcurrency, flight.max(), "transactions requests in flight at once")

	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 1)
	require.NoError(t, err)
	require.Equal(t, b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'added'`, link.ID), runs[0].Added)
}
