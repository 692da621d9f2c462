package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/config"
)

func TestBankRoute(t *testing.T) {
	t.Parallel()

	for path, want := range map[string]string{
		"/users/u-1":                             "GET /users/{userId}",
		"/users/u-1/accounts":                    "GET /users/{userId}/accounts",
		"/users/u-1/accounts/a-9":                "GET /users/{userId}/accounts/{accountId}",
		"/users/u-1/accounts/a-9/transactions":   "GET /users/{userId}/accounts/{accountId}/transactions",
		"/users/u-1/tasks/t-3":                   "GET /users/{userId}/tasks/{taskId}",
		"/oidc/.well-known/openid-configuration": "GET /oidc/.well-known/openid-configuration",
		"/oidc/jwks":                             "GET /oidc/jwks",
		"/users/u-1/accounts/a-9/transactions/x": "other",
		"/admin/secrets":                         "other",
		"":                                       "other",
		"/users/eyJhbGciOiJFUzI1NiJ9.payload.sig/accounts":  "GET /users/{userId}/accounts",
		"/users/u-1/accounts/eyJhbGciOiJFUzI1NiJ9.p.s/oops": "other",
	} {
		require.Equal(t, want, bankRoute(http.MethodGet, path), path)
	}
	require.Equal(t, "POST /oidc/token", bankRoute(http.MethodPost, "/oidc/token"))
	require.Equal(t, "PUT /users/{userId}/fetch", bankRoute(http.MethodPut, "/users/u-1/fetch"))
	require.Equal(t, "other", bankRoute("PROPFIND", "/users/u-1"))
}

func TestBankTransport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bank := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/a/consumer/api/v0/users/u-1/accounts":
			_, _ = io.WriteString(w, `{"accounts":[]}`)
		case r.URL.Path == "/a/consumer/api/v0/oidc/token":
			require.NoError(t, r.ParseForm())
			switch r.Form.Get("refresh_token") {
			case "revoked":
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"grant revoked"}`)
			case "busy":
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"made_up_code"}`)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer bank.Close()
	rt := b.tel.BankTransport(nil, []config.Institution{
		{Slug: "garden", BaseURL: bank.URL + "/a/consumer/api/v0"},
		{Slug: "elsewhere", BaseURL: "https://bank.example/api"},
	})
	client := &http.Client{Transport: rt}
	garden := keyInstitution.String("garden")

	// A request is counted when its body has been read or closed, with its
	// duration.
	resp, err := client.Get(bank.URL + "/a/consumer/api/v0/users/u-1/accounts?updatedSince=2026-01-01")
	require.NoError(t, err)
	accounts := keyRoute.String("GET /users/{userId}/accounts")
	require.Zero(t, b.counter(t, "pfmsync.bank_api.requests", garden, accounts, keyStatus.String("200")))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.JSONEq(t, `{"accounts":[]}`, string(body))
	require.NoError(t, resp.Body.Close())
	require.EqualValues(t, 1, b.counter(t, "pfmsync.bank_api.requests", garden, accounts, keyStatus.String("200")))
	n, _ := b.histogramCount(t, "pfmsync.bank_api.request.duration", garden, accounts)
	require.EqualValues(t, 1, n)

	// Token refreshes that fail are classified; the caller still reads the
	// error body.
	token := bank.URL + "/a/consumer/api/v0/oidc/token"
	post := func(form url.Values) (int, string) {
		resp, err := client.PostForm(token, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	status, body2 := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"revoked"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body2, "grant revoked")
	post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"busy"}})
	post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"other"}})
	post(url.Values{"grant_type": {"authorization_code"}, "code": {"c"}}) // not a refresh
	failures := func(class string) int64 {
		return b.counter(t, "pfmsync.token_refresh.failures", garden, keyErrorClass.String(class))
	}
	require.EqualValues(t, 1, failures("invalid_grant"))
	require.EqualValues(t, 1, failures("rate_limited"))
	require.EqualValues(t, 1, failures("http_4xx"), "an unknown OAuth code counts by status")
	tokenRoute := keyRoute.String("POST /oidc/token")
	require.EqualValues(t, 3, b.counter(t, "pfmsync.bank_api.requests", garden, tokenRoute, keyStatus.String("400")))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.bank_api.requests", garden, tokenRoute, keyStatus.String("429")))

	// A path outside the known routes, and a URL under no institution.
	resp, err = client.Get(bank.URL + "/a/consumer/api/v0/users/u-1/secret-thing")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.EqualValues(t, 1, b.counter(t, "pfmsync.bank_api.requests", garden, keyRoute.String("other"), keyStatus.String("404")))
	resp, err = client.Get(bank.URL + "/elsewhere/users/u-1")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.EqualValues(t, 1, b.counter(t, "pfmsync.bank_api.requests", keyInstitution.String("unknown"), keyRoute.String("other"), keyStatus.String("404")))

	// No response at all.
	bank.Close()
	_, err = client.PostForm(token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	require.Error(t, err)
	require.EqualValues(t, 1, b.counter(t, "pfmsync.bank_api.requests", garden, tokenRoute, keyStatus.String("error")))
	require.EqualValues(t, 1, failures("network"))

	// No label holds an id, a query or a token.
	for _, s := range b.scrape(t) {
		for _, v := range s.Labels {
			for _, leak := range []string{"u-1", "updatedSince", "revoked", "secret-thing"} {
				require.NotContains(t, v, leak, "%s%v", s.Name, s.Labels)
			}
		}
	}
}

func TestBankTransportCancelledRefreshIsNoFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	block := make(chan struct{})
	bank := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer bank.Close()
	defer close(block)
	client := &http.Client{Transport: b.tel.BankTransport(nil, []config.Institution{{Slug: "garden", BaseURL: bank.URL}})}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, bank.URL+"/oidc/token",
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cancel()
	_, err = client.Do(req)
	require.Error(t, err)
	require.EqualValues(t, 1, b.counter(t, "pfmsync.bank_api.requests", keyInstitution.String("garden"), keyRoute.String("POST /oidc/token"), keyStatus.String("error")))
	require.Zero(t, b.counter(t, "pfmsync.token_refresh.failures", keyInstitution.String("garden"), keyErrorClass.String("network")))
}
