package dashboard_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/dashboard"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

const (
	testAppKey  = "dashboard-test-app-key-0123456789abcdef"
	testLinkURL = "http://127.0.0.1:1/linkserver"
)

type (
	cssSel = chromedp.CSS
	cssAll = chromedp.CSSAll
)

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

func fields(s string) string { return strings.Join(strings.Fields(s), " ") }

// attrs returns one attribute of every element matching sel, in document
// order.
func attrs(t *testing.T, ctx context.Context, sel, name string) []string {
	t.Helper()
	js := `Array.from(document.querySelectorAll(` + jsString(sel) + `)).map(e => e.getAttribute(` + jsString(name) + `))`
	return run(t, ctx, chromedp.Evaluate[[]string](js))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// noOverflow checks the page does not scroll sideways at the current width.
func noOverflow(t *testing.T, ctx context.Context, width int) {
	t.Helper()
	got := run(t, ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	require.Equal(t, width, got[1])
	require.LessOrEqual(t, got[0], got[1], "horizontal overflow at %d px", width)
}

// TestDashboardBrowser renders alice's dashboard in headless Chromium and
// compares what the charts and lists carry with the reporting views, read
// as the same pfm_reader login role.
func TestDashboardBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := dashboard.New(dashboard.Options{Reader: f.readerAPI(), LinkURL: testLinkURL, AppKey: []byte(testAppKey)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	browser := testsupport.NewBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(srv.URL+"/?user=alice"),
		chromedp.WaitVisible(cssSel("#net-worth-chart")),
	))
	require.Equal(t, "Dashboard: alice", run(t, ctx, chromedp.Title()))

	// Net worth: the chart's exact values are the view's.
	since := time.Now().UTC().AddDate(0, 0, -2*366).Format(time.DateOnly)
	nw := f.readerRows(t, `
		SELECT count(*)::text, min(day)::text, max(day)::text, min(net_worth)::text, max(net_worth)::text,
		       (array_agg(net_worth::text ORDER BY day))[1], (array_agg(net_worth::text ORDER BY day DESC))[1]
		FROM reporting.net_worth_daily WHERE app_user_ref = 'alice' AND day >= $1::date`, since)[0]
	chart := map[string]string{}
	for _, a := range []string{"data-days", "data-first-day", "data-last-day", "data-min", "data-max", "data-first", "data-last"} {
		chart[a] = run(t, ctx, chromedp.AttributeValue(cssSel("#net-worth-chart"), a)).Value
	}
	require.Equal(t, map[string]string{
		"data-days": nw[0], "data-first-day": nw[1], "data-last-day": nw[2], "data-min": nw[3], "data-max": nw[4],
		"data-first": nw[5], "data-last": nw[6],
	}, chart)
	require.Greater(t, len(nw[0]), 2, "more than 99 days: the history goes back through the transactions")
	// Today: 4210.55 + 15000.00 - 1234.56 - 18250.00.
	require.Equal(t, "-274.01", nw[6])
	require.Equal(t, "-$274.01", run(t, ctx, chromedp.Text(cssSel("#net-worth-now"))))
	require.Contains(t, run(t, ctx, chromedp.AttributeValue(cssSel("#net-worth-now"), "class")).Value, "neg")
	markers := attrs(t, ctx, "#net-worth-chart circle.marker", "data-value")
	require.ElementsMatch(t, []string{nw[3], nw[4], nw[5], nw[6]}, markers)
	require.Len(t, run(t, ctx, chromedp.Nodes(cssAll("#net-worth-chart path.line"))), 1)

	// Income and spending bars: one pair per month of the view.
	month0 := time.Date(time.Now().UTC().Year(), time.Now().UTC().Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	var want []string
	for _, r := range f.readerRows(t, `
		SELECT to_char(month, 'YYYY-MM'), income::text, spending::text FROM reporting.monthly_cash_flow
		WHERE app_user_ref = 'alice' AND month >= $1::date ORDER BY month`, month0.Format(time.DateOnly)) {
		want = append(want, r[0]+" income "+r[1], r[0]+" spending "+r[2])
	}
	months, kinds, amounts := attrs(t, ctx, "#cash-flow-chart rect.bar", "data-month"), attrs(t, ctx, "#cash-flow-chart rect.bar", "data-kind"), attrs(t, ctx, "#cash-flow-chart rect.bar", "data-amount")
	var got []string
	for i := range months {
		got = append(got, months[i]+" "+kinds[i]+" "+amounts[i])
	}
	require.Equal(t, want, got)
	require.GreaterOrEqual(t, len(got), 22, "about twelve months of bars")
	// A full month: two paychecks, spending without the own transfers.
	require.Contains(t, got, month0.Format("2006-01")+" income 6500.00")

	// Spending by category in the month the panel names, with display names.
	spendMonth := run(t, ctx, chromedp.AttributeValue(cssSel("#spending"), "data-month")).Value
	var wantCats []string
	for _, r := range f.readerRows(t, `
		SELECT category, amount::text FROM reporting.spending_by_category
		WHERE app_user_ref = 'alice' AND month = $1::date ORDER BY spending_by_category.amount DESC, category`, spendMonth) {
		wantCats = append(wantCats, r[0]+" "+r[1])
	}
	cats, catAmounts := attrs(t, ctx, "#spending li", "data-category"), attrs(t, ctx, "#spending li", "data-amount")
	var gotCats []string
	for i := range cats {
		gotCats = append(gotCats, cats[i]+" "+catAmounts[i])
	}
	require.NotEmpty(t, wantCats)
	require.Equal(t, wantCats, gotCats)
	names := fields(run(t, ctx, chromedp.Text(cssSel("#spending ul"))))
	if strings.Contains(strings.Join(cats, " "), "diningout") {
		require.Contains(t, names, "Dining out")
	}
	require.Equal(t, len(cats), len(attrs(t, ctx, "#spending rect.fill", "data-amount")))

	// Recent transactions: the pending purchase flagged, transfers marked.
	pending := fields(run(t, ctx, chromedp.Text(cssSel(`#transactions li[data-pending="true"]`))))
	require.Contains(t, pending, "Corner Bistro")
	require.Contains(t, pending, "-$23.45")
	require.Contains(t, pending, "Pending")
	transfer := fields(run(t, ctx, chromedp.Text(cssSel(`#transactions li[data-transfer="true"]`))))
	require.Contains(t, transfer, "Transfer")
	require.Len(t, attrs(t, ctx, `#transactions li[data-pending="true"]`, "data-amount"), 1)

	// Accounts with balances to the cent, and the link needing re-consent.
	accounts := fields(run(t, ctx, chromedp.Text(cssSel("#accounts ul.accounts"))))
	for _, s := range []string{"Everyday Checking *1234 $4,210.55", "Rainy Day Savings *5678 $15,000.00",
		"Cash Rewards Card *4321 -$1,234.56", "Auto Loan *9012 -$18,250.00", "updated 2 h ago", "needs reconnecting"} {
		require.Contains(t, accounts, s)
	}
	require.Equal(t, []string{f.links["orchard"]}, attrs(t, ctx, ".alert", "data-link"))
	require.Len(t, attrs(t, ctx, "a.reconnect", "href"), 2, "the alert and the connection list")

	// Recurring payments from the view.
	var wantRec []string
	for _, r := range f.readerRows(t, `SELECT merchant, cadence, typical_amount::text FROM reporting.recurring WHERE app_user_ref = 'alice'`) {
		wantRec = append(wantRec, strings.Join(r, " "))
	}
	merchants, cadences, recAmounts := attrs(t, ctx, "#recurring li", "data-merchant"), attrs(t, ctx, "#recurring li", "data-cadence"), attrs(t, ctx, "#recurring li", "data-amount")
	var gotRec []string
	for i := range merchants {
		gotRec = append(gotRec, merchants[i]+" "+cadences[i]+" "+recAmounts[i])
	}
	sort.Strings(wantRec)
	sort.Strings(gotRec)
	require.Equal(t, wantRec, gotRec)
	require.Contains(t, gotRec, "Streamflix monthly 15.49")
	require.Contains(t, gotRec, "Parkview Apartments monthly 1850.00")

	// No sideways scrolling on a desktop or a phone; screenshots kept.
	for _, width := range testsupport.ScreenWidths {
		testsupport.RequireFitsScreen(t, ctx, "dashboard", width, srv.URL+"/?user=alice", "#net-worth-chart")
	}

	// The app user list, and Reconnect.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(cssSel("#users"))))
	require.Equal(t, "alice", fields(run(t, ctx, chromedp.Text(cssSel("#users")))))
	noOverflow(t, ctx, 390)
}

// TestReconnectSignsALinkToken follows Reconnect: a 303 to the link
// server's connect page with a short-lived link token for the link, signed
// with the app key; refused for a link that is not the user's or needs
// nothing.
func TestReconnectSignsALinkToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := dashboard.New(dashboard.Options{Reader: f.readerAPI(), LinkURL: testLinkURL, AppKey: []byte(testAppKey)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(q url.Values) *http.Response {
		res, err := client.Get(srv.URL + "/reconnect?" + q.Encode())
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		return res
	}

	res := get(url.Values{"user": {"alice"}, "link": {f.links["orchard"]}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, testLinkURL+"/link", loc.Scheme+"://"+loc.Host+loc.Path)
	payload, sig, ok := strings.Cut(loc.Query().Get("token"), ".")
	require.True(t, ok)
	mac := hmac.New(sha256.New, []byte(testAppKey))
	mac.Write([]byte(payload))
	require.Equal(t, base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), sig)
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	var claims struct {
		Aud, Sub, Link string
		Exp            int64
	}
	require.NoError(t, json.Unmarshal(raw, &claims))
	require.Equal(t, "link", claims.Aud)
	require.Equal(t, "alice", claims.Sub)
	require.Equal(t, f.links["orchard"], claims.Link)
	require.WithinDuration(t, time.Now().Add(15*time.Minute), time.Unix(claims.Exp, 0), time.Minute)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	require.Equal(t, http.StatusConflict, get(url.Values{"user": {"alice"}, "link": {f.links["garden"]}}).StatusCode)
	require.Equal(t, http.StatusNotFound, get(url.Values{"user": {"mallory"}, "link": {f.links["orchard"]}}).StatusCode)
	require.Equal(t, http.StatusBadRequest, get(url.Values{"user": {"alice"}}).StatusCode)
	require.Equal(t, http.StatusNotFound, get(url.Values{"user": {"alice"}, "link": {"not-a-uuid"}}).StatusCode)
}
