package linkserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHomePage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := get(t, b.url+"/")
	require.Equal(t, http.StatusOK, resp.status)
	require.Contains(t, resp.body, `id="home"`)
	require.Contains(t, resp.body, `href="/healthz"`)
	require.NotContains(t, resp.body, string(testAppKey))
	require.NotContains(t, resp.body, testClientSecret)
	require.Equal(t, http.StatusNotFound, get(t, b.url+"/nothing-here").status)
}

func TestErrorPageGivesItsAdviceOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := get(t, b.url+"/link")
	require.Equal(t, http.StatusUnauthorized, resp.status)
	require.Equal(t, 1, strings.Count(resp.body, "start again"), resp.body)
	require.Equal(t, 1, strings.Count(resp.body, `class="detail"`))
}

func TestSuccessPageLinksTheDashboard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Without a dashboard URL there is no link.
	resp := b.link(t, "dash-user", 1)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.NotContains(t, resp.body, `id="dashboard"`)

	s, err := New(Options{
		Store: b.store, Sealer: b.sealer, Jobs: b.river, Institutions: []Institution{b.inst},
		AppKey: testAppKey, PublicURL: b.url, Logger: b.logger, Now: b.clock.Now,
		DashboardURL: "https://dashboard.example.com/",
	})
	require.NoError(t, err)
	id := linkIDFromPage(t, resp.body)
	token, err := signToken(testAppKey, LinkClaims{Audience: audienceDone, AppUser: "dash-user", LinkID: id, Expiry: b.clock.Now().Add(doneLifetime)})
	require.NoError(t, err)
	rec := serve(t, s, http.MethodGet, DonePath+"?r="+token, "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `id="dashboard" href="https://dashboard.example.com/"`)

	// The same URL for another app user's view of the link is not found.
	other, err := signToken(testAppKey, LinkClaims{Audience: audienceDone, AppUser: "someone-else", LinkID: id, Expiry: b.clock.Now().Add(doneLifetime)})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, serve(t, s, http.MethodGet, DonePath+"?r="+other, "").Code)

	_, err = New(Options{
		Store: b.store, Sealer: b.sealer, Jobs: b.river, Institutions: []Institution{b.inst},
		AppKey: testAppKey, PublicURL: b.url, DashboardURL: "javascript:alert(1)",
	})
	require.ErrorContains(t, err, "dashboard URL")
}

func TestAPIErrorsAreJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api := b.apiToken(t, "json-user")
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/api/links"},
		{http.MethodGet, "/api/links/00000000-0000-0000-0000-000000000000/sync"},
		{http.MethodPut, "/api/links/00000000-0000-0000-0000-000000000000"},
	} {
		resp := do(t, c.method, b.url+c.path, api, nil)
		require.Equal(t, http.StatusMethodNotAllowed, resp.status, c)
		require.Equal(t, "application/json", resp.header.Get("Content-Type"))
		require.NotEmpty(t, resp.header.Get("Allow"))
		var e apiError
		decodeJSON(t, resp.body, &e)
		require.Equal(t, "method_not_allowed", e.Error)
	}
	resp := do(t, http.MethodGet, b.url+"/api/nothing", api, nil)
	require.Equal(t, http.StatusNotFound, resp.status)
	require.Equal(t, "application/json", resp.header.Get("Content-Type"))

	// A body with trailing data after the JSON value is refused, and
	// nothing is offered.
	id := b.linkedID(t, "json-user", 1)
	resp = do(t, http.MethodPost, b.url+"/api/links/"+id+"/reconsent", api, strings.NewReader(`{"return_url":""} {"x":1}`))
	require.Equal(t, http.StatusBadRequest, resp.status, resp.body)
	var e apiError
	decodeJSON(t, resp.body, &e)
	require.Equal(t, "invalid_body", e.Error)
	require.Contains(t, e.Message, "nothing after it")
	resp = do(t, http.MethodPost, b.url+"/api/links/"+id+"/reconsent", api, strings.NewReader(`{"return_url":""}`+"\n"))
	require.Equal(t, http.StatusOK, resp.status, resp.body)
}
