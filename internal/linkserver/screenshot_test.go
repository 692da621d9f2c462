package linkserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// artifactsEnv names a directory where the screenshot tests keep their
// PNGs (default: the test's temporary directory, removed afterwards).
const artifactsEnv = "PFMSYNC_TEST_ARTIFACTS"

func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "linkserver")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestPagesFitNarrowAndWideScreens renders the connect page, the success
// page and an error page at a desktop and a phone width, asserts nothing
// overflows horizontally, and saves a screenshot of each.
func TestPagesFitNarrowAndWideScreens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	browser := testsupport.NewBrowser(t)
	dir := artifactDir(t)

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
	for _, width := range []int64{1280, 390} {
		for _, p := range pages {
			t.Run(fmt.Sprintf("%s-%d", p.name, width), func(t *testing.T) {
				ctx, cancel := chromedp.NewContext(browser)
				defer cancel()
				ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
				defer cancelTimeout()
				require.NoError(t, chromedp.Do(ctx,
					chromedp.EmulateViewport(width, 800),
					chromedp.Navigate(p.url),
					chromedp.WaitVisible(css(p.main)),
				))
				sizes := run(t, ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
				require.LessOrEqual(t, sizes[0], sizes[1], "%s overflows horizontally at %d px", p.name, width)
				require.EqualValues(t, width, sizes[1])
				png := run(t, ctx, chromedp.FullScreenshot(100))
				require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "not a PNG")
				path := filepath.Join(dir, fmt.Sprintf("%s-%d.png", p.name, width))
				require.NoError(t, os.WriteFile(path, png, 0o644))
				t.Logf("screenshot: %s", path)
			})
		}
	}
}
