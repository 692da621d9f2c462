package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/sandbox"
)

// listingBank is the sandbox's Consumer API behind a proxy that adds ids
// to the inactivatedTransactionIds list of one account's transactions
// pages: from the first page on, the id of a transaction the second page
// serves live (ahead), and from the third page of the first query on, the
// id of a transaction the first page served (late).
type listingBank struct {
	upstream *url.URL

	mu      sync.Mutex
	account string // the transactions path the ids are added to
	ahead   string
	late    string
	pages   int
	// windowed, when set, is listed too, on pages of posted-date queries
	// only (a reconciliation's, not an incremental pass's).
	windowed string
}

func (l *listingBank) serve(t *testing.T, inst *consumerapi.Institution) {
	t.Helper()
	target, err := url.Parse(inst.BaseURL)
	require.NoError(t, err)
	l.upstream = &url.URL{Scheme: target.Scheme, Host: target.Host}
	proxy := httputil.NewSingleHostReverseProxy(l.upstream)
	proxy.ModifyResponse = func(resp *http.Response) error { return l.rewrite(t, resp) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Accept-Encoding") // bodies are rewritten as plain JSON
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	if inst.Issuer == "" {
		inst.Issuer = inst.BaseURL + "/oidc"
	}
	inst.BaseURL = srv.URL + target.Path
}

// transactionsPage is a page with its records kept byte for byte.
type transactionsPage map[string]json.RawMessage

func (p transactionsPage) ids(t *testing.T) []string {
	var txs []struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(p["transactions"], &txs))
	ids := make([]string, len(txs))
	for i, tx := range txs {
		ids[i] = tx.ID
	}
	return ids
}

func (l *listingBank) rewrite(t *testing.T, resp *http.Response) error {
	req := resp.Request
	if !strings.HasSuffix(req.URL.Path, "/transactions") || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	var page transactionsPage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&page); err != nil {
		return err
	}
	offset, _ := strconv.Atoi(req.URL.Query().Get("offset"))

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.account == "" && offset == 0 {
		// The first page of the first query: look at the second page
		// (the bank's own answer) to list one of its transactions ahead.
		q := req.URL.Query()
		q.Set("offset", strconv.Itoa(15))
		peek, err := http.NewRequestWithContext(req.Context(), http.MethodGet, l.upstream.ResolveReference(&url.URL{Path: req.URL.Path, RawQuery: q.Encode()}).String(), nil)
		if err != nil {
			return err
		}
		peek.Header.Set("Authorization", req.Header.Get("Authorization"))
		peekResp, err := http.DefaultClient.Do(peek)
		if err != nil {
			return err
		}
		defer peekResp.Body.Close()
		var second transactionsPage
		if err := json.NewDecoder(peekResp.Body).Decode(&second); err != nil {
			return err
		}
		first, next := page.ids(t), second.ids(t)
		if len(first) == 20 && len(next) == 20 {
			l.account, l.ahead, l.late = req.URL.Path, next[19], first[0]
		}
	}
	if req.URL.Path == l.account {
		l.pages++
		var list []string
		if raw := page["inactivatedTransactionIds"]; len(raw) > 0 && string(raw) != "null" {
			require.NoError(t, json.Unmarshal(raw, &list))
		}
		list = append(list, l.ahead)
		if l.pages >= 3 {
			list = append(list, l.late)
		}
		if l.windowed != "" && req.URL.Query().Get("updatedSince") == "" {
			list = append(list, l.windowed)
		}
		raw, err := json.Marshal(list)
		if err != nil {
			return err
		}
		page["inactivatedTransactionIds"] = raw
		if body, err = json.Marshal(page); err != nil {
			return err
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// setupListingBank is a test bundle whose institution is a listingBank
// in front of one sandbox user with a small history.
func setupListingBank(t *testing.T) (*listingBank, *testBundle) {
	bank := &listingBank{}
	return bank, setup(t, setupOptions{
		sandbox: func(o *sandbox.Options) { o.Bank.Users, o.Bank.Density = 1, 4 },
		inst:    func(inst *consumerapi.Institution) { bank.serve(t, inst) },
	})
}

// TestInactivatedIDsAreAppliedOnceAndNeverWrittenAgain syncs an account
// whose inactivated list names, from the first page on, a transaction the
// second page serves live, and from the third page on also one the first
// page stored: the first is never stored live in the sync, the second is
// tombstoned once when first listed, and every tombstone is counted once
// although every page repeats the list.
func TestInactivatedIDsAreAppliedOnceAndNeverWrittenAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank, b := setupListingBank(t)
	syncer := b.syncer(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5}, 4)
	link := b.consent(t, 1)
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1))

	bank.mu.Lock()
	ahead, late, pages := bank.ahead, bank.late, bank.pages
	bank.mu.Unlock()
	require.NotEmpty(t, ahead, "the first query has two full pages")
	require.Greater(t, pages, 3)

	changes := func(id, change string) int {
		return b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND provider_transaction_id = $2 AND change = $3`, link.ID, id, change)
	}
	// Listed before it was served: never written.
	require.Zero(t, b.count(t, `SELECT count(*) FROM transactions WHERE provider_transaction_id = $1`, ahead))
	require.Zero(t, changes(ahead, "added"))
	// Stored by the first page, listed from the third: tombstoned once.
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM transactions WHERE provider_transaction_id = $1 AND removed_at IS NOT NULL`, late))
	require.Equal(t, 1, changes(late, "added"))
	require.Equal(t, 1, changes(late, "removed"))

	// Every tombstone counted once in the run, as in the change feed.
	runs, err := b.Store.SyncRuns(ctx, link.ID, 1)
	require.NoError(t, err)
	removed := b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'removed'`, link.ID)
	require.Equal(t, removed, runs[0].Removed)
	require.Equal(t, b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'added'`, link.ID), runs[0].Added)
	require.Equal(t, removed, b.count(t, `SELECT count(DISTINCT provider_transaction_id) FROM transaction_changes WHERE link_id = $1 AND change = 'removed'`, link.ID))
}

// TestReconciliationKeepsListedTransactionsRemoved runs a reconciling
// sync after the first one, against the bank of
// TestInactivatedIDsAreAppliedOnceAndNeverWrittenAgain, which still serves
// both listed transactions live and lists them on every page: the
// reconciliation re-reads them, and neither is written live again. The
// bank also lists a third transaction, stored live, on the pages of
// posted-date queries only: the incremental pass never reads that list,
// and the reconciliation tombstones it and tells the app.
func TestReconciliationKeepsListedTransactionsRemoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank, b := setupListingBank(t)
	link := b.consent(t, 1)
	first := b.syncer(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5}, 4)
	require.NoError(t, first.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1))
	bank.mu.Lock()
	ahead, late := bank.ahead, bank.late
	bank.mu.Unlock()
	require.NotEmpty(t, ahead, "the first query has two full pages")

	var windowed string
	require.NoError(t, b.Pool.QueryRow(ctx, `
		SELECT t.provider_transaction_id FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND a.provider_account_id = $2 AND t.removed_at IS NULL
		ORDER BY t.posted_at DESC LIMIT 1`, link.ID, accountOfPath(bank.account)).Scan(&windowed))
	bank.mu.Lock()
	bank.windowed = windowed
	bank.mu.Unlock()
	changes := func(id string) int {
		return b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND provider_transaction_id = $2`, link.ID, id)
	}
	removedEvents := func() int {
		return b.count(t, `SELECT count(*) FROM events WHERE link_id = $1 AND type = 'transactions.removed'`, link.ID)
	}
	eventsBefore := removedEvents()

	// The window reaches back over the whole history, so the listed
	// transactions (on the first window's first pages) are re-read.
	// A worker (River client) runs it, so its events are stored.
	worker := b.startWorker(t, jobs.SyncConfig{PageSize: 20, PageOverlap: 5, ReconcileEvery: time.Nanosecond, ReconcileWindow: 3 * 365 * 24 * time.Hour}, jobs.ClientConfig{})
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), time.Minute))
	runs, err := b.Store.SyncRuns(ctx, link.ID, 1)
	require.NoError(t, err)
	require.True(t, runs[0].Reconcile.Ran, "the second sync reconciles")

	require.Zero(t, b.count(t, `SELECT count(*) FROM transactions WHERE provider_transaction_id = $1`, ahead))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM transactions WHERE provider_transaction_id = $1 AND removed_at IS NOT NULL`, late))
	require.Zero(t, changes(ahead))
	require.Equal(t, 2, changes(late), "added and removed by the first sync, nothing since")
	require.Zero(t, runs[0].Reconcile.Added+runs[0].Reconcile.Modified, "the reconciliation wrote no listed transaction live")

	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM transactions WHERE provider_transaction_id = $1 AND removed_at IS NOT NULL`, windowed))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND provider_transaction_id = $2 AND change = 'removed'`, link.ID, windowed))
	require.Equal(t, 1, runs[0].Reconcile.Removed)
	require.Equal(t, eventsBefore+1, removedEvents(), "the app is told")
}

// accountOfPath returns the account id of a transactions path
// (.../accounts/{id}/transactions).
func accountOfPath(path string) string {
	parts := strings.Split(strings.TrimSuffix(path, "/transactions"), "/")
	return parts[len(parts)-1]
}
