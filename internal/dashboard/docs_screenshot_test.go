package dashboard_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/dashboard"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/reporting"
	"github.com/pfmsync/pfmsync/internal/reporting/reportingtest"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// docsUser is the sandbox user shown in docs/dashboard.md.
const docsUser = 1

// TestDashboardOfASyncedSandboxUser links and syncs a sandbox user whose
// clock is today, renders the dashboard on a desktop and a phone, and
// checks it: a year of net worth from the first sync, twelve months of
// bars, no sideways scrolling. With PFMSYNC_UPDATE_DOCS=1 it also writes
// the screenshots of docs/dashboard.md.
func TestDashboardOfASyncedSandboxUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) { o.Bank.Start = time.Now().UTC() }})
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger: synctest.TestLogger(t), Store: env.Store, Sealer: env.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: env.Client, MaxConcurrentSyncs: 1}},
	})
	link := env.Consent(t, docsUser)
	require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 1, 1))

	reader, err := pgxpool.New(ctx, reportingtest.ReaderURL(t, env.DatabaseURL))
	require.NoError(t, err)
	t.Cleanup(reader.Close)
	h, err := dashboard.New(dashboard.Options{Reader: reporting.New(reader), LinkURL: testLinkURL, AppKey: []byte(testAppKey)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	browser := testsupport.NewBrowser(t)
	bctx, cancel := context.WithTimeout(browser, 90*time.Second)
	t.Cleanup(cancel)
	page := srv.URL + "/?user=" + synctest.AppUserRef(docsUser)
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(1280, 1500), chromedp.Navigate(page),
		chromedp.WaitVisible(cssSel("#net-worth-chart"))))
	days, err := strconv.Atoi(run(t, bctx, chromedp.AttributeValue(cssSel("#net-worth-chart"), "data-days")).Value)
	require.NoError(t, err)
	require.Greater(t, days, 365, "the net worth history reaches back through the backfill on the day of linking")
	require.GreaterOrEqual(t, len(attrs(t, bctx, "#cash-flow-chart rect.bar", "data-amount")), 24)
	require.NotEmpty(t, attrs(t, bctx, "#recurring li", "data-merchant"), "the sandbox's subscriptions and bills")
	require.NotEmpty(t, attrs(t, bctx, "#spending li", "data-category"))
	noOverflow(t, bctx, 1280)
	desktop := run(t, bctx, chromedp.CaptureScreenshot())

	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 1400, chromedp.EmulateMobile), chromedp.Reload(),
		chromedp.WaitVisible(cssSel("#net-worth-chart"))))
	noOverflow(t, bctx, 390)
	phone := run(t, bctx, chromedp.CaptureScreenshot())

	dirs := []string{t.ArtifactDir()}
	if os.Getenv("PFMSYNC_UPDATE_DOCS") == "1" {
		dirs = append(dirs, filepath.Join("..", "..", "docs"))
	}
	for _, dir := range dirs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboard-desktop.png"), desktop, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboard-phone.png"), phone, 0o644))
	}
	t.Logf("screenshots in %v", dirs)
}
