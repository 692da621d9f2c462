package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var decimalRE = regexp.MustCompile(`^-?\d+(\.\d+)?$`)

func TestFaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := b.authorize(t, 1)
	user := b.srv.Bank().UserID(1)
	path := "/users/" + user + "/accounts"

	setFaults := func(t *testing.T, f Faults) {
		t.Helper()
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPut, "/faults", f, nil))
	}
	do := func(t *testing.T) (*http.Response, error) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, b.srv.APIBaseURL()+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	}

	t.Run("RateLimitSeconds", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultRateLimit, RetryAfter: Duration(3 * time.Second), Limit: 1}}})
		status, _, h := b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusTooManyRequests, status)
		require.Equal(t, "3", h.Get("Retry-After"))
		status, _, _ = b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusOK, status, "limit 1: only the first request fails")
	})

	t.Run("RateLimitHTTPDate", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultRateLimit, RetryAfter: Duration(90 * time.Second), RetryAfterDate: true, Limit: 1}}})
		status, _, h := b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusTooManyRequests, status)
		when, err := http.ParseTime(h.Get("Retry-After"))
		require.NoError(t, err)
		require.InDelta(t, 90, time.Until(when).Seconds(), 3)
	})

	t.Run("ServerErrors", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{
			{Kind: FaultServerError, Status: 503, RetryAfter: Duration(2 * time.Second), Limit: 1},
			{Kind: FaultServerError, Limit: 1},
		}})
		status, _, h := b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusServiceUnavailable, status)
		require.Equal(t, "2", h.Get("Retry-After"))
		status, body, _ := b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusInternalServerError, status)
		var e apiError
		require.NoError(t, json.Unmarshal(body, &e))
		require.Equal(t, 500, e.ErrorCode)
	})

	t.Run("Reset", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultReset, Limit: 1}}})
		_, err := do(t)
		require.Error(t, err)
	})

	t.Run("Truncate", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultTruncate, Limit: 1}}})
		resp, err := do(t)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		full, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
		got, err := io.ReadAll(resp.Body)
		require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
		require.Less(t, len(got), full)
	})

	t.Run("Malformed", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultMalformed, Limit: 8}}})
		for range 8 {
			status, body, _ := b.get(t, tok, http.MethodGet, path)
			require.Equal(t, http.StatusOK, status)
			var accounts wireAccounts
			err := json.Unmarshal(body, &accounts)
			require.True(t, err != nil || len(accounts.Accounts) == 0 || !decimalRE.MatchString(accounts.Accounts[0].Balance), "a malformed body must not decode into valid accounts: %s", body)
		}
	})

	t.Run("LatencyAndMatch", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultLatency, Delay: Duration(300 * time.Millisecond), Match: "/accounts"}}})
		start := time.Now()
		status, _, _ := b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusOK, status)
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		status, _, _ = b.get(t, tok, http.MethodGet, "/users/"+user)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, 1, b.srv.Faults().Rules[0].Fired, "the rule only matches /accounts")
	})

	t.Run("Budget", func(t *testing.T) {
		setFaults(t, Faults{Budget: &Budget{Requests: 3, Per: Duration(time.Minute)}})
		for range 3 {
			status, _, _ := b.get(t, tok, http.MethodGet, path)
			require.Equal(t, http.StatusOK, status)
		}
		status, _, h := b.get(t, tok, http.MethodGet, path)
		require.Equal(t, http.StatusTooManyRequests, status)
		secs, err := strconv.Atoi(h.Get("Retry-After"))
		require.NoError(t, err)
		require.InDelta(t, 60, secs, 2)
	})

	t.Run("TokenEndpointOnlyWhenMatched", func(t *testing.T) {
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultServerError, Status: 502}}})
		tok := b.authorize(t, 2) // the token endpoint is untouched by an unmatched rule
		require.NotEmpty(t, tok.AccessToken)
		setFaults(t, Faults{Rules: []FaultRule{{Kind: FaultServerError, Status: 502, Match: "/oidc/token", Limit: 1}}})
		resp, err := http.PostForm(b.srv.Issuer()+"/token", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	})

	t.Run("InvalidConfigRefused", func(t *testing.T) {
		require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPut, "/faults", map[string]any{"rules": []map[string]any{{"kind": "gremlins"}}}, nil))
		require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPut, "/faults", map[string]any{"rules": []map[string]any{{"kind": "rate_limit", "fraction": 2}}}, nil))
	})

	t.Run("Counters", func(t *testing.T) {
		setFaults(t, Faults{})
		st := b.srv.Stats()
		require.Positive(t, st.Faults[string(FaultRateLimit)])
		require.Positive(t, st.Faults[string(FaultReset)])
		require.Positive(t, st.Faults[string(FaultTruncate)])
		require.Positive(t, st.Faults[string(FaultMalformed)])
		require.Equal(t, int64(1), st.BudgetRejections)
		require.Positive(t, st.Responses["429"])
		require.Positive(t, st.Clients[testClientID].MaxPerSecond)
	})
}

func TestFractionalFaultsAreRoughlyTheirShare(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) {
		o.Faults.Rules = []FaultRule{{Kind: FaultServerError, Fraction: 0.25, Status: 503}}
	})
	tok := b.authorize(t, 1)
	path := "/users/" + b.srv.Bank().UserID(1) + "/accounts"
	failed := 0
	for range 400 {
		if status, _, _ := b.get(t, tok, http.MethodGet, path); status == http.StatusServiceUnavailable {
			failed++
		}
	}
	require.InDelta(t, 100, failed, 40)
}

func TestParseFaultRule(t *testing.T) {
	t.Parallel()
	r, err := ParseFaultRule("kind=rate_limit,fraction=0.2,retry_after=2s,match=/transactions,limit=5,retry_after_date=true,method=get")
	require.NoError(t, err)
	require.Equal(t, FaultRule{Kind: FaultRateLimit, Fraction: 0.2, RetryAfter: Duration(2 * time.Second), Match: "/transactions", Limit: 5, RetryAfterDate: true, Method: "GET"}, r)
	for _, bad := range []string{"kind=nope", "kind=rate_limit,fraction=x", "kind=latency", "oops", "kind=server_error,status=404", "kind=rate_limit,color=red"} {
		_, err := ParseFaultRule(bad)
		require.Error(t, err, bad)
	}
}
