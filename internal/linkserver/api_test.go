package linkserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
)

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	valid := b.apiToken(t, "app-user-z")
	body, sig, _ := strings.Cut(valid, ".")
	expired := b.sign(t, LinkClaims{Audience: AudienceAPI, AppUser: "app-user-z", Expiry: time.Now().Add(-time.Minute)})

	for name, tc := range map[string]struct {
		header string
		status int
		code   string
	}{
		"Missing":       {"", http.StatusUnauthorized, "invalid_token"},
		"NotBearer":     {"Basic " + valid, http.StatusUnauthorized, "invalid_token"},
		"Expired":       {"Bearer " + expired, http.StatusUnauthorized, "invalid_token"},
		"Tampered":      {"Bearer " + body + "." + sig[:len(sig)-2] + "AA", http.StatusUnauthorized, "invalid_token"},
		"WrongAudience": {"Bearer " + b.linkToken(t, "app-user-z"), http.StatusForbidden, "wrong_audience"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, b.url+"/api/links", nil)
			require.NoError(t, err)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := noFollow.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
			var e apiError
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			require.Equal(t, tc.code, e.Error)
			requireSecurityHeaders(t, resp.Header, true)
		})
	}

	resp := do(t, http.MethodGet, b.url+"/api/links", valid, nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.JSONEq(t, `{"links":[]}`, resp.body)
}

func TestAPIListIsolatesUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a1 := b.linkedID(t, "alice", 1)
	a2 := b.linkedID(t, "alice", 2)
	bob := b.linkedID(t, "bob", 3)

	var list struct{ Links []LinkView }
	resp := do(t, http.MethodGet, b.url+"/api/links", b.apiToken(t, "alice"), nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	decodeJSON(t, resp.body, &list)
	var ids []string
	for _, l := range list.Links {
		ids = append(ids, l.ID)
		require.Equal(t, "active", l.Status)
		require.Equal(t, InstitutionView{Slug: testSlug, Name: "Sandbox Community Bank"}, l.Institution)
		require.ElementsMatch(t, allScopes, l.GrantedScopes)
		require.Empty(t, l.MissingScopes)
		require.NotNil(t, l.MissingScopes, "missing_scopes is a list, never null")
		require.False(t, l.CreatedAt.IsZero())
		require.False(t, l.ConsentedAt.IsZero())
		require.Nil(t, l.LastSyncAt)
	}
	require.ElementsMatch(t, []string{a1, a2}, ids)

	resp = do(t, http.MethodGet, b.url+"/api/links", b.apiToken(t, "bob"), nil)
	decodeJSON(t, resp.body, &list)
	require.Len(t, list.Links, 1)
	require.Equal(t, bob, list.Links[0].ID)

	// Bob cannot act on Alice's links: they do not exist for him.
	bobToken := b.apiToken(t, "bob")
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/links/" + a1 + "/reconsent"},
		{http.MethodPost, "/api/links/" + a1 + "/sync"},
		{http.MethodDelete, "/api/links/" + a1 + "?purge=true"},
		{http.MethodDelete, "/api/links/not-a-uuid"},
		{http.MethodPost, "/api/links/" + pfm.NewID() + "/sync"},
	} {
		resp := do(t, r.method, b.url+r.path, bobToken, nil)
		require.Equal(t, http.StatusNotFound, resp.status, "%s %s: %s", r.method, r.path, resp.body)
		require.JSONEq(t, `{"error":"not_found","message":"no such link"}`, resp.body)
	}
	links, tokens, _ := b.counts(t)
	require.Equal(t, 3, links)
	require.Equal(t, 3, tokens)
}

func TestAPIManualSync(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := b.linkedID(t, "syncer", 1)
	token := b.apiToken(t, "syncer")

	// The first sync is still queued: a manual one is a duplicate.
	resp := do(t, http.MethodPost, b.url+"/api/links/"+id+"/sync", token, nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	var sr SyncResponse
	decodeJSON(t, resp.body, &sr)
	first := b.syncJobs(t, id)
	require.Equal(t, SyncResponse{LinkID: id, Status: "already_queued", JobID: first[0].ID}, sr)
	require.Len(t, first, 1)

	// Once it finished, a manual sync is queued.
	_, err := b.river.JobCancel(ctx, first[0].ID)
	require.NoError(t, err)
	resp = do(t, http.MethodPost, b.url+"/api/links/"+id+"/sync", token, nil)
	require.Equal(t, http.StatusAccepted, resp.status, resp.body)
	decodeJSON(t, resp.body, &sr)
	require.Equal(t, "queued", sr.Status)
	jobs := b.syncJobs(t, id)
	require.Len(t, jobs, 2)
	require.Equal(t, syncJob{ID: sr.JobID, LinkID: id, Trigger: "manual", State: "available", Queue: "sync"}, jobs[1])

	// A link that is not active cannot be synced.
	require.NoError(t, b.store.SetLinkStatus(ctx, id, pfm.LinkReauthRequired, "consent_revoked", ""))
	resp = do(t, http.MethodPost, b.url+"/api/links/"+id+"/sync", token, nil)
	require.Equal(t, http.StatusConflict, resp.status)
	require.Contains(t, resp.body, "link_not_active")
}

func TestAPIReconsentURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.linkedID(t, "rc-user", 1)
	token := b.apiToken(t, "rc-user")

	resp := do(t, http.MethodPost, b.url+"/api/links/"+id+"/reconsent", token, strings.NewReader(`{"return_url":"`+testReturnPrefix+`/again"}`))
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	var rc ReconsentResponse
	decodeJSON(t, resp.body, &rc)
	u, err := url.Parse(rc.URL)
	require.NoError(t, err)
	require.Equal(t, b.url+"/link/start", u.Scheme+"://"+u.Host+u.Path)
	claims, err := verifyLinkToken(testAppKey, u.Query().Get("token"), AudienceLink, time.Now())
	require.NoError(t, err)
	require.Equal(t, LinkClaims{
		Audience: AudienceLink, AppUser: "rc-user", Institution: testSlug, LinkID: id,
		ReturnURL: testReturnPrefix + "/again", Expiry: rc.ExpiresAt,
	}, claims)

	resp = do(t, http.MethodPost, b.url+"/api/links/"+id+"/reconsent", token, strings.NewReader(`{"return_url":"https://evil.example/"}`))
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "return_url_not_allowed")
	resp = do(t, http.MethodPost, b.url+"/api/links/"+id+"/reconsent", token, strings.NewReader(`{"user":"x"}`))
	require.Equal(t, http.StatusBadRequest, resp.status)

	// With a return URL, a completed re-consent goes back to the app.
	start := get(t, rc.URL)
	require.Equal(t, http.StatusSeeOther, start.status, start.body)
	done := get(t, b.authorize(t, start.location(t), 1, "allow", nil).String())
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	back := done.location(t)
	require.Equal(t, "/linked/again", back.Path)
	require.Equal(t, id, back.Query().Get("link_id"))
	require.Equal(t, "linked", back.Query().Get("status"))
}

func TestAPIUnlink(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	kept := b.linkedID(t, "leaver", 1)
	purged := b.linkedID(t, "leaver", 2)
	token := b.apiToken(t, "leaver")
	keptRT, _ := b.openToken(t, kept)
	purgedRT, _ := b.openToken(t, purged)
	before := b.authStats(t).Revocations

	resp := do(t, http.MethodDelete, b.url+"/api/links/"+kept+"?purge=maybe", token, nil)
	require.Equal(t, http.StatusBadRequest, resp.status)

	// purge=false: revoked at the bank, token deleted, link kept as revoked.
	resp = do(t, http.MethodDelete, b.url+"/api/links/"+kept+"?purge=false", token, nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"link_id":"`+kept+`","status":"revoked","revocation":"revoked"}`, resp.body)
	require.Equal(t, before+1, b.authStats(t).Revocations)
	link, err := b.store.Link(ctx, kept)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkRevoked, link.Status)
	require.Nil(t, link.NextSyncAt)
	_, err = b.store.LinkToken(ctx, kept)
	require.ErrorIs(t, err, pfm.ErrNotFound)
	_, err = b.client.Refresh(ctx, consumerapi.Secret(keptRT))
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked, "the old refresh token is dead at the bank")

	// purge=true: the link and everything under it are gone.
	resp = do(t, http.MethodDelete, b.url+"/api/links/"+purged+"?purge=true", token, nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.JSONEq(t, `{"link_id":"`+purged+`","status":"deleted","revocation":"revoked"}`, resp.body)
	require.Equal(t, before+2, b.authStats(t).Revocations)
	_, err = b.store.Link(ctx, purged)
	require.ErrorIs(t, err, pfm.ErrNotFound)
	_, err = b.client.Refresh(ctx, consumerapi.Secret(purgedRT))
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)

	// Unlinking again: nothing left to revoke, still fine.
	resp = do(t, http.MethodDelete, b.url+"/api/links/"+kept, token, nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Contains(t, resp.body, `"revocation":"no_token"`)
	resp = do(t, http.MethodDelete, b.url+"/api/links/"+purged, token, nil)
	require.Equal(t, http.StatusNotFound, resp.status)

	// A revoked link can be consented again: the same link comes back.
	again := b.linkedID(t, "leaver", 1)
	require.Equal(t, kept, again)
	link, err = b.store.Link(ctx, kept)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkActive, link.Status)
}

func TestAPIUnlinkWhenTheBankIsUnreachable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := b.linkedID(t, "offline-bank", 1)
	b.rec.setUnreachable()

	resp := do(t, http.MethodDelete, b.url+"/api/links/"+id, b.apiToken(t, "offline-bank"), nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	var ur UnlinkResponse
	decodeJSON(t, resp.body, &ur)
	require.Equal(t, "failed", ur.Revocation)
	require.Equal(t, "transient", ur.RevocationError)
	require.Equal(t, "revoked", ur.Status)
	_, err := b.store.LinkToken(ctx, id)
	require.ErrorIs(t, err, pfm.ErrNotFound, "the token is deleted even though the bank could not be told")
	require.Contains(t, b.logs.String(), "revocation at the institution failed; unlinking anyway")
}
