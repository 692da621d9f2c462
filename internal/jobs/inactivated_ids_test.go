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

// TestInactivatedIDsAreAppliedOnceAndNeverWrittenAgain syncs an account
// whose inactivated list names, from the first page on, a transaction the
// second page serves live, and from the third page on also one the first
// page stored: the first is never stored live in the sync, the second is
// tombstoned once when first listed, and every tombstone is counted once
// although every page repeats the list.
func TestInactivatedIDsAreAppliedOnceAndNeverWrittenAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bank := &listingBank{}
	b := setup(t, setupOptions{
		sandbox: func(o *sandbox.Options) { o.Bank.Users, o.Bank.Density = 1, 4 },
		inst:    func(inst *consumerapi.Institution) { bank.serve(t, inst) },
	})
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
