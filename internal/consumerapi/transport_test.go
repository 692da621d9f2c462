package consumerapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// recordingTracerProvider records the names of the spans started.
type recordingTracerProvider struct {
	noop.TracerProvider
	mu    sync.Mutex
	names []string
}

func (p *recordingTracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return &recordingTracer{p: p}
}

func (p *recordingTracerProvider) spanNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.names...)
}

type recordingTracer struct {
	noop.Tracer
	p *recordingTracerProvider
}

func (t *recordingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.p.mu.Lock()
	t.p.names = append(t.p.names, name)
	t.p.mu.Unlock()
	return t.Tracer.Start(ctx, name, opts...)
}

func TestTransportHeadersAndSpans(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusOK, "transactions_null.json")
	})
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, tokenJSON(t, map[string]any{"refresh_token": "refresh-2"}))
	})
	tp := &recordingTracerProvider{}
	c, err := New(context.Background(), bank.institution(), WithVersion("1.4.0"), WithOTelOptions(otelhttp.WithTracerProvider(tp)))
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Refresh(context.Background(), "refresh-1")
	require.NoError(t, err)
	_, err = c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, TransactionQuery{Limit: 10})
	require.NoError(t, err)

	require.Equal(t, []string{
		"banno GET /oidc/.well-known/openid-configuration",
		"banno POST /oidc/token",
		"banno GET /users/{userId}/accounts/{accountId}/transactions",
	}, tp.spanNames(), "spans named by route template, no ids")

	bank.mu.Lock()
	defer bank.mu.Unlock()
	require.NotEmpty(t, bank.headers)
	for _, h := range bank.headers {
		require.Equal(t, "pfmsync/1.4.0 (+https://github.com/pfmsync/pfmsync)", h.Get("User-Agent"))
		require.Empty(t, h.Get("Traceparent"), "trace context stays inside pfmsync")
	}
}

func TestDefaultUserAgent(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	c, err := New(context.Background(), bank.institution())
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^pfmsync/\S+ \(\+https://github\.com/pfmsync/pfmsync\)$`), c.UserAgent())
}

func TestRateLimiterRespectsContext(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusOK, "accounts.json")
	})
	c := bank.newClient(t, func(i *Institution) {
		i.RequestsPerSecond = 0.01 // one request per 100 s
		i.Burst = 1
	})
	s := c.Session(testUserID, StaticToken(testAccess))
	_, err := s.Accounts(context.Background())
	require.NoError(t, err, "the burst allows one request")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Accounts(ctx)
	require.Error(t, err)
	// ErrRequestBudget, not the context's deadline: the limiter refused at
	// once because the wait would outlast the deadline.
	require.ErrorIs(t, err, ErrRequestBudget)
	require.True(t, IsRateLimited(err))
	require.Empty(t, c.delays(), "not retried")
	require.Equal(t, 1, bank.hitCount(accountsRoute))

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = s.Accounts(ctx2)
	require.Equal(t, KindCanceled, Classify(err))
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/steal", http.StatusFound)
	})
	c := bank.newClient(t)
	_, err := c.Session(testUserID, StaticToken(testAccess)).Accounts(context.Background())
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusFound, ae.StatusCode)
	require.Equal(t, KindPermanent, ae.Kind)
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusBadRequest, "oauth_invalid_grant.json")
	})
	c := bank.newClient(t)
	_, err1 := c.Session(testUserID, StaticToken(testAccess)).Accounts(context.Background())
	_, err2 := c.Refresh(context.Background(), "refresh-token-must-never-leak")
	for _, s := range []string{err1.Error(), err2.Error(), c.logs.String()} {
		require.NotContains(t, s, testAccess.Reveal())
		require.NotContains(t, s, testSecret.Reveal())
		require.NotContains(t, s, "refresh-token-must-never-leak")
	}
	require.True(t, strings.Contains(c.logs.String(), `"route":"GET /users/{userId}/accounts"`))
}

func TestRetryAfterPausesEveryRequestToTheInstitution(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	var mu sync.Mutex
	users := map[string]int{}
	bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		users[r.PathValue("userId")]++
		mu.Unlock()
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusTooManyRequests, []byte(`{"errorCode":429,"messages":"slow down"}`))
	})
	c, err := New(context.Background(), bank.institution())
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Session("user-1", StaticToken("access-1")).Accounts(context.Background())
	require.True(t, IsRateLimited(err), "got %v", err)

	// Another user's call waits for the pause: it cannot fit in its
	// deadline, and the bank never sees it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = c.Session("user-2", StaticToken("access-2")).Accounts(ctx)
	require.ErrorIs(t, err, ErrRequestBudget)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]int{"user-1": 1}, users)
}

func TestPauseAsked(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	resp := func(status int, retryAfter string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		if retryAfter != "" {
			r.Header.Set("Retry-After", retryAfter)
		}
		return r
	}
	for _, tc := range []struct {
		resp *http.Response
		want time.Duration
		ok   bool
	}{
		{resp(429, "7"), 7 * time.Second, true},
		{resp(429, ""), DefaultPause, true},
		{resp(503, "2"), 2 * time.Second, true},
		{resp(503, ""), 0, false},
		{resp(500, "9"), 0, false},
		{resp(200, ""), 0, false},
		{resp(429, now.Add(time.Minute).Format(http.TimeFormat)), time.Minute, true},
	} {
		d, ok := pauseAsked(tc.resp, now)
		require.Equal(t, tc.ok, ok, "status %d Retry-After %q", tc.resp.StatusCode, tc.resp.Header.Get("Retry-After"))
		require.Equal(t, tc.want, d, "status %d Retry-After %q", tc.resp.StatusCode, tc.resp.Header.Get("Retry-After"))
	}
}
