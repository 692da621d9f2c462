package linkserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/testsupport"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Credentials of the test deployment. They are searched for in the
// database and the logs by the secrets test.
const (
	testSlug         = "sandbox"
	testClientID     = "pfmsync-test"
	testClientSecret = "client-secret-6b1f0c8e2d4a"
	otherClientID    = "other-client"
	otherSecret      = "other-secret-93ad7e51"
	testReturnPrefix = "https://app.example.com/linked"
)

// testAppKey is the shared app key (32+ bytes).
var testAppKey = []byte("app-key-0123456789abcdef0123456789abcdef")

// testKey returns a deterministic 32-byte key-encryption key per id, so
// that the same id is the same key in every ring a test builds.
func testKey(id string) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i*13+7) ^ id[i%len(id)]
	}
	return k
}

// testRing builds a key ring from ids, the first current.
func testRing(t testing.TB, ids ...string) *tokenseal.KeyRing {
	t.Helper()
	keys := map[string][]byte{}
	for _, id := range ids {
		keys[id] = testKey(id)
	}
	r, err := tokenseal.NewKeyRing(ids[0], keys)
	require.NoError(t, err)
	return r
}

// lockedBuffer collects output written from several goroutines.
type lockedBuffer = testsupport.SyncBuffer

// testClock is an adjustable clock: real time plus an offset.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// recorder is the institution client's transport: it records every secret
// of the token endpoint's traffic (so the secrets test knows what to look
// for) and lets a test tamper with token requests.
type recorder struct {
	base http.RoundTripper

	mu       sync.Mutex
	secrets  []string
	refreshs []string // refresh tokens issued by the token endpoint
	tamper   func(r *http.Request, form url.Values)
	// unreachable makes revocation requests fail as if the institution
	// refused connections.
	unreachable bool
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	isToken := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oidc/token")
	isRevoke := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oidc/token/revocation")
	if isToken || isRevoke {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close()
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		rec.mu.Lock()
		for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret", "token"} {
			if v := form.Get(k); v != "" {
				rec.secrets = append(rec.secrets, v)
			}
		}
		tamper, unreachable := rec.tamper, rec.unreachable
		rec.mu.Unlock()
		if unreachable && isRevoke {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
		}
		if tamper != nil && isToken {
			r = r.Clone(r.Context())
			tamper(r, form)
		}
		enc := form.Encode()
		r.Body = io.NopCloser(strings.NewReader(enc))
		r.ContentLength = int64(len(enc))
	}
	resp, err := rec.base.RoundTrip(r)
	if err != nil || !isToken {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tr map[string]any
	if json.Unmarshal(body, &tr) == nil {
		rec.mu.Lock()
		for _, k := range []string{"access_token", "id_token", "refresh_token"} {
			if v, ok := tr[k].(string); ok && v != "" {
				rec.secrets = append(rec.secrets, v)
				if k == "refresh_token" {
					rec.refreshs = append(rec.refreshs, v)
				}
			}
		}
		rec.mu.Unlock()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (rec *recorder) setTamper(f func(r *http.Request, form url.Values)) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.tamper = f
}

func (rec *recorder) setUnreachable() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.unreachable = true
}

func (rec *recorder) refreshTokens() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.refreshs...)
}

func (rec *recorder) recorded() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.secrets...)
}

// testBundle is a link server on a real listener, a sandbox institution
// whose registered redirect URI is that server's callback, a database of
// the test's own and an insert-only River client.
type testBundle struct {
	pool    *pgxpool.Pool
	store   *store.Store
	sandbox *sandbox.Running
	rec     *recorder
	client  *consumerapi.Client
	inst    Institution
	river   *river.Client[pgx.Tx]
	ring    *tokenseal.KeyRing
	sealer  *tokenseal.Sealer
	server  *Server
	url     string
	logs    *lockedBuffer
	logger  *slog.Logger
	clock   *testClock

	mu     sync.Mutex
	issued []string // link and API tokens handed out
}

// setupOptions adjust setup.
type setupOptions struct {
	ring       []string
	jobs       func(JobInserter) JobInserter
	returnURLs []string
	pool       *pgxpool.Pool
	// deliverEvents queues webhook deliveries of the server's events.
	deliverEvents bool
}

func setup(t *testing.T, opts ...func(*setupOptions)) *testBundle {
	t.Helper()
	o := setupOptions{ring: []string{"v1"}, returnURLs: []string{testReturnPrefix}}
	for _, f := range opts {
		f(&o)
	}
	logs := &lockedBuffer{}
	logger := logging.New(logs, "json", slog.LevelDebug)
	pool := o.pool
	if pool == nil {
		pool = testdb.New(t)
	}
	st := store.New(pool, logger)

	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	publicURL := "http://" + ts.Listener.Addr().String()

	sb, err := sandbox.Start("127.0.0.1:0", sandbox.Options{
		Bank: bank.Config{Seed: 5, Users: 4, HistoryDays: 20, FutureDays: 2},
		Clients: []authserver.Client{
			{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{publicURL + CallbackPath}},
			{ID: otherClientID, Secret: otherSecret, RedirectURIs: []string{publicURL + CallbackPath}},
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sb.Close(ctx)
	})

	rec := &recorder{base: http.DefaultTransport.(*http.Transport).Clone()}
	client := newClient(t, sb.APIBaseURL(), publicURL, rec, logger)
	ctx := context.Background()
	row, err := st.UpsertInstitution(ctx, pfm.Institution{
		Slug: testSlug, DisplayName: "Sandbox Community Bank",
		IssuerURL: sb.Issuer(), APIBaseURL: sb.APIBaseURL(), ClientID: testClientID,
	})
	require.NoError(t, err)

	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	require.NoError(t, err)

	b := &testBundle{
		pool: pool, store: st, sandbox: sb, rec: rec, client: client, river: rc,
		url: publicURL, logs: logs, logger: logger, clock: &testClock{},
	}
	b.inst = Institution{ID: row.ID, Slug: testSlug, Name: "Sandbox Community Bank", Client: client}
	b.ring = testRing(t, o.ring...)
	b.sealer = tokenseal.New(b.ring)
	var inserter JobInserter = rc
	if o.jobs != nil {
		inserter = o.jobs(rc)
	}
	b.server, err = New(Options{
		Store:         st,
		Sealer:        b.sealer,
		Jobs:          inserter,
		DeliverEvents: o.deliverEvents,
		Institutions:  []Institution{b.inst},
		AppKey:        testAppKey,
		PublicURL:     publicURL,
		ReturnURLs:    o.returnURLs,
		ConsentTTL:    10 * time.Minute,
		Logger:        logger,
		Now:           b.clock.Now,
	})
	require.NoError(t, err)
	ts.Config.Handler = b.server
	ts.Start()
	return b
}

// newClient builds an institution client whose redirect URL is the link
// server's callback.
func newClient(t *testing.T, baseURL, publicURL string, rt http.RoundTripper, logger *slog.Logger) *consumerapi.Client {
	t.Helper()
	c, err := consumerapi.New(context.Background(), consumerapi.Institution{
		Slug:         testSlug,
		BaseURL:      baseURL,
		ClientID:     testClientID,
		ClientSecret: consumerapi.Secret(testClientSecret),
		RedirectURL:  publicURL + CallbackPath,
		Retry:        consumerapi.RetryPolicy{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond},
	}, consumerapi.WithLogger(logger), consumerapi.WithTransport(rt))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// sign signs claims with the app key and remembers the token.
func (b *testBundle) sign(t testing.TB, c LinkClaims) string {
	t.Helper()
	if c.Expiry.IsZero() {
		c.Expiry = b.clock.Now().Add(10 * time.Minute)
	}
	tok, err := SignLinkToken(testAppKey, c)
	require.NoError(t, err)
	b.mu.Lock()
	b.issued = append(b.issued, tok)
	b.mu.Unlock()
	return tok
}

// linkToken signs a link token for appUser.
func (b *testBundle) linkToken(t testing.TB, appUser string) string {
	return b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: appUser})
}

// apiToken signs an API token for appUser.
func (b *testBundle) apiToken(t testing.TB, appUser string) string {
	return b.sign(t, LinkClaims{Audience: AudienceAPI, AppUser: appUser})
}

// response is a response read in full.
type response struct {
	status int
	header http.Header
	body   string
}

func (r *response) location(t testing.TB) *url.URL {
	t.Helper()
	u, err := url.Parse(r.header.Get("Location"))
	require.NoError(t, err)
	return u
}

// noFollow does not follow redirects and keeps cookies, as a browser does
// (the consent's browser binding needs them).
var noFollow = &http.Client{
	Jar:           newJar(),
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends a request without following redirects.
func do(t testing.TB, method, rawURL, bearer string, body io.Reader) *response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noFollow.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func get(t testing.TB, rawURL string) *response { return do(t, http.MethodGet, rawURL, "", nil) }

// startURL is /link/start for a link token.
func (b *testBundle) startURL(token string) string {
	return b.url + "/link/start?" + url.Values{"token": {token}, "institution": {testSlug}}.Encode()
}

// start opens /link/start and returns the authorization URL it redirects to.
func (b *testBundle) start(t testing.TB, token string) *url.URL {
	t.Helper()
	resp := get(t, b.startURL(token))
	require.Equal(t, http.StatusSeeOther, resp.status, resp.body)
	return resp.location(t)
}

// allScopes are the scopes the link server requests.
var allScopes = consumerapi.DefaultScopes

// without returns allScopes minus drop.
func without(drop ...string) []string {
	var out []string
	for _, s := range allScopes {
		keep := true
		for _, d := range drop {
			keep = keep && s != d
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}

// authorize posts the sandbox's consent form for an authorization URL as
// bank user n, granting granted (nil: everything requested) or denying,
// and returns the redirect back to the link server.
func (b *testBundle) authorize(t testing.TB, authURL *url.URL, n int, action string, granted []string) *url.URL {
	t.Helper()
	form := authURL.Query()
	form.Set("username", sandbox.Username(n))
	form.Set("password", sandbox.DemoPassword)
	form.Set("action", action)
	if granted == nil {
		granted = strings.Fields(form.Get("scope"))
	}
	for _, s := range granted {
		form.Add("granted_scope", s)
	}
	target := *authURL
	target.RawQuery = ""
	resp, err := noFollow.PostForm(target.String(), form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	cb, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(cb.String(), b.url+CallbackPath), "redirected to %s", cb.Redacted())
	return cb
}

// link runs the whole consent flow for appUser as bank user n and returns
// the callback's response.
func (b *testBundle) link(t testing.TB, appUser string, n int, granted ...string) *response {
	t.Helper()
	if len(granted) == 0 {
		granted = nil
	}
	cb := b.authorize(t, b.start(t, b.linkToken(t, appUser)), n, "allow", granted)
	return b.followDone(t, get(t, cb.String()))
}

// followDone follows a callback's redirect to the success page.
func (b *testBundle) followDone(t testing.TB, resp *response) *response {
	t.Helper()
	if resp.status != http.StatusSeeOther || !strings.HasPrefix(resp.header.Get("Location"), DonePath+"?") {
		return resp
	}
	return get(t, b.url+resp.header.Get("Location"))
}

// linkedID runs the flow and returns the new link's id from the success page.
func (b *testBundle) linkedID(t testing.TB, appUser string, n int) string {
	t.Helper()
	resp := b.link(t, appUser, n)
	require.Equal(t, http.StatusOK, resp.status, resp.body)
	id := linkIDFromPage(t, resp.body)
	return id
}

// linkIDFromPage reads data-link-id from a success page.
func linkIDFromPage(t testing.TB, body string) string {
	t.Helper()
	const attr = `data-link-id="`
	i := strings.Index(body, attr)
	require.GreaterOrEqual(t, i, 0, "no link id in page: %s", body)
	rest := body[i+len(attr):]
	return rest[:strings.IndexByte(rest, '"')]
}

// counts returns the number of links, link tokens and sync_link jobs.
func (b *testBundle) counts(t testing.TB) (links, tokens, jobs int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM links), (SELECT count(*) FROM link_tokens),
		(SELECT count(*) FROM river_job WHERE kind = 'sync_link')`).Scan(&links, &tokens, &jobs))
	return links, tokens, jobs
}

// requireNothingStored asserts no link, token or job exists.
func (b *testBundle) requireNothingStored(t testing.TB) {
	t.Helper()
	links, tokens, jobs := b.counts(t)
	require.Zero(t, links, "links")
	require.Zero(t, tokens, "link tokens")
	require.Zero(t, jobs, "sync jobs")
}

// syncJobs returns the sync_link jobs of a link.
func (b *testBundle) syncJobs(t testing.TB, linkID string) []syncJob {
	t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT id, args->>'link_id', args->>'trigger', state::text, queue FROM river_job WHERE kind = 'sync_link' AND args->>'link_id' = $1 ORDER BY id`, linkID)
	require.NoError(t, err)
	jobs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[syncJob])
	require.NoError(t, err)
	return jobs
}

type syncJob struct {
	ID      int64
	LinkID  string
	Trigger string
	State   string
	Queue   string
}

// openToken opens a link's stored refresh token with the bundle's ring.
func (b *testBundle) openToken(t testing.TB, linkID string) (string, pfm.SealedToken) {
	t.Helper()
	st, err := b.store.LinkToken(context.Background(), linkID)
	require.NoError(t, err)
	plain, err := linktoken.Open(context.Background(), b.sealer, st)
	require.NoError(t, err)
	return plain.Reveal(), st
}

// authStats returns the sandbox provider's counters.
func (b *testBundle) authStats(t testing.TB) authserver.Stats {
	t.Helper()
	s, ok := b.sandbox.Stats().Auth.(authserver.Stats)
	require.True(t, ok, "sandbox auth stats have type %T", b.sandbox.Stats().Auth)
	return s
}

// requireRefreshWorks refreshes a refresh token at the sandbox (which
// rotates it) and returns the new one.
func (b *testBundle) requireRefreshWorks(t testing.TB, rt string) string {
	t.Helper()
	tok, err := b.client.Refresh(context.Background(), consumerapi.Secret(rt))
	require.NoError(t, err)
	return tok.RefreshToken.Reveal()
}

// failingInserter fails every job insert, to break the link transaction
// after the code exchange.
type failingInserter struct{}

func (failingInserter) InsertTx(context.Context, pgx.Tx, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return nil, errInjected
}

var errInjected = &injectedError{}

type injectedError struct{}

func (*injectedError) Error() string { return "injected failure" }

// decodeJSON decodes a response body.
func decodeJSON(t testing.TB, body string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(body), v), body)
}

// b64std is standard base64, for the secrets test.
var b64std = base64.StdEncoding

func newJar() http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return jar
}
