package statuspage

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// testNow is the server time of every test; the fixture is described
// from it.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// ago returns the instant d before testNow.
func ago(d time.Duration) time.Time { return testNow.Add(-d) }

// Values stored where the pages must never show them.
const (
	sealedTokenValue = "SEALED-REFRESH-TOKEN-d41d8cd98f00"
	tokenKeyID       = "kek-status-test-2026"
	consentNonce     = "NONCE-status-test-5e2b"
	verifierValue    = "SEALED-VERIFIER-9a77c1"
)

// transactionsScope is the Consumer API scope a fixture link is missing.
const transactionsScope = "https://api.banno.com/consumer/auth/transactions.detail.readonly"

// longError is a sync error message longer than the pages show, with
// markup that must be escaped.
var longError = "bank said <b>no</b> & " + strings.Repeat("x", 300)

// lockedBuffer collects output written from several goroutines.
type lockedBuffer = testsupport.SyncBuffer

// testBundle is one test's database, store and handler.
type testBundle struct {
	pool    *pgxpool.Pool
	store   *store.Store
	handler http.Handler
	logs    *lockedBuffer
	// links maps fixture keys to link ids (empty without the fixture).
	links map[string]string
}

// setup gives the test its own database and a handler on it; opts may
// set the admin token and the refresh interval.
func setup(t *testing.T, opts ...func(*Options)) *testBundle {
	t.Helper()
	pool := testdb.New(t)
	return newBundle(t, pool, opts...)
}

// newBundle builds a handler on pool.
func newBundle(t *testing.T, pool *pgxpool.Pool, opts ...func(*Options)) *testBundle {
	t.Helper()
	b := &testBundle{pool: pool, store: store.New(pool, nil), logs: &lockedBuffer{}, links: map[string]string{}}
	o := Options{
		Store:  b.store,
		Logger: slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return testNow },
	}
	for _, f := range opts {
		f(&o)
	}
	h, err := New(o)
	require.NoError(t, err)
	b.handler = h
	return b
}

// get requests path from the handler and returns the response and its
// body.
func (b *testBundle) get(t *testing.T, path string, mod ...func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, f := range mod {
		f(req)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

// getOK requests path and requires a 200 HTML page.
func (b *testBundle) getOK(t *testing.T, path string) string {
	t.Helper()
	res, body := b.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	return body
}

// insertFixture writes a known data set with plain SQL:
//
//   - garden: g1 (active, synced 2 minutes ago, missing the transactions
//     scope), g2 (active, never synced, due 30 minutes ago), g3
//     (reauth_required); river-cu: r1 (active), r2 (revoked), r3
//     (disabled);
//   - sync runs at garden in the last day: a success and a failure
//     (transient, with longError) in the last hour, a rate-limited snooze
//     40 minutes ago, a reauth_required 2 hours ago, a permanent failure
//     5 hours ago; one failure 30 hours ago; at river-cu a success 3
//     hours ago;
//   - River jobs on queue sync: 2 available (the oldest 4 minutes), 1
//     scheduled, 1 running, 1 discarded, 2 cancelled and 3 completed in the
//     last day;
//   - a sealed token for g1 and a consent request, never to be shown.
func (b *testBundle) insertFixture(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := b.pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	insts := map[string]int64{}
	for _, in := range []struct{ slug, name string }{{"garden", "Garden Financial"}, {"river-cu", "River Credit Union"}} {
		var id int64
		require.NoError(t, b.pool.QueryRow(ctx, `
			INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
			VALUES ($1, $2, 'https://bank.example/oidc', 'https://bank.example/api', 'client') RETURNING id`,
			in.slug, in.name).Scan(&id))
		insts[in.slug] = id
	}
	type link struct {
		key, inst, user, status            string
		lastAttempt, lastSuccess, nextSync any
		errClass, errMsg                   any
		failures                           int
		missing                            []string
		created                            time.Time
	}
	for _, l := range []link{
		{"g1", "garden", "alice", "active", ago(2 * time.Minute), ago(2 * time.Minute), ago(-6 * time.Hour), nil, nil, 0, []string{transactionsScope}, ago(90 * 24 * time.Hour)},
		{"g2", "garden", "bob", "active", ago(time.Hour), nil, ago(30 * time.Minute), "transient", "timeout", 3, nil, ago(89 * 24 * time.Hour)},
		{"g3", "garden", "carol", "reauth_required", ago(2 * time.Hour), ago(50 * time.Hour), nil, "consent_revoked", longError, 0, nil, ago(88 * 24 * time.Hour)},
		{"r1", "river-cu", "dave", "active", ago(3 * time.Hour), ago(3 * time.Hour), ago(-3 * time.Hour), nil, nil, 0, nil, ago(87 * 24 * time.Hour)},
		{"r2", "river-cu", "erin", "revoked", nil, nil, nil, nil, nil, 0, nil, ago(86 * 24 * time.Hour)},
		{"r3", "river-cu", "frank", "disabled", nil, nil, nil, nil, nil, 0, nil, ago(85 * 24 * time.Hour)},
	} {
		missing := l.missing
		if missing == nil {
			missing = []string{}
		}
		var id string
		require.NoError(t, b.pool.QueryRow(ctx, `
			INSERT INTO links (institution_id, app_user_ref, banno_user_id, status, granted_scopes, missing_scopes,
				last_attempt_at, last_success_at, next_sync_at, last_error_class, last_error, consecutive_failures,
				consented_at, created_at)
			VALUES ($1, $2, 'banno-' || $2, $3::link_status, '{openid}', $4, $5, $6, $7, $8, $9, $10, $11, $11)
			RETURNING id`,
			insts[l.inst], l.user, l.status, missing, l.lastAttempt, l.lastSuccess, l.nextSync, l.errClass, l.errMsg,
			l.failures, l.created).Scan(&id))
		b.links[l.key] = id
	}
	type run struct {
		link                      string
		startedAgo                time.Duration
		outcome, class, msg       any
		accounts, added, mod, rem int
		calls                     int
	}
	for _, r := range []run{
		{"g1", 2 * time.Minute, "success", nil, nil, 3, 42, 5, 1, 9},
		{"g1", 20 * time.Minute, "failed", "transient", longError, 3, 0, 0, 0, 2},
		{"g2", 40 * time.Minute, "snoozed", "rate_limited", "429 Too Many Requests", 0, 0, 0, 0, 1},
		{"g3", 2 * time.Hour, "reauth_required", "consent_revoked", "invalid_grant", 0, 0, 0, 0, 1},
		{"g2", 5 * time.Hour, "failed", "permanent", "400 Bad Request", 0, 0, 0, 0, 1},
		{"g2", 30 * time.Hour, "failed", "transient", "timeout", 0, 0, 0, 0, 1},
		{"r1", 3 * time.Hour, "success", nil, nil, 1, 7, 0, 0, 4},
	} {
		started := ago(r.startedAgo)
		exec(`
			INSERT INTO sync_runs (link_id, job_id, trigger, started_at, finished_at, outcome, error_class, error,
				accounts, transactions_added, transactions_modified, transactions_removed, api_calls)
			VALUES ($1, 11, 'scheduled', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			b.links[r.link], started, started.Add(1500*time.Millisecond), r.outcome, r.class, r.msg,
			r.accounts, r.added, r.mod, r.rem, r.calls)
	}
	type job struct {
		state        string
		scheduledAgo time.Duration
		finalizedAgo time.Duration // 0: not finalized
	}
	for _, j := range []job{
		{"available", 4 * time.Minute, 0},
		{"available", time.Minute, 0},
		{"scheduled", -10 * time.Minute, 0},
		{"running", 3 * time.Minute, 0},
		{"discarded", 2 * time.Hour, time.Hour},
		{"cancelled", 3 * time.Hour, 2 * time.Hour},
		{"cancelled", 4 * time.Hour, 3 * time.Hour},
		{"completed", 2 * time.Hour, time.Hour},
		{"completed", 3 * time.Hour, 2 * time.Hour},
		{"completed", 4 * time.Hour, 3 * time.Hour},
		{"completed", 40 * time.Hour, 39 * time.Hour},
	} {
		var finalized any
		if j.finalizedAgo > 0 {
			finalized = ago(j.finalizedAgo)
		}
		scheduled := ago(j.scheduledAgo)
		exec(`
			INSERT INTO river_job (kind, queue, state, args, max_attempts, priority, scheduled_at, created_at, finalized_at)
			VALUES ('sync_link', 'sync', $1::river_job_state, '{}', 25, 3, $2, $3, $4)`,
			j.state, scheduled, scheduled.Add(-time.Minute), finalized)
	}
	exec(`INSERT INTO link_tokens (link_id, sealed, key_id) VALUES ($1, $2, $3)`,
		b.links["g1"], []byte(sealedTokenValue), tokenKeyID)
	exec(`
		INSERT INTO consent_requests (state_hash, nonce, sealed_verifier, institution_id, app_user_ref, link_id, expires_at)
		VALUES ($1, $2, $3, $4, 'alice', $5, $6)`,
		[]byte("state-hash-0123456789abcdef012345"), consentNonce, []byte(verifierValue), insts["garden"],
		b.links["g1"], ago(-10*time.Minute))
}

// between returns the part of s from start up to end, failing the test
// when either is missing.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	require.GreaterOrEqual(t, i, 0, "%s not found", start)
	j := strings.Index(s[i:], end)
	require.GreaterOrEqual(t, j, 0, "%s not found after %s", end, start)
	return s[i : i+j]
}

// table returns the table with the id.
func table(t *testing.T, body, id string) string {
	t.Helper()
	return between(t, body, `<table id="`+id+`"`, "</table>")
}

// row returns the table row carrying attr="value" within s.
func row(t *testing.T, s, attr, value string) string {
	t.Helper()
	i := strings.Index(s, `<tr `+attr+`="`+value+`"`)
	require.GreaterOrEqual(t, i, 0, "no row with %s=%q", attr, value)
	j := strings.Index(s[i:], "</tr>")
	require.GreaterOrEqual(t, j, 0)
	return s[i : i+j]
}

// cell returns the text of the first cell of r whose class list holds
// class.
func cell(t *testing.T, r, class string) string {
	t.Helper()
	re := regexp.MustCompile(`<td class="(?:[^"]* )?` + regexp.QuoteMeta(class) + `(?: [^"]*)?">([^<]*)</td>`)
	m := re.FindStringSubmatch(r)
	require.NotNil(t, m, "no cell of class %s in %s", class, r)
	return m[1]
}
