package linkserver

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

func TestCallbackHappyPath(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	resp := b.link(t, "app-user-1", 1)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Contains(t, resp.body, `id="linked"`)
	require.Contains(t, resp.body, "Sandbox Community Bank")
	require.NotContains(t, resp.body, `id="missing-scopes"`)
	id := linkIDFromPage(t, resp.body)

	link, err := b.store.Link(ctx, id)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkActive, link.Status)
	require.Equal(t, "app-user-1", link.AppUserRef)
	require.Equal(t, b.sandbox.Bank().UserID(1), link.BannoUserID)
	require.Equal(t, testSlug, link.InstitutionSlug)
	require.ElementsMatch(t, allScopes, link.GrantedScopes)
	require.Empty(t, link.MissingScopes)

	// The sealed token opens, bound to the link, to a refresh token the
	// institution accepts.
	rt, sealed := b.openToken(t, id)
	require.NotEmpty(t, rt)
	require.NotContains(t, string(sealed.Sealed), rt)
	require.Equal(t, "v1", sealed.KeyID)
	require.EqualValues(t, 1, sealed.Version)
	b.requireRefreshWorks(t, rt)

	// The first sync is queued.
	jobs := b.syncJobs(t, id)
	require.Len(t, jobs, 1)
	require.Equal(t, syncJob{ID: jobs[0].ID, LinkID: id, Trigger: "link", State: "available", Queue: "sync"}, jobs[0])

	// The consent request was used once.
	var used int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM consent_requests WHERE used_at IS NOT NULL`).Scan(&used))
	require.Equal(t, 1, used)
	require.Equal(t, int64(1), b.authStats(t).CodesExchanged)
}

func TestCallbackRedirectsToReturnURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-r", ReturnURL: testReturnPrefix + "/done?x=1"})
	cb := b.authorize(t, b.start(t, token), 2, "allow", nil)
	resp := get(t, cb.String())
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	loc := resp.location(t)
	require.Equal(t, "app.example.com", loc.Host)
	require.Equal(t, "/linked/done", loc.Path)
	require.Equal(t, "1", loc.Query().Get("x"))
	require.Equal(t, "linked", loc.Query().Get("status"))
	links, err := b.store.LinksByAppUser(context.Background(), "app-user-r")
	require.NoError(t, err)
	require.Len(t, links, 1)
	require.Equal(t, links[0].ID, loc.Query().Get("link_id"))
}

func TestCallbackDeclined(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-d", ReturnURL: testReturnPrefix})
	cb := b.authorize(t, b.start(t, token), 1, "deny", nil)
	require.Equal(t, "access_denied", cb.Query().Get("error"))
	resp := get(t, cb.String())
	require.Equal(t, http.StatusOK, resp.status)
	require.Contains(t, resp.body, `id="declined"`)
	require.Contains(t, resp.body, "status=declined")
	b.requireNothingStored(t)
	require.Zero(t, b.authStats(t).CodesExchanged)
}

func TestCallbackPartialConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := b.link(t, "app-user-p", 1, without(consumerapi.ScopeTransactions)...)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	require.Contains(t, resp.body, `id="missing-scopes"`)
	require.Contains(t, resp.body, "Transactions will not be synced.")
	id := linkIDFromPage(t, resp.body)

	link, err := b.store.Link(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkActive, link.Status)
	require.Equal(t, []string{consumerapi.ScopeTransactions}, link.MissingScopes)
	require.NotContains(t, link.GrantedScopes, consumerapi.ScopeTransactions)
	require.Contains(t, link.GrantedScopes, consumerapi.ScopeAccounts)
	_, tokens, jobs := b.counts(t)
	require.Equal(t, 1, tokens)
	require.Equal(t, 1, jobs)
}

func TestCallbackWithoutOfflineAccessStoresNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-o", ReturnURL: testReturnPrefix})
	cb := b.authorize(t, b.start(t, token), 1, "allow", without(consumerapi.ScopeOfflineAccess))
	resp := get(t, cb.String())
	require.Equal(t, http.StatusOK, resp.status)
	require.Contains(t, resp.body, `id="offline-access-required"`)
	require.Contains(t, resp.body, "nothing was saved")
	require.Contains(t, resp.body, "status=offline_access_required")
	b.requireNothingStored(t)
	// The access token obtained was revoked.
	require.Equal(t, int64(1), b.authStats(t).CodesExchanged)
	require.Equal(t, int64(1), b.authStats(t).Revocations)
}

func TestCallbackReplayedState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cb := b.authorize(t, b.start(t, b.linkToken(t, "app-user-x")), 1, "allow", nil)
	first := get(t, cb.String())
	require.Equal(t, http.StatusSeeOther, first.status, first.body)
	done := first.location(t)
	require.Equal(t, DonePath, done.Path)
	require.Empty(t, done.Query().Get("code"))
	require.Empty(t, done.Query().Get("state"))
	page := get(t, b.url+done.String())
	require.Equal(t, http.StatusOK, page.status, page.body)
	id := linkIDFromPage(t, page.body)

	// Reloading the success page shows it again; nothing is written.
	reload := get(t, b.url+done.String())
	require.Equal(t, http.StatusOK, reload.status, reload.body)
	require.Equal(t, id, linkIDFromPage(t, reload.body))
	require.NotContains(t, reload.body, "already completed")
	// A success URL for another link, or altered, shows nothing.
	forged := *done
	forged.RawQuery = "r=" + b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-x", LinkID: id})
	require.Equal(t, http.StatusForbidden, get(t, b.url+forged.String()).status)

	// Replaying the callback itself is refused.

	second := get(t, cb.String())
	require.Equal(t, http.StatusBadRequest, second.status)
	require.Contains(t, second.body, "already completed")
	links, tokens, jobs := b.counts(t)
	require.Equal(t, [3]int{1, 1, 1}, [3]int{links, tokens, jobs})
	_, sealed := b.openToken(t, id)
	require.EqualValues(t, 1, sealed.Version, "a replay must not write the token again")
	require.Equal(t, int64(1), b.authStats(t).CodesExchanged)
}

func TestCallbackExpiredState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cb := b.authorize(t, b.start(t, b.linkToken(t, "app-user-e")), 1, "allow", nil)
	b.clock.Advance(11 * time.Minute)
	resp := get(t, cb.String())
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "took too long")
	b.requireNothingStored(t)
	require.Zero(t, b.authStats(t).CodesExchanged)
}

func TestCallbackForged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A callback for a state this server never issued.
	resp := get(t, b.url+CallbackPath+"?"+url.Values{
		"code": {"forged-code"}, "state": {"forged-state"}, "iss": {b.sandbox.Issuer()},
	}.Encode())
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "does not belong to a connection started here")

	// No state at all.
	resp = get(t, b.url+CallbackPath+"?code=x")
	require.Equal(t, http.StatusBadRequest, resp.status)

	b.requireNothingStored(t)
	require.Zero(t, b.authStats(t).CodesExchanged)
	require.Empty(t, b.authStats(t).TokenErrors)
}

func TestCallbackIssuerParameterMismatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cb := b.authorize(t, b.start(t, b.linkToken(t, "app-user-i")), 1, "allow", nil)
	q := cb.Query()
	q.Set("iss", "https://evil.example/a/consumer/api/v0/oidc")
	cb.RawQuery = q.Encode()
	resp := get(t, cb.String())
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Contains(t, resp.body, "did not come from")
	b.requireNothingStored(t)
	require.Zero(t, b.authStats(t).CodesExchanged, "the code must not be exchanged")
}

func TestCallbackWrongNonce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// A consent request whose stored nonce differs from the one sent to the
	// institution: the ID token's nonce will not match.
	req, err := b.client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	id := pfm.NewID()
	sealed, err := b.sealer.Seal(ctx, []byte(req.CodeVerifier.Reveal()), tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: id})
	require.NoError(t, err)
	hash := sha256.Sum256([]byte(req.State))
	binding, bindingHash := newBrowserBinding()
	_, err = b.store.CreateConsentRequest(ctx, pfm.ConsentRequest{
		ID: id, StateHash: hash[:], Nonce: "another-nonce", SealedVerifier: sealed, BrowserHash: bindingHash,
		InstitutionID: b.inst.ID, AppUserRef: "app-user-n", ExpiresAt: time.Now().Add(5 * time.Minute),
	})
	require.NoError(t, err)
	serverURL, err := url.Parse(b.url + CallbackPath)
	require.NoError(t, err)
	noFollow.Jar.SetCookies(serverURL, []*http.Cookie{{Name: bindingCookieName(hash[:]), Value: binding, Path: CallbackPath}})
	authURL, err := url.Parse(req.URL)
	require.NoError(t, err)

	resp := get(t, b.authorize(t, authURL, 1, "allow", nil).String())
	require.Equal(t, http.StatusBadGateway, resp.status)
	require.Contains(t, resp.body, "could not be completed")
	b.requireNothingStored(t)
	require.Equal(t, int64(1), b.authStats(t).CodesExchanged, "the code was exchanged, the ID token refused")
	require.Contains(t, b.logs.String(), "invalid ID token: nonce mismatch")
}

func TestCallbackWrongAudience(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The institution issues the code and the ID token to another client
	// (aud = other-client) while this server is configured with its own
	// client id: the ID token must be refused.
	authURL := b.start(t, b.linkToken(t, "app-user-a"))
	q := authURL.Query()
	q.Set("client_id", otherClientID)
	authURL.RawQuery = q.Encode()
	b.rec.setTamper(func(_ *http.Request, form url.Values) {
		form.Set("client_id", otherClientID)
		form.Set("client_secret", otherSecret)
	})
	resp := get(t, b.authorize(t, authURL, 1, "allow", nil).String())
	require.Equal(t, http.StatusBadGateway, resp.status)
	b.requireNothingStored(t)
	require.Equal(t, int64(1), b.authStats(t).CodesExchanged)
	require.Contains(t, b.logs.String(), "invalid ID token")
	require.Contains(t, b.logs.String(), "expected audience")
}

func TestCallbackWrongIssuer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A second institution (an attacker's, in a mix-up) answers the token
	// request: its ID token's issuer and signing key are not this
	// institution's.
	other, err := sandbox.Start("127.0.0.1:0", sandbox.Options{
		Bank:    bank.Config{Seed: 9, Users: 2, HistoryDays: 5, FutureDays: 1},
		Clients: []authserver.Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{b.url + CallbackPath}}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close(context.Background()) })

	authURL := b.start(t, b.linkToken(t, "app-user-w"))
	// The user consents at the other institution with the same request.
	otherAuth, err := url.Parse(other.Issuer() + "/auth?" + authURL.RawQuery)
	require.NoError(t, err)
	cb := b.authorize(t, otherAuth, 1, "allow", nil)
	// Its iss parameter would give it away; an attacker rewrites it.
	q := cb.Query()
	q.Set("iss", b.sandbox.Issuer())
	cb.RawQuery = q.Encode()
	// And the token request goes to the other institution.
	otherBase, err := url.Parse(other.URL())
	require.NoError(t, err)
	b.rec.setTamper(func(r *http.Request, _ url.Values) {
		r.URL.Host = otherBase.Host
		r.Host = otherBase.Host
	})
	resp := get(t, cb.String())
	require.Equal(t, http.StatusBadGateway, resp.status)
	b.requireNothingStored(t)
	require.Contains(t, b.logs.String(), "invalid ID token")
	// Signed by the other institution's key for its own issuer: refused.
	require.Contains(t, b.logs.String(), "failed to verify signature")
	otherStats, ok := other.Stats().Auth.(authserver.Stats)
	require.True(t, ok)
	require.Equal(t, int64(1), otherStats.CodesExchanged, "the other institution answered the token request")
	require.Zero(t, b.authStats(t).CodesExchanged)
}

func TestCallbackNoDuplicateLink(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.linkedID(t, "app-user-dup", 1)
	rt1, _ := b.openToken(t, first)
	second := b.linkedID(t, "app-user-dup", 1)
	require.Equal(t, first, second)

	links, tokens, jobs := b.counts(t)
	require.Equal(t, [3]int{1, 1, 1}, [3]int{links, tokens, jobs}, "one link, one token, one queued sync (the second insert is a duplicate)")
	rt2, sealed := b.openToken(t, second)
	require.NotEqual(t, rt1, rt2)
	require.EqualValues(t, 2, sealed.Version)

	// The same bank user linked by another app user is another link.
	third := b.linkedID(t, "app-user-other", 1)
	require.NotEqual(t, first, third)
}

func TestCallbackReconsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := b.linkedID(t, "app-user-rc", 2)
	oldRT, _ := b.openToken(t, id)
	require.NoError(t, b.store.SetLinkStatus(ctx, id, pfm.LinkReauthRequired, "consent_revoked", "invalid_grant"))

	// The app asks for a re-consent URL and sends the user there.
	resp := do(t, http.MethodPost, b.url+"/api/links/"+id+"/reconsent", b.apiToken(t, "app-user-rc"), nil)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	var rc ReconsentResponse
	decodeJSON(t, resp.body, &rc)
	require.Equal(t, id, rc.LinkID)
	start := get(t, rc.URL)
	require.Equal(t, http.StatusSeeOther, start.status, start.body)
	cb := b.authorize(t, start.location(t), 2, "allow", nil)
	done := b.followDone(t, get(t, cb.String()))
	require.Equal(t, http.StatusOK, done.status, done.body)
	require.Equal(t, id, linkIDFromPage(t, done.body))

	link, err := b.store.Link(ctx, id)
	require.NoError(t, err)
	require.Equal(t, pfm.LinkActive, link.Status)
	require.Empty(t, link.LastErrorClass)
	newRT, sealed := b.openToken(t, id)
	require.NotEqual(t, oldRT, newRT)
	require.EqualValues(t, 2, sealed.Version)
	b.requireRefreshWorks(t, newRT)
	links, _, _ := b.counts(t)
	require.Equal(t, 1, links)
}

func TestCallbackReconsentByAnotherBankUserRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.linkedID(t, "app-user-rb", 1)
	before := b.authStats(t).Revocations
	token := b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: "app-user-rb", LinkID: id})
	resp := get(t, b.authorize(t, b.start(t, token), 2, "allow", nil).String())
	require.Equal(t, http.StatusConflict, resp.status)
	require.Contains(t, resp.body, "signed in as someone else")
	links, _, _ := b.counts(t)
	require.Equal(t, 1, links)
	_, sealed := b.openToken(t, id)
	require.EqualValues(t, 1, sealed.Version)
	require.Equal(t, before+1, b.authStats(t).Revocations, "the unwanted grant is revoked")
}

func TestCallbackFailureAfterExchangeRevokes(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) {
		o.jobs = func(JobInserter) JobInserter { return failingInserter{} }
	})
	resp := b.link(t, "app-user-f", 1)
	require.Equal(t, http.StatusInternalServerError, resp.status)
	require.Contains(t, resp.body, "Nothing was saved")
	b.requireNothingStored(t)
	stats := b.authStats(t)
	require.Equal(t, int64(1), stats.CodesExchanged)
	require.Equal(t, int64(1), stats.Revocations)

	// The refresh token the exchange produced is dead at the institution.
	rts := b.rec.refreshTokens()
	require.Len(t, rts, 1)
	_, err := b.client.Refresh(context.Background(), consumerapi.Secret(rts[0]))
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)
}

// TestCallbackFromAnotherBrowserIsRefused is consent fixation: someone
// starts a consent with their own link token and forwards the bank's
// authorization URL to a victim, who logs in and approves. The callback
// arrives without the binding cookie and completes nothing; the consent
// request is burned.
func TestCallbackFromAnotherBrowserIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	authURL := b.start(t, b.linkToken(t, "attacker"))
	cb := b.authorize(t, authURL, 1, "allow", nil)

	victim := &http.Client{CheckRedirect: noFollow.CheckRedirect, Timeout: 30 * time.Second}
	resp, err := victim.Get(cb.String())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	b.requireNothingStored(t)
	require.Zero(t, b.authStats(t).CodesExchanged, "the code is never exchanged")

	// The starter's own browser cannot use it afterwards either.
	require.Equal(t, http.StatusBadRequest, get(t, cb.String()).status)
	b.requireNothingStored(t)
}
