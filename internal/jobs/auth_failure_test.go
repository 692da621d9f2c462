package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// refreshFault sends every refresh_token grant to a fault server on
// loopback that refuses it the way some providers do (401 invalid_request)
// and echoes the request, client secret and refresh token included, in its
// error_description. Everything else goes to the sandbox.
type refreshFault struct {
	next  http.RoundTripper
	fault *url.URL
}

func (f refreshFault) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oidc/token") {
		body, err := r.GetBody()
		if err == nil {
			b, _ := io.ReadAll(body)
			if q, _ := url.ParseQuery(string(b)); q.Get("grant_type") == "refresh_token" {
				r = r.Clone(r.Context())
				r.URL.Scheme, r.URL.Host = f.fault.Scheme, f.fault.Host
				r.Host = f.fault.Host
				r.Body, _ = r.GetBody()
			}
		}
	}
	return f.next.RoundTrip(r)
}

func newRefreshFaultServer(t *testing.T, seen *sync.Map) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		seen.Store(r.PostForm.Get("refresh_token"), true)
		echo := "unknown token " + r.PostForm.Encode() + " " + strings.Join(r.PostForm["refresh_token"], ",") +
			" secret " + strings.Join(r.PostForm["client_secret"], ",")
		body, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": echo})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "jh-req-4711")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRepeatedAuthFailuresMoveLinkToReauthRequired(t *testing.T) {
	t.Parallel()
	var seen sync.Map
	fault := newRefreshFaultServer(t, &seen)
	faultURL, err := url.Parse(fault.URL)
	require.NoError(t, err)
	b := &testBundle{synctest.New(t, synctest.Options{
		ClientOptions: []consumerapi.Option{consumerapi.WithTransport(refreshFault{next: jobs.CountingTransport(nil), fault: faultURL})},
	})}
	link := b.consent(t, 1)

	logs := &testsupport.SyncBuffer{}
	cfg := jobs.DefaultSyncConfig()
	cfg.AuthFailureThreshold = 3
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger:       slog.New(slog.NewJSONHandler(logs, nil)),
		Store:        b.Store,
		Sealer:       b.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: b.Client, MaxConcurrentSyncs: 4}},
		Config:       cfg,
	})
	ctx := context.Background()
	args := jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}
	for i := 1; i <= 3; i++ {
		err := syncer.Sync(ctx, args, int64(i), 1)
		require.Error(t, err)
		var cancel *river.JobCancelError
		if i < 3 {
			require.False(t, errors.As(err, &cancel), "attempt %d is retried", i)
			require.Equal(t, pfm.LinkActive, b.linkRow(t, link.ID).Status, "attempt %d", i)
		} else {
			require.True(t, errors.As(err, &cancel), "the last refusal ends the job")
		}
	}
	got := b.linkRow(t, link.ID)
	require.Equal(t, pfm.LinkReauthRequired, got.Status)
	require.Nil(t, got.NextSyncAt)

	runs, err := b.Store.SyncRuns(ctx, link.ID, 10)
	require.NoError(t, err)
	require.Len(t, runs, 3)
	for _, r := range runs {
		require.Equal(t, "jh-req-4711", r.RequestID)
		require.Contains(t, r.Error, "invalid_request")
	}
	require.Contains(t, logs.String(), "jh-req-4711")

	// No secret anywhere: logs, sync runs, the link row.
	var stored strings.Builder
	rows, err := b.Pool.Query(ctx, `SELECT coalesce(error, '') || coalesce(request_id, '') FROM sync_runs
		UNION ALL SELECT coalesce(last_error, '') || coalesce(last_error_class, '') FROM links`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		stored.WriteString(s + "\n")
	}
	require.NoError(t, rows.Err())
	require.Contains(t, stored.String(), "[REDACTED]")
	secrets := []string{synctest.ClientSecret}
	seen.Range(func(k, _ any) bool {
		secrets = append(secrets, k.(string), url.QueryEscape(k.(string)))
		return true
	})
	require.Greater(t, len(secrets), 1, "the fault server saw the refresh token")
	for _, secret := range secrets {
		require.NotContains(t, stored.String(), secret)
		require.NotContains(t, logs.String(), secret)
	}
}
