package linkserver

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/userdata"
)

func TestAPIExportAndEraseUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.link(t, "app-user-a", 1)
	b.link(t, "app-user-b", 2)
	aID, bID := b.linkedID(t, "app-user-a", 1), b.linkedID(t, "app-user-b", 2)
	refresh, _ := b.openToken(t, aID)
	token := b.apiToken(t, "app-user-a")

	resp := do(t, http.MethodGet, b.url+"/api/users/me/export", token, nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "application/json", resp.header.Get("Content-Type"))
	require.Contains(t, resp.header.Get("Content-Disposition"), "attachment")
	var bundle struct {
		AppUserRef string                      `json:"app_user_ref"`
		Tables     map[string][]map[string]any `json:"tables"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.body), &bundle))
	require.Equal(t, "app-user-a", bundle.AppUserRef)
	require.Len(t, bundle.Tables["links"], 1)
	require.Equal(t, aID, bundle.Tables["links"][0]["id"])
	require.NotContains(t, resp.body, bID, "another user's link")
	require.NotContains(t, resp.body, refresh)
	require.Len(t, bundle.Tables["link_tokens"], 1)
	require.NotContains(t, bundle.Tables["link_tokens"][0], "sealed")

	resp = do(t, http.MethodGet, b.url+"/api/users/me/export?format=xml", token, nil)
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "invalid_format")
	resp = do(t, http.MethodPost, b.url+"/api/users/me", token, nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.status)

	resp = do(t, http.MethodDelete, b.url+"/api/users/me", token, nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	var er EraseResponse
	require.NoError(t, json.Unmarshal([]byte(resp.body), &er))
	require.Equal(t, "erased", er.Status)
	require.Equal(t, 1, er.Links)
	require.Equal(t, []userdata.Revocation{{LinkID: aID, Institution: testSlug, Outcome: userdata.Revoked}}, er.Revocations)
	require.Positive(t, er.Rows())
	links, tokens, jobs := b.counts(t)
	require.Equal(t, []int{1, 1, 1}, []int{links, tokens, jobs}, "only the other user's link, token and first sync remain")
	// The grant is gone at the bank; the other user's still works.
	_, err := b.client.Refresh(t.Context(), consumerapi.Secret(refresh))
	require.Error(t, err)
	other, _ := b.openToken(t, bID)
	b.requireRefreshWorks(t, other)
	require.NotContains(t, b.logs.String(), "app-user-a", "logs name the user by a keyed hash only")
}
