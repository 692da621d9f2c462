package jobs_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
)

// offsetBank is a Banno-shaped Consumer API on loopback: the sandbox's,
// served through a proxy that can be told to ignore offset on the
// transactions route (answering every page as if offset were 0), as a
// bank with that bug would. It records the offsets it was asked for.
type offsetBank struct {
	ignoreOffset atomic.Bool

	mu      sync.Mutex
	offsets []int
}

func (o *offsetBank) asked() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.offsets...)
}

func (o *offsetBank) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.offsets = nil
}

// serve starts the proxy in front of the Consumer API at apiBase and
// points inst at it (the OpenID provider stays the sandbox's).
func (o *offsetBank) serve(t *testing.T, inst *consumerapi.Institution) {
	t.Helper()
	proxyTransactions(t, inst, func(r *http.Request) {
		q := r.URL.Query()
		offset, _ := strconv.Atoi(q.Get("offset"))
		o.mu.Lock()
		o.offsets = append(o.offsets, offset)
		o.mu.Unlock()
		if o.ignoreOffset.Load() {
			q.Del("offset")
			r.URL.RawQuery = q.Encode()
		}
	})
}

// proxyTransactions puts a reverse proxy in front of inst's Consumer API
// and points inst at it (the OpenID provider stays the sandbox's);
// onTransactions sees, and may change, every transactions request before
// it is passed on.
func proxyTransactions(t *testing.T, inst *consumerapi.Institution, onTransactions func(r *http.Request)) {
	t.Helper()
	proxyTransactionPages(t, inst, onTransactions, nil)
}

// proxyTransactionPages is proxyTransactions that also shows onPage (when
// not nil) the body of every transactions page the bank answers with 200.
func proxyTransactionPages(t *testing.T, inst *consumerapi.Institution, onTransactions func(r *http.Request), onPage func(r *http.Request, body []byte) error) {
	t.Helper()
	target, err := url.Parse(inst.BaseURL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	if onPage != nil {
		proxy.ModifyResponse = func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/transactions") || resp.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return onPage(resp.Request, body)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if onTransactions != nil && strings.HasSuffix(r.URL.Path, "/transactions") {
			onTransactions(r)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	if inst.Issuer == "" {
		inst.Issuer = inst.BaseURL + "/oidc"
	}
	inst.BaseURL = srv.URL + target.Path
}

func TestBankIgnoringOffsetEndsThePassWithAClassifiedError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank := &offsetBank{}
	b := setup(t, setupOptions{inst: func(inst *consumerapi.Institution) { bank.serve(t, inst) }})
	// 20-row pages overlapping by 5: consecutive pages share rows.
	syncer := b.syncer(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5}, 4)

	// An honest bank: overlapping pages are not mistaken for repeats.
	honest := b.consent(t, 1)
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: honest.ID, Trigger: jobs.TriggerLink}, 1, 1))
	b.requireMatchesTruth(t, honest, 1)
	require.Contains(t, bank.asked(), 30, "pages beyond the second were read (offsets step by 15)")
	runs, err := b.Store.SyncRuns(ctx, honest.ID, 1)
	require.NoError(t, err)
	require.Equal(t, pfm.OutcomeSuccess, runs[0].Outcome)

	// The bank starts ignoring offset: the second page repeats the first.
	bank.ignoreOffset.Store(true)
	bank.reset()
	broken := b.consent(t, 2)
	// Without the guard the pass would read the same page until the job's
	// timeout; a bounded context turns that into a failure here.
	bounded, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = syncer.Sync(bounded, jobs.SyncArgs{LinkID: broken.ID, Trigger: jobs.TriggerLink}, 2, 1)
	require.ErrorContains(t, err, "returned the previous transactions page again")
	require.ErrorContains(t, err, "at offset 15", "the pass ended at the first repeated page")

	// The page loop reads one page ahead while a page commits, so the page
	// after the repeated one may already have been asked for; nothing
	// further ever is.
	asked := bank.asked()
	require.NotEmpty(t, asked)
	require.Contains(t, asked, 15)
	require.LessOrEqual(t, slices.Max(asked), 30, "no page beyond the one read ahead of the repeated page was asked for")

	runs, err = b.Store.SyncRuns(ctx, broken.ID, 1)
	require.NoError(t, err)
	require.Equal(t, pfm.OutcomeFailed, runs[0].Outcome)
	require.Equal(t, pfm.ClassRepeatedPage, runs[0].ErrorClass)
	require.Contains(t, runs[0].Error, "offset ignored")
	l := b.linkRow(t, broken.ID)
	require.Equal(t, pfm.ClassRepeatedPage, l.LastErrorClass)
	require.Equal(t, 1, l.ConsecutiveFailures)
	require.Equal(t, pfm.LinkActive, l.Status, "a bank bug does not cost the user their link")

	// Once the bank honours offset again, the same link syncs exactly.
	bank.ignoreOffset.Store(false)
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: broken.ID, Trigger: jobs.TriggerManual}, 3, 1))
	b.requireMatchesTruth(t, broken, 2)
}
