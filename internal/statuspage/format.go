package statuspage

import (
	"fmt"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/store"
)

// maxMessageRunes is how much of a sync error message the pages show.
const maxMessageRunes = 200

// timeView is an instant as the pages show it: an absolute UTC time and
// how long ago (or how far ahead) it is.
type timeView struct {
	// Set is false for a missing time, shown as a dash.
	Set bool
	// ISO is the machine-readable form (the datetime attribute).
	ISO string
	// Text is the UTC time, to the second.
	Text string
	// Rel is "5m ago" or "in 2h 10m".
	Rel string
}

// timeAt describes v (a time.Time or *time.Time) as seen at now.
func timeAt(now time.Time, v any) timeView {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return timeView{}
		}
		t = *x
	default:
		return timeView{}
	}
	if t.IsZero() {
		return timeView{}
	}
	tv := timeView{Set: true, ISO: t.UTC().Format(time.RFC3339), Text: t.UTC().Format("2006-01-02 15:04:05Z")}
	if d := now.Sub(t); d >= 0 {
		tv.Rel = formatAge(d) + " ago"
	} else {
		tv.Rel = "in " + formatAge(-d)
	}
	return tv
}

// formatAge writes a span of time compactly, to the second under a
// minute and in at most two units above: 45s, 12m 5s, 3h, 3h 5m, 2d 4h.
func formatAge(d time.Duration) string {
	d = d.Round(time.Second)
	two := func(a int, ua string, b int, ub string) string {
		if b == 0 {
			return fmt.Sprintf("%d%s", a, ua)
		}
		return fmt.Sprintf("%d%s %d%s", a, ua, b, ub)
	}
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return two(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < day:
		return two(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	default:
		return two(int(d/day), "d", int(d%day/time.Hour), "h")
	}
}

// formatDuration writes how long a sync run took: milliseconds under a
// second, tenths of a second under a minute, seconds above.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// formatRate writes an institution's failure rate as a percentage with
// one decimal, or a dash when no run ended in success or failure.
func formatRate(h store.InstitutionHealth) string {
	pct, ok := h.FailureRate()
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", pct)
}

// truncateMessage cuts a message to maxMessageRunes characters, marking
// the cut with an ellipsis.
func truncateMessage(s string) string {
	n := 0
	for i := range s {
		if n == maxMessageRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// shortScope names a Consumer API scope by its last path segment
// (transactions.detail.readonly); other scopes are shown whole.
func shortScope(scope string) string {
	if i := strings.LastIndexByte(scope, '/'); i >= 0 && i < len(scope)-1 {
		return scope[i+1:]
	}
	return scope
}
