package linkserver

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// css is a CSS selector.
type css = chromedp.CSS

// run runs one action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// TestBrowser drives the consent flow in a real browser: the connect
// page, the sandbox institution's login and consent page, and back.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := testsupport.NewBrowser(t)

	// Each run gets its own tab.
	tab := func(t *testing.T) context.Context {
		ctx, cancel := chromedp.NewContext(browser)
		t.Cleanup(cancel)
		ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
		t.Cleanup(cancelTimeout)
		return ctx
	}
	// consent opens the connect page, clicks Connect and signs in as
	// user1; extra actions run on the consent page before the last click.
	consent := func(t *testing.T, b *testBundle, ctx context.Context, appUser string, button css, extra ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		connect := b.url + "/link?token=" + url.QueryEscape(b.linkToken(t, appUser))
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(connect),
			chromedp.WaitVisible(css("#connect-" + testSlug)),
			chromedp.Click(css("#connect-"+testSlug), chromedp.NodeVisible),
			chromedp.WaitVisible(css("#username")),
			chromedp.SendKeys(css("#username"), sandbox.Username(1)),
			chromedp.SendKeys(css("#password"), sandbox.DemoPassword),
		}
		steps = append(steps, extra...)
		steps = append(steps, chromedp.Click(button, chromedp.NodeVisible))
		require.NoError(t, chromedp.Do(ctx, steps...))
	}

	t.Run("Connect", func(t *testing.T) {
		b := setup(t)
		ctx := tab(t)
		consent(t, b, ctx, "browser-user", "#allow")
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(css("#linked"))))
		text := run(t, ctx, chromedp.Text(css("#result")))
		linkID := run(t, ctx, chromedp.AttributeValue(css("#result"), "data-link-id")).Value
		location := run(t, ctx, chromedp.Location())
		require.Contains(t, text, "is connected")
		require.Contains(t, location, b.url+DonePath+"?r=")
		require.NotContains(t, location, "code=")

		link, err := b.store.Link(context.Background(), linkID)
		require.NoError(t, err)
		require.Equal(t, "browser-user", link.AppUserRef)
		require.Equal(t, b.sandbox.Bank().UserID(1), link.BannoUserID)
		require.Equal(t, pfm.LinkActive, link.Status)
		require.Empty(t, link.MissingScopes)
		rt, sealed := b.openToken(t, linkID)
		require.Equal(t, "v1", sealed.KeyID)
		b.requireRefreshWorks(t, rt)
		jobs := b.syncJobs(t, linkID)
		require.Len(t, jobs, 1)
		require.Equal(t, "link", jobs[0].Trigger)
	})

	t.Run("UntickTransactions", func(t *testing.T) {
		b := setup(t)
		ctx := tab(t)
		box := `input[name="granted_scope"][value="` + consumerapi.ScopeTransactions + `"]`
		consent(t, b, ctx, "browser-partial", "#allow", chromedp.Click(css(box), chromedp.NodeVisible))
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(css("#missing-scopes"))))
		linkID := run(t, ctx, chromedp.AttributeValue(css("#result"), "data-link-id")).Value
		scope := run(t, ctx, chromedp.AttributeValue(css("#missing-scopes li"), "data-scope")).Value
		require.Equal(t, consumerapi.ScopeTransactions, scope)
		link, err := b.store.Link(context.Background(), linkID)
		require.NoError(t, err)
		require.Equal(t, []string{consumerapi.ScopeTransactions}, link.MissingScopes)
		require.NotContains(t, link.GrantedScopes, consumerapi.ScopeTransactions)
		_, tokens, jobs := b.counts(t)
		require.Equal(t, 1, tokens)
		require.Equal(t, 1, jobs)
	})

	t.Run("Deny", func(t *testing.T) {
		b := setup(t)
		ctx := tab(t)
		consent(t, b, ctx, "browser-denier", "#deny")
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(css("#declined"))))
		text := run(t, ctx, chromedp.Text(css("#message")))
		require.Contains(t, text, "You chose not to connect")
		b.requireNothingStored(t)
	})
}
