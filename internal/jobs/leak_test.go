package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/statuspage"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// echoingBank lets token requests reach the sandbox and remembers every
// secret they carry or return, by kind; every Consumer API call goes to a
// fault server that answers 500 with an error body repeating everything it
// knows: the request's Authorization header and form, the client secret,
// and every secret of the earlier calls (the consent's code and verifier,
// each ID token, each access and refresh token issued or presented so far).
type echoingBank struct {
	next  http.RoundTripper
	fault *url.URL

	mu    sync.Mutex
	known []string
	kinds map[string]map[string]bool
}

func (e *echoingBank) remember(kind string, vs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kinds == nil {
		e.kinds = map[string]map[string]bool{}
	}
	for _, v := range vs {
		if v == "" || e.kinds[kind][v] {
			continue
		}
		if e.kinds[kind] == nil {
			e.kinds[kind] = map[string]bool{}
		}
		e.kinds[kind][v] = true
		e.known = append(e.known, v)
	}
}

func (e *echoingBank) secrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.known...)
}

// count returns how many distinct secrets of kind were seen.
func (e *echoingBank) count(kind string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.kinds[kind])
}

func (e *echoingBank) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/oidc/") {
		if r.GetBody != nil {
			if body, err := r.GetBody(); err == nil {
				b, _ := io.ReadAll(body)
				q, _ := url.ParseQuery(string(b))
				e.remember("refresh", q.Get("refresh_token"))
				e.remember("code", q.Get("code"))
				e.remember("verifier", q.Get("code_verifier"))
				e.remember("client_secret", q.Get("client_secret"))
			}
		}
		resp, err := e.next.RoundTrip(r)
		if err != nil || !strings.HasSuffix(r.URL.Path, "/token") {
			return resp, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		var tok struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
			ID      string `json:"id_token"`
		}
		_ = json.Unmarshal(b, &tok)
		e.remember("access", tok.Access)
		e.remember("refresh", tok.Refresh)
		e.remember("id", tok.ID)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = e.fault.Scheme, e.fault.Host, e.fault.Host
	return e.next.RoundTrip(r)
}

func TestNoSecretLeaksFromProviderErrorBodies(t *testing.T) {
	t.Parallel()
	bank := &echoingBank{next: jobs.CountingTransport(nil)}
	fault := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		// What this request carried (its access token), padded so that a
		// secret straddles the point where long text is cut, the client
		// secret, and every secret of the earlier calls, raw and
		// URL-encoded.
		var earlier []string
		for _, v := range bank.secrets() {
			earlier = append(earlier, v, url.QueryEscape(v))
		}
		echo := "auth=" + r.Header.Get("Authorization") + " form=" + r.Form.Encode() + " secret=" + synctest.ClientSecret +
			strings.Repeat(" x", 200) + " again auth=" + r.Header.Get("Authorization") +
			" earlier=" + strings.Join(earlier, " ")
		// The earlier secrets lead one of the texts, so that they are
		// within what is kept after the cap.
		lead := "earlier: " + strings.Join(earlier, ",")
		body, _ := json.Marshal(map[string]any{
			"error": "server_error", "error_description": "failed: " + echo,
			"errorCode": echo, "messages": []string{lead, "raw " + echo, url.QueryEscape(echo)},
		})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "jh-leak-8123")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(body)
	}))
	t.Cleanup(fault.Close)
	faultURL, err := url.Parse(fault.URL)
	require.NoError(t, err)
	bank.fault = faultURL
	b := &testBundle{synctest.New(t, synctest.Options{
		ClientOptions: []consumerapi.Option{consumerapi.WithTransport(bank)},
	})}
	link := b.consent(t, 1)
	ctx := context.Background()

	// A real worker: the sync fails and River records each attempt's error.
	logs := &testsupport.SyncBuffer{}
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:        b.Store,
		Sealer:       b.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: b.Client, MaxConcurrentSyncs: 4}},
		Config:       jobs.DefaultSyncConfig(),
	})
	client, err := jobs.NewClient(b.Pool, b.Store, syncer, jobs.ClientConfig{
		ScheduleEvery: time.Hour, Retry: jobs.RetryPolicy{Base: 100 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stop)
	})
	jobID := b.enqueue(t, client, link.ID, jobs.TriggerManual)
	require.Eventually(t, func() bool {
		return b.count(t, `SELECT coalesce(jsonb_array_length(to_jsonb(errors)), 0) FROM river_job WHERE id = $1`, jobID) >= 2
	}, 60*time.Second, 50*time.Millisecond)
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, client.Stop(stop))

	// Everything pfmsync stored about the failure.
	var stored strings.Builder
	rows, err := b.Pool.Query(ctx, `
		SELECT coalesce(to_jsonb(errors)::text, '') FROM river_job
		UNION ALL SELECT to_jsonb(r)::text FROM sync_runs r
		UNION ALL SELECT to_jsonb(l)::text FROM links l`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		stored.WriteString(s + "\n")
	}
	require.NoError(t, rows.Err())
	require.Contains(t, stored.String(), "jh-leak-8123", "the x-request-id is kept")
	require.Contains(t, stored.String(), "REDACTED", "the provider's text was kept, redacted")
	require.Contains(t, stored.String(), "earlier: [REDACTED],[REDACTED],[REDACTED]", "the earlier secrets were echoed, and redacted")

	// The status page over the same database.
	h, err := statuspage.New(statuspage.Options{Store: b.Store})
	require.NoError(t, err)
	var pages strings.Builder
	for _, path := range []string{"/", "/links", "/links/" + link.ID, "/runs"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
		pages.WriteString(rec.Body.String())
	}
	require.Contains(t, pages.String(), "jh-leak-8123", "the status page shows the failed run's x-request-id")

	// The consent's code and verifier, its ID token, and the tokens of the
	// consent and of the first attempt were all echoed to a later attempt.
	require.Equal(t, 1, bank.count("code"))
	require.Equal(t, 1, bank.count("verifier"))
	require.GreaterOrEqual(t, bank.count("id"), 1)
	require.GreaterOrEqual(t, bank.count("access"), 3, "the consent's and two attempts' access tokens")
	require.GreaterOrEqual(t, bank.count("refresh"), 3, "the consent's and two rotations' refresh tokens")
	secrets := append(bank.secrets(), synctest.ClientSecret)
	for _, s := range secrets {
		for _, form := range append([]string{s, url.QueryEscape(s)}, fragments(s)...) {
			require.NotContains(t, logs.String(), form, "worker log")
			require.NotContains(t, stored.String(), form, "database")
			require.NotContains(t, pages.String(), form, "status page")
		}
	}
}

// fragments are pieces of a secret that must not survive either: a cap
// that cut through a secret before redaction would leave part of it. For a
// JWT the header (the same for every token) is skipped.
func fragments(s string) []string {
	if _, rest, ok := strings.Cut(s, "."); ok {
		s = rest
	}
	const n = 20
	var out []string
	for i := 0; i+n <= len(s); i += n / 2 {
		out = append(out, s[i:i+n])
	}
	return out
}
