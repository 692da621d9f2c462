package statuspage

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// cssSel selects the first element matching a CSS selector; cssAll
// selects every match.
type (
	cssSel = chromedp.CSS
	cssAll = chromedp.CSSAll
)

// run runs one action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// fields collapses runs of white space (the browser's rendering of table
// cells) into single spaces.
func fields(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestStatusBrowser drives the status pages in a real headless Chromium,
// with JavaScript turned off: the overview served by a loopback listener
// behind the admin token, the links-by-status table, a click through to a
// status's list, to a link's page and to the sync runs.
func TestStatusBrowser(t *testing.T) {
	t.Parallel()
	const token = "browser-admin-token-71c0"
	b := setup(t, func(o *Options) { o.AdminToken = token })
	b.insertFixture(t)
	srv := httptest.NewServer(b.handler)
	t.Cleanup(srv.Close)

	browser := testsupport.NewBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	t.Cleanup(cancel)

	// Collect the console: a Content Security Policy violation or a
	// failed load would show there.
	var logMu sync.Mutex
	var console []string
	logCtx, stopLog := context.WithCancel(ctx)
	done := make(chan struct{})
	events := chromedp.Events(logCtx, cdplog.EntryAdded)
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				return
			}
			logMu.Lock()
			console = append(console, string(ev.Entry.Level)+": "+ev.Entry.Text+" "+ev.Entry.URL)
			logMu.Unlock()
		}
	}()

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+token))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Authorization": auth},
			})
			return err
		}),
		// JavaScript is off in this tab: a page's script does not run.
		chromedp.Navigate(`data:text/html,<title>off</title><script>document.title = "on"</script>`),
	))
	require.Equal(t, "off", run(t, ctx, chromedp.Title()), "script execution should be disabled")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(cssSel("#links-by-status")),
	))

	// The overview.
	require.Equal(t, "pfmsync status", run(t, ctx, chromedp.Title()))
	counts := fields(run(t, ctx, chromedp.Text(cssSel("#links-by-status"))))
	require.Equal(t, "Status Links active 3 reauth_required 1 revoked 1 disabled 1 all 6", counts)
	queue := fields(run(t, ctx, chromedp.Text(cssSel(`#queues tr[data-queue="sync"]`))))
	require.Equal(t, "sync 2 1 1 0 4m 3 1 2", queue)
	garden := fields(run(t, ctx, chromedp.Text(cssSel(`#institutions-24h tr[data-institution="garden"]`))))
	require.Contains(t, garden, "Garden Financial garden 3 (2) 5 1 3 75.0% 1 1 0 consent_revoked 1, permanent 1, transient 1")
	require.Len(t, run(t, ctx, chromedp.Nodes(cssAll("#recent-runs tbody tr"))), 7)
	require.Contains(t, fields(run(t, ctx, chromedp.Text(cssSel("#server-time")))), "2026-11-20 12:00:00Z")

	// The stylesheet loaded under the Content Security Policy: numbers
	// are right-aligned.
	style := run(t, ctx, chromedp.ComputedStyle(cssSel(`#links-by-status td.count`)))
	require.Equal(t, "right", computed(style, "text-align"))

	// Through to the links that need re-consent.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(cssSel("#status-reauth_required"), chromedp.NodeVisible),
		chromedp.WaitVisible(cssSel("#links")),
	))
	require.Equal(t, srv.URL+"/links?status=reauth_required", run(t, ctx, chromedp.Location()))
	require.Equal(t, "Links: reauth_required", run(t, ctx, chromedp.Text(cssSel("h1"))))
	rows := run(t, ctx, chromedp.Nodes(cssAll("#links tbody tr")))
	require.Len(t, rows, 1)
	list := fields(run(t, ctx, chromedp.Text(cssSel("#links tbody tr"))))
	require.Contains(t, list, b.links["g3"]+" carol garden reauth_required")
	require.Contains(t, list, "consent_revoked")

	// Through to the link's page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(cssSel("#links a.link-id"), chromedp.NodeVisible),
		chromedp.WaitVisible(cssSel("#link-detail")),
	))
	require.Equal(t, srv.URL+"/links/"+b.links["g3"], run(t, ctx, chromedp.Location()))
	require.Equal(t, "carol", run(t, ctx, chromedp.Text(cssSel("#link-app-user"))))
	require.Equal(t, "reauth_required", fields(run(t, ctx, chromedp.Text(cssSel("#link-status")))))
	detailRuns := fields(run(t, ctx, chromedp.Text(cssSel("#link-runs tbody"))))
	require.Contains(t, detailRuns, "scheduled reauth_required consent_revoked")
	require.Contains(t, detailRuns, "invalid_grant")
	lastError := run(t, ctx, chromedp.Text(cssSel("#link-error")))
	require.True(t, strings.HasPrefix(lastError, "bank said <b>no</b> & "), "markup is shown as text: %q", lastError)
	require.Len(t, []rune(lastError), maxMessageRunes+1)

	// And to every recent run, from the navigation.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(cssSel("#nav-runs"), chromedp.NodeVisible),
		chromedp.WaitVisible(cssSel("#runs-table")),
	))
	require.Len(t, run(t, ctx, chromedp.Nodes(cssAll("#runs-table tbody tr"))), 7)
	require.Equal(t, "page", run(t, ctx, chromedp.AttributeValue(cssSel("#nav-runs"), "aria-current")).Value)

	stopLog()
	<-done
	logMu.Lock()
	defer logMu.Unlock()
	for _, line := range console {
		require.NotContains(t, line, "Content Security Policy", "console: %v", console)
		require.False(t, strings.HasPrefix(line, "error"), "console: %v", console)
	}

	// Without the token the browser gets the challenge.
	res, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

// computed returns the value of one computed style property.
func computed(props []*css.ComputedStyleProperty, name string) string {
	for _, p := range props {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
