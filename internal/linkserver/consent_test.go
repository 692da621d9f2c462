package linkserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
)

// requireRefused asserts err is the consent refusal reason.
func requireRefused(t *testing.T, err error, reason failure) *consentError {
	t.Helper()
	var ce *consentError
	require.True(t, errors.As(err, &ce), "not a refusal: %v", err)
	require.Equal(t, outcomes[reason].title, outcomes[ce.reason].title)
	require.Equal(t, reason, ce.reason)
	return ce
}

// consentSteps runs startConsent and the bank's form for bank user n,
// without the link server's HTTP handlers, and returns the callback query
// and the browser binding.
func (b *testBundle) consentSteps(t *testing.T, claims LinkClaims, n int, action string, granted []string) (url.Values, string) {
	t.Helper()
	started, err := b.server.startConsent(context.Background(), claims, testSlug)
	require.NoError(t, err)
	authURL, err := url.Parse(started.AuthURL)
	require.NoError(t, err)
	return b.authorize(t, authURL, n, action, granted).Query(), started.Binding
}

func binding(v string) func([]byte) string { return func([]byte) string { return v } }

func TestConsentSequenceWithoutHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	claims := LinkClaims{Audience: AudienceLink, AppUser: "pure-user", ReturnURL: testReturnPrefix + "/x"}

	// Another browser (no or a wrong binding) burns the state.
	q, _ := b.consentSteps(t, claims, 1, "allow", nil)
	_, err := b.server.completeConsent(ctx, q, binding("someone else's"))
	requireRefused(t, err, failOtherBrowser)
	b.requireNothingStored(t)

	// The right browser completes once: link, token and job together.
	q, bind := b.consentSteps(t, claims, 1, "allow", nil)
	done, err := b.server.completeConsent(ctx, q, binding(bind))
	require.NoError(t, err)
	require.True(t, done.Created)
	require.Equal(t, "pure-user", done.AppUser)
	require.Contains(t, done.ReturnURL, "status=linked")
	require.Contains(t, done.ReturnURL, "link_id="+done.Link.ID)
	links, tokens, jobs := b.counts(t)
	require.Equal(t, [3]int{1, 1, 1}, [3]int{links, tokens, jobs})

	// The state is single-use.
	_, err = b.server.completeConsent(ctx, q, binding(bind))
	requireRefused(t, err, failStateUsed)
	// An iss of another issuer is refused before any exchange.
	q, bind = b.consentSteps(t, claims, 1, "allow", nil)
	q.Set("iss", "https://evil.example")
	_, err = b.server.completeConsent(ctx, q, binding(bind))
	ce := requireRefused(t, err, failIssuerMismatch)
	status, p := ce.page()
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, p.ReturnURL, "status=error")

	// access_denied: a declined page leading back with status=declined.
	q, bind = b.consentSteps(t, claims, 1, "deny", nil)
	_, err = b.server.completeConsent(ctx, q, binding(bind))
	ce = requireRefused(t, err, failDeclined)
	_, p = ce.page()
	require.Contains(t, p.ReturnURL, "status=declined")
	require.Contains(t, p.Message, "Sandbox Community Bank")

	// No state, unknown state.
	_, err = b.server.completeConsent(ctx, url.Values{}, binding(bind))
	requireRefused(t, err, failNoState)
	_, err = b.server.completeConsent(ctx, url.Values{"state": {"unknown"}}, binding(bind))
	requireRefused(t, err, failUnknownState)
	require.Equal(t, int64(1), b.authStats(t).CodesExchanged)
}

func TestConsentWithoutOfflineAccessStoresNothingAndRevokes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q, bind := b.consentSteps(t, LinkClaims{Audience: AudienceLink, AppUser: "no-offline"}, 1, "allow", without(consumerapi.ScopeOfflineAccess))
	_, err := b.server.completeConsent(context.Background(), q, binding(bind))
	requireRefused(t, err, failOfflineAccessRequired)
	b.requireNothingStored(t)
	require.Equal(t, int64(1), b.authStats(t).Revocations)
}

func TestConsentFailureAfterExchangeRevokes(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) { o.jobs = func(JobInserter) JobInserter { return failingInserter{} } })
	q, bind := b.consentSteps(t, LinkClaims{Audience: AudienceLink, AppUser: "failing"}, 1, "allow", nil)
	_, err := b.server.completeConsent(context.Background(), q, binding(bind))
	requireRefused(t, err, failInternal)
	b.requireNothingStored(t)
	require.Equal(t, int64(1), b.authStats(t).Revocations)
}

func TestEveryFailureHasOnePage(t *testing.T) {
	for reason := failInternal; reason <= failOtherBankUser; reason++ {
		o, ok := outcomes[reason]
		require.True(t, ok, "failure %d has no page", reason)
		require.NotZero(t, o.status)
		require.NotEmpty(t, o.kind)
		require.NotEmpty(t, o.title)
		require.NotEmpty(t, o.message)
		require.NotEmpty(t, o.advice)
		require.NotEqual(t, o.message, o.advice)
		require.False(t, strings.Contains(o.advice, "{"), "advice of failure %d has a placeholder", reason)
	}
	require.Len(t, outcomes, int(failOtherBankUser)+1)
}
