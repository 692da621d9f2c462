package authserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// TestConsentPageFitsTheScreen renders the login and consent page in
// Chromium at a laptop's and a phone's width: the permissions box (long
// scope URLs included) stays inside its card and nothing overflows the
// viewport sideways. The renderings are saved as PNGs in the test's
// artifact directory (go test -artifacts keeps them).
func TestConsentPageFitsTheScreen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.authURL(&authorization{})
	browser := testsupport.NewBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	t.Cleanup(cancel)
	for _, width := range testsupport.ScreenWidths {
		testsupport.RequireFitsScreen(t, ctx, "consent", width, u, "fieldset")
		sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
			const main = document.querySelector("main").getBoundingClientRect();
			const box = document.querySelector("fieldset").getBoundingClientRect();
			let widest = 0;
			for (const c of document.querySelectorAll("fieldset code")) widest = Math.max(widest, c.getBoundingClientRect().right);
			return [document.documentElement.scrollWidth, window.innerWidth, main.right, box.right, widest, document.querySelectorAll("fieldset code").length];
		})()`))
		require.NoError(t, err)
		mainRight, boxRight, codeRight, codes := sizes[2], sizes[3], sizes[4], sizes[5]
		require.Positive(t, codes, "the page lists the scopes")
		require.LessOrEqual(t, boxRight, mainRight, "at %d px the permissions box overflows its card", width)
		require.LessOrEqual(t, codeRight, boxRight, "at %d px a scope overflows the permissions box", width)
	}
}
