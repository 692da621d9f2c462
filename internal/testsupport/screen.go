package testsupport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// ScreenWidths are the widths every page must fit: a laptop and a phone.
var ScreenWidths = []int64{1280, 390}

// RequireFitsScreen loads url in the tab of ctx at the given viewport width,
// waits for the element matching the CSS selector wait, requires that
// nothing overflows the viewport sideways, and saves a full-page PNG named
// name-width.png in the test's artifact directory (go test -artifacts keeps
// it). The tab stays on the page for further checks.
func RequireFitsScreen(t testing.TB, ctx context.Context, name string, width int64, url, wait string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(width, 900),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(wait)),
	), "%s at %d px", name, width)
	sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int64](`[document.documentElement.scrollWidth, window.innerWidth]`))
	require.NoError(t, err)
	require.Len(t, sizes, 2)
	require.Equal(t, width, sizes[1], "%s: the viewport is %d px wide", name, sizes[1])
	require.LessOrEqual(t, sizes[0], sizes[1], "%s at %d px overflows sideways (scrollWidth %d > innerWidth %d)", name, width, sizes[0], sizes[1])
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; less is JPEG
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "%s: the screenshot is not a PNG", name)
	file := filepath.Join(t.ArtifactDir(), fmt.Sprintf("%s-%d.png", name, width))
	require.NoError(t, os.WriteFile(file, png, 0o644))
	t.Logf("screenshot: %s", file)
}
