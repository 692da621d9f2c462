package linkserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// TestPagesFitNarrowAndWideScreens renders the connect page, the success
// page and an error page at a desktop and a phone width, asserts nothing
// overflows horizontally, and saves a screenshot of each.
func TestPagesFitNarrowAndWideScreens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	browser := testsupport.NewBrowser(t)

	// The success page's URL, as the callback redirects to it.
	cb := b.authorize(t, b.start(t, b.linkToken(t, "screenshot-user")), 1, "allow", without(consumerapi.ScopeTransactions))
	resp := get(t, cb.String())
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	success := b.url + resp.header.Get("Location")

	pages := []struct{ name, url, main string }{
		{"connect", b.url + "/link?token=" + url.QueryEscape(b.linkToken(t, "screenshot-user")), "#connect"},
		{"success", success, "#linked"},
		{"error", b.url + "/link?token=damaged", "#unauthorized"},
		{"home", b.url + "/", "#home"},
	}
	for _, width := range testsupport.ScreenWidths {
		for _, p := range pages {
			t.Run(fmt.Sprintf("%s-%d", p.name, width), func(t *testing.T) {
				ctx, cancel := chromedp.NewContext(browser)
				defer cancel()
				ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
				defer cancelTimeout()
				testsupport.RequireFitsScreen(t, ctx, p.name, width, p.url, p.main)
			})
		}
	}
}
