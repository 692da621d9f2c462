package statuspage

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

func TestStatusNew(t *testing.T) {
	t.Parallel()
	_, err := New(Options{})
	require.ErrorContains(t, err, "a store is required")
	_, err = New(Options{Store: store.New(nil, nil), RefreshSeconds: -1})
	require.ErrorContains(t, err, "refresh interval")
}

func TestStatusOverview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)
	body := b.getOK(t, "/")

	t.Run("LinksByStatus", func(t *testing.T) {
		t.Parallel()
		tbl := table(t, body, "links-by-status")
		for status, want := range map[string]string{"active": "3", "reauth_required": "1", "revoked": "1", "disabled": "1", "all": "6"} {
			r := row(t, tbl, "data-status", status)
			require.Equal(t, want, cell(t, r, "count"), status)
		}
		require.Contains(t, tbl, `<a href="/links?status=reauth_required" id="status-reauth_required">reauth_required</a>`)
	})

	t.Run("Freshness", func(t *testing.T) {
		t.Parallel()
		dl := between(t, body, `<dl id="freshness">`, "</dl>")
		require.Contains(t, between(t, dl, `id="fresh-last-run"`, "</dd>"), "2026-11-20 11:58:00Z")
		require.Contains(t, between(t, dl, `id="fresh-last-run"`, "</dd>"), "2m ago")
		require.Contains(t, between(t, dl, `id="fresh-last-success"`, "</dd>"), "2m ago")
		require.Contains(t, between(t, dl, `id="fresh-stalest"`, "</dd>"), "3h ago")
		require.Equal(t, `id="fresh-never">1`, between(t, dl, `id="fresh-never"`, "</dd>"))
		require.Equal(t, `id="fresh-overdue" class="warn">1`, between(t, dl, `id="fresh-overdue"`, "</dd>"))
		require.Contains(t, body, `<time datetime="2026-11-20T12:00:00Z">2026-11-20 12:00:00Z</time>`, "server time")
	})

	t.Run("Queues", func(t *testing.T) {
		t.Parallel()
		r := row(t, table(t, body, "queues"), "data-queue", "sync")
		for class, want := range map[string]string{
			"available": "2", "scheduled": "1", "running": "1", "retryable": "0", "lag": "4m",
			"completed": "3", "discarded": "1", "cancelled": "2",
		} {
			require.Equal(t, want, cell(t, r, class), class)
		}
	})

	t.Run("InstitutionsLastDay", func(t *testing.T) {
		t.Parallel()
		tbl := table(t, body, "institutions-24h")
		garden := row(t, tbl, "data-institution", "garden")
		for class, want := range map[string]string{
			"runs": "5", "succeeded": "1", "failed": "3", "rate": "75.0%", "reauth": "1", "snoozed": "1", "unfinished": "0",
		} {
			require.Equal(t, want, cell(t, garden, class), class)
		}
		require.Contains(t, garden, `<span class="class" data-class="consent_revoked">consent_revoked 1</span>, `+
			`<span class="class" data-class="permanent">permanent 1</span>, <span class="class" data-class="transient">transient 1</span>`)
		require.Contains(t, garden, "Garden Financial")
		require.Contains(t, garden, "2m ago", "last success")
		require.Contains(t, garden, "3 (2)", "links (active)")

		river := row(t, tbl, "data-institution", "river-cu")
		require.Equal(t, "1", cell(t, river, "runs"))
		require.Equal(t, "0.0%", cell(t, river, "rate"))
	})

	t.Run("InstitutionsLastHour", func(t *testing.T) {
		t.Parallel()
		tbl := table(t, body, "institutions-1h")
		garden := row(t, tbl, "data-institution", "garden")
		for class, want := range map[string]string{
			"runs": "3", "succeeded": "1", "failed": "1", "rate": "50.0%", "reauth": "0", "snoozed": "1",
		} {
			require.Equal(t, want, cell(t, garden, class), class)
		}
		river := row(t, tbl, "data-institution", "river-cu")
		require.Equal(t, "0", cell(t, river, "runs"))
		require.Equal(t, "—", cell(t, river, "rate"), "no run ended in the hour")
	})

	t.Run("RecentRuns", func(t *testing.T) {
		t.Parallel()
		tbl := table(t, body, "recent-runs")
		require.Equal(t, 7, strings.Count(tbl, "<tr data-run-id="))
		first := tbl[strings.Index(tbl, "<tr data-run-id="):]
		first = first[:strings.Index(first, "</tr>")]
		require.Contains(t, first, `href="/links/`+b.links["g1"]+`"`)
		require.Contains(t, first, "Garden Financial")
		require.Contains(t, first, `<span class="badge outcome-success">success</span>`)
		require.Contains(t, first, `<td class="num">42</td><td class="num">5</td><td class="num">1</td><td class="num">9</td>`)
		require.Contains(t, first, `<td class="num">1.5s</td>`)
	})

	t.Run("ErrorMessagesCutAndEscaped", func(t *testing.T) {
		t.Parallel()
		want := "bank said &lt;b&gt;no&lt;/b&gt; &amp; " + strings.Repeat("x", 200-len("bank said <b>no</b> & ")) + "…"
		require.Contains(t, body, `<td class="error-message">`+want+`</td>`)
		require.NotContains(t, body, "<b>no</b>")
		require.NotContains(t, body, strings.Repeat("x", 200))
	})
}

func TestStatusEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := b.getOK(t, "/")
	require.Contains(t, body, `<p class="empty" id="links-by-status-empty">No links yet.</p>`)
	require.Contains(t, body, `id="queues-empty"`)
	require.Contains(t, body, `<p class="empty" id="recent-runs-empty">No sync runs yet.</p>`)
	require.Contains(t, body, "No institutions are registered.")
	require.Contains(t, between(t, body, `id="fresh-last-run"`, "</dd>"), "—")

	require.Contains(t, b.getOK(t, "/links"), `<p class="empty" id="links-empty">No links yet.</p>`)
	require.Contains(t, b.getOK(t, "/links?status=revoked"), "No links with status revoked.")
	require.Contains(t, b.getOK(t, "/runs"), "No sync runs yet.")
}

func TestStatusLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)

	ids := func(t *testing.T, body string) []string {
		t.Helper()
		var out []string
		for _, part := range strings.Split(table(t, body, "links"), `<tr data-link-id="`)[1:] {
			out = append(out, part[:strings.IndexByte(part, '"')])
		}
		return out
	}

	t.Run("All", func(t *testing.T) {
		t.Parallel()
		body := b.getOK(t, "/links")
		l := b.links
		// Links never attempted come last, the newest first.
		require.Equal(t, []string{l["g1"], l["g2"], l["g3"], l["r1"], l["r3"], l["r2"]}, ids(t, body))
		require.Contains(t, body, "Links 1–6 of 6")
		require.Contains(t, body, `<a href="/links" data-status="all" aria-current="page">all (6)</a>`)
		require.NotContains(t, body, `id="next-page"`)
		require.NotContains(t, body, `id="prev-page"`)
	})

	t.Run("ByStatus", func(t *testing.T) {
		t.Parallel()
		body := b.getOK(t, "/links?status=active")
		require.Equal(t, []string{b.links["g1"], b.links["g2"], b.links["r1"]}, ids(t, body))
		require.Contains(t, body, "<title>Links: active</title>")
		require.Contains(t, body, "Links 1–3 of 3")
		require.Contains(t, body, `<a href="/links?status=active" data-status="active" aria-current="page">active (3)</a>`)

		g1 := row(t, table(t, body, "links"), "data-link-id", b.links["g1"])
		require.Contains(t, g1, `<td class="ref">alice</td>`)
		require.Contains(t, g1, `<td>garden</td>`)
		require.Contains(t, g1, `<span title="`+transactionsScope+`">transactions.detail.readonly</span>`)
		require.Contains(t, g1, "in 6h", "next sync")

		g2 := row(t, table(t, body, "links"), "data-link-id", b.links["g2"])
		require.Contains(t, g2, `<td>transient</td>`)
		require.Contains(t, g2, `<td class="num">3</td>`)

		body = b.getOK(t, "/links?status=reauth_required")
		require.Equal(t, []string{b.links["g3"]}, ids(t, body))
	})

	t.Run("BadQueries", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/links?status=bogus", "/links?status=%3Cscript%3E", "/links?page=0", "/links?page=x", "/links?page=99999999999"} {
			res, body := b.get(t, path)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, path)
			require.Contains(t, body, `<main id="bad-request"`, path)
			require.NotContains(t, body, "<script>", path)
		}
	})

	t.Run("PastTheEnd", func(t *testing.T) {
		t.Parallel()
		body := b.getOK(t, "/links?status=active&page=2")
		require.Contains(t, body, "No links with status active on this page.")
		require.Contains(t, body, `<a href="/links?status=active" id="prev-page" rel="prev">`)
	})
}

func TestStatusLinksPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var inst int64
	require.NoError(t, b.pool.QueryRow(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ('garden', 'Garden Financial', 'https://bank.example/oidc', 'https://bank.example/api', 'client') RETURNING id`).Scan(&inst))
	_, err := b.pool.Exec(ctx, `
		INSERT INTO links (institution_id, app_user_ref, banno_user_id, status, last_attempt_at)
		SELECT $1, 'user-' || n, 'banno-' || n, 'active', $2::timestamptz - n * interval '1 minute'
		FROM generate_series(1, 150) AS n`, inst, testNow)
	require.NoError(t, err)

	first := b.getOK(t, "/links?status=active")
	require.Equal(t, 100, strings.Count(first, "<tr data-link-id="))
	require.Contains(t, first, "Links 1–100 of 150")
	require.Contains(t, first, `<td class="ref">user-1</td>`)
	require.Contains(t, first, `<td class="ref">user-100</td>`)
	require.NotContains(t, first, `<td class="ref">user-101</td>`)
	require.Contains(t, first, `<a href="/links?page=2&amp;status=active" id="next-page" rel="next">`)
	require.NotContains(t, first, `id="prev-page"`)

	second := b.getOK(t, "/links?page=2&status=active")
	require.Equal(t, 50, strings.Count(second, "<tr data-link-id="))
	require.Contains(t, second, "Links 101–150 of 150")
	require.Contains(t, second, `<td class="ref">user-101</td>`)
	require.Contains(t, second, `<td class="ref">user-150</td>`)
	require.Contains(t, second, `<a href="/links?status=active" id="prev-page" rel="prev">`)
	require.NotContains(t, second, `id="next-page"`)
}

func TestStatusLinkDetail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)

	t.Run("Shown", func(t *testing.T) {
		t.Parallel()
		body := b.getOK(t, "/links/"+b.links["g1"])
		require.Contains(t, body, `<dd id="link-app-user">alice</dd>`)
		require.Contains(t, body, `<dd id="link-institution">garden</dd>`)
		require.Contains(t, body, `<dd id="link-status"><span class="badge status-active">active</span></dd>`)
		require.Contains(t, body, `<span title="`+transactionsScope+`">transactions.detail.readonly</span>`)
		runs := table(t, body, "link-runs")
		require.Equal(t, 2, strings.Count(runs, "<tr data-run-id="))
		require.NotContains(t, runs, "<th>Link</th>", "the link's own page needs no link column")
	})

	t.Run("LastErrorCut", func(t *testing.T) {
		t.Parallel()
		body := b.getOK(t, "/links/"+b.links["g3"])
		require.Contains(t, body, `<dd id="link-error-class">consent_revoked</dd>`)
		dd := between(t, body, `<dd id="link-error"`, "</dd>")
		require.True(t, strings.HasSuffix(dd, strings.Repeat("x", 178)+"…"), dd)
		require.Equal(t, 1, strings.Count(table(t, body, "link-runs"), "<tr data-run-id="))
	})

	t.Run("Unknown", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{pfm.NewID(), "not-a-uuid", "00000000-0000-0000-0000-00000000000g", "%27%3B--"} {
			res, body := b.get(t, "/links/"+id)
			require.Equal(t, http.StatusNotFound, res.StatusCode, id)
			require.Contains(t, body, `<main id="not-found"`, id)
			require.Contains(t, body, "Link not found")
		}
		require.NotContains(t, b.logs.String(), `"level":"ERROR"`)
	})
}

func TestStatusRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)
	body := b.getOK(t, "/runs")
	tbl := table(t, body, "runs-table")
	require.Equal(t, 7, strings.Count(tbl, "<tr data-run-id="))
	for _, id := range []string{b.links["g1"], b.links["g2"], b.links["g3"], b.links["r1"]} {
		require.Contains(t, tbl, `href="/links/`+id+`"`)
	}
	require.Contains(t, tbl, "River Credit Union")
	require.Contains(t, tbl, `<span class="badge outcome-reauth_required">reauth_required</span>`)
	require.Contains(t, tbl, "<td>rate_limited</td>")
}

func TestStatusNoSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)
	secrets := []string{sealedTokenValue, tokenKeyID, consentNonce, verifierValue}
	for _, s := range []string{sealedTokenValue, verifierValue} {
		secrets = append(secrets, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)))
	}
	for _, path := range []string{"/", "/links", "/runs", "/links?status=active"} {
		body := b.getOK(t, path)
		for _, s := range secrets {
			require.NotContains(t, body, s, path)
		}
	}
	for _, id := range b.links {
		body := b.getOK(t, "/links/"+id)
		for _, s := range secrets {
			require.NotContains(t, body, s, id)
		}
	}
}

func TestStatusAuth(t *testing.T) {
	t.Parallel()
	const token = "admin-token-3f9c2e"
	b := setup(t, func(o *Options) { o.AdminToken = token })

	for _, path := range []string{"/", "/links", "/runs", "/links/" + pfm.NewID(), stylesheetPath, "/nope"} {
		res, body := b.get(t, path)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
		require.Equal(t, `Basic realm="pfmsync status", charset="UTF-8"`, res.Header.Get("WWW-Authenticate"))
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		require.NotContains(t, body, "pfmsync status</title>")

		for _, wrong := range []string{"", "admin-token", token + "x", strings.ToUpper(token)} {
			res, _ = b.get(t, path, func(r *http.Request) { r.SetBasicAuth("ops", wrong) })
			require.Equal(t, http.StatusUnauthorized, res.StatusCode, "%s with %q", path, wrong)
		}
		res, _ = b.get(t, path, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
	}

	for _, user := range []string{"ops", "", "anyone"} {
		res, body := b.get(t, "/", func(r *http.Request) { r.SetBasicAuth(user, token) })
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.Contains(t, body, "<title>pfmsync status</title>")
	}
	res, _ := b.get(t, stylesheetPath, func(r *http.Request) { r.SetBasicAuth("ops", token) })
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotContains(t, b.logs.String(), token)
}

func TestStatusHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)
	for path, want := range map[string]int{
		"/": http.StatusOK, "/links": http.StatusOK, "/runs": http.StatusOK, "/links/" + b.links["g1"]: http.StatusOK,
		stylesheetPath: http.StatusOK, faviconPath: http.StatusOK, "/nope": http.StatusNotFound, "/links/x": http.StatusNotFound,
		"/links?status=x": http.StatusBadRequest,
	} {
		res, _ := b.get(t, path)
		require.Equal(t, want, res.StatusCode, path)
		h := res.Header
		require.Equal(t, contentSecurityPolicy, h.Get("Content-Security-Policy"), path)
		require.Contains(t, h.Get("Content-Security-Policy"), "default-src 'self'")
		require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'none'")
		require.Equal(t, "DENY", h.Get("X-Frame-Options"), path)
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), path)
		require.Equal(t, "no-referrer", h.Get("Referrer-Policy"), path)
		require.Equal(t, "no-store", h.Get("Cache-Control"), path)
	}

	res, css := b.get(t, stylesheetPath)
	require.Equal(t, "text/css; charset=utf-8", res.Header.Get("Content-Type"))
	require.Equal(t, string(stylesheet), css)
	res, _ = b.get(t, faviconPath)
	require.Equal(t, "image/svg+xml", res.Header.Get("Content-Type"))

	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, contentSecurityPolicy, rec.Header().Get("Content-Security-Policy"))

	// Nothing inline: no script, no style attribute or element.
	for _, path := range []string{"/", "/links", "/runs", "/links/" + b.links["g1"], "/nope"} {
		_, body := b.get(t, path)
		for _, bad := range []string{"<script", "<style", " style=", "javascript:", " on"} {
			require.NotContains(t, body, bad, path)
		}
	}
}

func TestStatusRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.RefreshSeconds = 30 })
	for _, path := range []string{"/", "/runs", "/links"} {
		require.Contains(t, b.getOK(t, path), `<meta http-equiv="refresh" content="30">`, path)
	}
	off := newBundle(t, b.pool)
	require.NotContains(t, off.getOK(t, "/"), `http-equiv="refresh"`)
}

func TestStatusDatabaseDown(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/nothing?connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b := newBundle(t, pool)
	for _, path := range []string{"/", "/links", "/links?status=active", "/runs", "/links/" + pfm.NewID()} {
		res, body := b.get(t, path)
		require.Equal(t, http.StatusInternalServerError, res.StatusCode, path)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		require.Contains(t, body, `<main id="error"`, path)
		require.Contains(t, body, "The status could not be read from the database.")
		require.NotContains(t, body, "127.0.0.1:1", "connection details stay in the log")
	}
	logs := b.logs.String()
	require.Contains(t, logs, `"msg":"status page: database read failed"`)
	require.Equal(t, 5, strings.Count(logs, `"level":"ERROR"`), logs)
	require.Contains(t, logs, "127.0.0.1")
}

func TestStatusNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, path := range []string{"/nope", "/links/", "/links/a/b", "/assets/other.css"} {
		res, body := b.get(t, path)
		require.Equal(t, http.StatusNotFound, res.StatusCode, path)
		require.Contains(t, body, `<main id="not-found"`, path)
	}
}

func TestStatusFormat(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 1400 * time.Millisecond: "1s", 59 * time.Second: "59s", 61 * time.Second: "1m 1s",
		3*time.Hour + 5*time.Minute + 10*time.Second: "3h 5m", 50 * time.Hour: "2d 2h", 10 * time.Minute: "10m",
		3 * time.Hour: "3h", 48 * time.Hour: "2d",
	} {
		require.Equal(t, want, formatAge(d), d.String())
	}
	for d, want := range map[time.Duration]string{
		1234567 * time.Microsecond: "1.2s", 850 * time.Millisecond: "850ms", 3*time.Minute + 4400*time.Millisecond: "3m4s",
	} {
		require.Equal(t, want, formatDuration(d), d.String())
	}

	require.Equal(t, "short", truncateMessage("short"))
	exact := strings.Repeat("é", maxMessageRunes)
	require.Equal(t, exact, truncateMessage(exact))
	require.Equal(t, exact+"…", truncateMessage(exact+"ü"))

	require.Equal(t, "transactions.detail.readonly", shortScope(transactionsScope))
	require.Equal(t, "openid", shortScope("openid"))

	tv := timeAt(testNow, ago(90*time.Second))
	require.Equal(t, timeView{Set: true, ISO: "2026-11-20T11:58:30Z", Text: "2026-11-20 11:58:30Z", Rel: "1m 30s ago"}, tv)
	require.Equal(t, "in 2h", timeAt(testNow, ago(-2*time.Hour)).Rel)
	var none *time.Time
	require.False(t, timeAt(testNow, none).Set)
	require.False(t, timeAt(testNow, time.Time{}).Set)

	require.Equal(t, "—", formatRate(store.InstitutionHealth{}))
	require.Equal(t, "33.3%", formatRate(store.InstitutionHealth{Succeeded: 2, Failed: 1}))
	require.Equal(t, fmt.Sprintf("%.1f%%", 100.0), formatRate(store.InstitutionHealth{Failed: 4}))
}
