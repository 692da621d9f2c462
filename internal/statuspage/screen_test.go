package statuspage

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// TestPagesFitTheScreen renders every status page in Chromium at a laptop's
// and a phone's width and requires that nothing overflows the viewport
// sideways (wide tables scroll inside their own box). Each rendering is
// saved as a PNG in the test's artifact directory (go test -artifacts keeps
// them).
func TestPagesFitTheScreen(t *testing.T) {
	t.Parallel()
	const token = "screen-admin-token-5e21"
	b := setup(t, func(o *Options) { o.AdminToken = token })
	b.insertFixture(t)
	srv := httptest.NewServer(b.handler)
	t.Cleanup(srv.Close)
	ok := b.links["g1"] // a healthy link: its page says "none" for errors
	// Its data: two accounts (one closed), three live transactions (one
	// pending) and one the bank removed.
	var open, closed string
	require.NoError(t, b.pool.QueryRow(context.Background(), `INSERT INTO accounts (link_id, provider_account_id, account_type, raw)
		VALUES ($1, 'a1', 'Deposit', '{}') RETURNING id`, ok).Scan(&open))
	require.NoError(t, b.pool.QueryRow(context.Background(), `INSERT INTO accounts (link_id, provider_account_id, account_type, raw, inactive_at)
		VALUES ($1, 'a2', 'CreditCard', '{}', now()) RETURNING id`, ok).Scan(&closed))
	_, err := b.pool.Exec(context.Background(), `INSERT INTO transactions
		(account_id, provider_transaction_id, amount, signed_amount, posted_at, pending, raw, removed_at) VALUES
		($1, 't1', 1, 1, now(), false, '{}', NULL), ($1, 't2', 2, 2, now(), true, '{}', NULL),
		($2, 't3', 3, 3, now(), false, '{}', NULL), ($2, 't4', 4, 4, now(), false, '{}', now())`, open, closed)
	require.NoError(t, err)

	browser := testsupport.NewBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	t.Cleanup(cancel)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+token))
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	})))

	pages := map[string]string{
		"overview": "/", "links": "/links", "link": "/links/" + ok, "failing-link": "/links/" + b.links["g3"], "runs": "/runs",
	}
	for name, path := range pages {
		for _, width := range testsupport.ScreenWidths {
			testsupport.RequireFitsScreen(t, ctx, "status-"+name, width, srv.URL+path, "main")
		}
	}

	// The healthy link's page: counts, and a neutral "none" for no error.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(srv.URL+"/links/"+ok), chromedp.WaitVisible(cssSel("#link-detail"))))
	require.Equal(t, "none", strings.TrimSpace(run(t, ctx, chromedp.Text(cssSel("#link-error")))))
	style := run(t, ctx, chromedp.ComputedStyle(cssSel("#link-error span")))
	require.Equal(t, "rgb(95, 107, 118)", computed(style, "color"), "no error is shown in a neutral grey, not red")
	require.Equal(t, "2 (1 closed)", fields(run(t, ctx, chromedp.Text(cssSel("#link-accounts")))))
	require.Equal(t, "3 (1 pending) · 1 removed by the bank", fields(run(t, ctx, chromedp.Text(cssSel("#link-transactions")))))

	// A link with no data says so with zeros.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/links/"+b.links["g3"]), chromedp.WaitVisible(cssSel("#link-detail"))))
	require.Equal(t, "0", fields(run(t, ctx, chromedp.Text(cssSel("#link-accounts")))))
	require.Equal(t, "0", fields(run(t, ctx, chromedp.Text(cssSel("#link-transactions")))))
}
