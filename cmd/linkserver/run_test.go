package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/testsupport"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

const (
	clientID     = "pfmsync-run-test"
	clientSecret = "run-test-client-secret-7f3a"
	appKey       = "run-test-app-key-0123456789abcdefghijkl"
)

// lockedBuffer collects output written from several goroutines.
type lockedBuffer = testsupport.SyncBuffer

// key returns a deterministic base64 key per id.
func key(id string) string {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i*29+3) ^ id[i%len(id)]
	}
	return base64.StdEncoding.EncodeToString(k)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// testBundle is a test database, a sandbox institution that knows the link
// server's redirect URI, and the environment that configures run.
type testBundle struct {
	env     map[string]string
	dbURL   string
	sandbox *sandbox.Running
	public  string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	addr := freeAddr(t)
	public := "http://" + addr
	sb, err := sandbox.Start("127.0.0.1:0", sandbox.Options{
		Bank:    bank.Config{Seed: 2, Users: 2, HistoryDays: 10, FutureDays: 1},
		Clients: []authserver.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{public + linkserver.CallbackPath}}},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sb.Close(ctx)
	})
	institutions, err := json.Marshal([]map[string]string{{
		"slug": "sandbox", "name": "Sandbox Community Bank", "base_url": sb.APIBaseURL(),
		"client_id": clientID, "client_secret_env": "SANDBOX_CLIENT_SECRET",
	}})
	require.NoError(t, err)
	dbURL := testdb.NewURL(t)
	return &testBundle{
		dbURL:   dbURL,
		sandbox: sb,
		public:  public,
		env: map[string]string{
			"PFMSYNC_DATABASE_URL":       dbURL,
			"PFMSYNC_LOG_FORMAT":         "json",
			"PFMSYNC_LOG_LEVEL":          "debug",
			"PFMSYNC_INSTITUTIONS":       string(institutions),
			"SANDBOX_CLIENT_SECRET":      clientSecret,
			"PFMSYNC_TOKEN_KEYS":         "v1:" + key("v1"),
			"PFMSYNC_APP_KEY":            appKey,
			"PFMSYNC_LINK_ADDR":          addr,
			"PFMSYNC_PUBLIC_URL":         public,
			"PFMSYNC_RETURN_URLS":        "https://app.example.com/",
			"PFMSYNC_CONSENT_TTL":        "5m",
			"PFMSYNC_DATABASE_MAX_CONNS": "4",
		},
	}
}

func (b *testBundle) getenv(k string) string { return b.env[k] }

// running is one run of the server.
type running struct {
	cancel context.CancelFunc
	done   chan error
	stdout *lockedBuffer
	stderr *lockedBuffer
}

// serve starts run and waits until it listens.
func (b *testBundle) serve(t *testing.T) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	go func() { r.done <- run(ctx, nil, b.getenv, r.stdout, r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("run did not return after cancellation")
		}
	})
	listening := regexp.MustCompile(`link server listening on http://127\.0\.0\.1:\d+`)
	require.Eventually(t, func() bool {
		select {
		case err := <-r.done:
			t.Fatalf("run stopped: %v\n%s", err, r.stderr.String())
		default:
		}
		return listening.MatchString(r.stdout.String())
	}, 30*time.Second, 20*time.Millisecond)
	return r
}

// stop cancels run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancellation")
		return nil
	}
}

// noFollow does not follow redirects and keeps cookies, as a browser does
// (the consent's browser binding needs them).
var noFollow = &http.Client{
	Jar:           newJar(),
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, raw string) (*http.Response, string) {
	t.Helper()
	resp, err := noFollow.Get(raw)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func linkToken(t *testing.T, user string) string {
	t.Helper()
	tok, err := linkserver.SignLinkToken([]byte(appKey), linkserver.LinkClaims{
		Audience: linkserver.AudienceLink, AppUser: user, Expiry: time.Now().Add(5 * time.Minute),
	})
	require.NoError(t, err)
	return tok
}

// link connects app user user as bank user 1 through the running server,
// using the sandbox's form automation path.
func (b *testBundle) link(t *testing.T, user string) {
	t.Helper()
	resp, _ := get(t, b.public+"/link/start?"+url.Values{"token": {linkToken(t, user)}, "institution": {"sandbox"}}.Encode())
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	authURL, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	form := authURL.Query()
	form.Set("username", sandbox.Username(1))
	form.Set("password", sandbox.DemoPassword)
	form.Set("action", "allow")
	for _, s := range strings.Fields(form.Get("scope")) {
		form.Add("granted_scope", s)
	}
	authURL.RawQuery = ""
	post, err := noFollow.PostForm(authURL.String(), form)
	require.NoError(t, err)
	post.Body.Close()
	require.Equal(t, http.StatusSeeOther, post.StatusCode)
	cb, body := get(t, post.Header.Get("Location"))
	require.Equal(t, http.StatusSeeOther, cb.StatusCode, body)
	done, body := get(t, b.public+cb.Header.Get("Location"))
	require.Equal(t, http.StatusOK, done.StatusCode, body)
	require.Contains(t, body, `id="linked"`)
}

func (b *testBundle) pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), b.dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.serve(t)

	resp, body := get(t, b.public+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok\n", body)
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	resp, body = get(t, b.public+"/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ready\n", body)

	resp, body = get(t, b.public+"/link?token="+url.QueryEscape(linkToken(t, "run-user")))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, "Sandbox Community Bank")
	require.Contains(t, body, `id="connect-sandbox"`)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	resp, _ = get(t, b.public+"/link")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The whole flow works through the wired server.
	b.link(t, "run-user")
	var links, jobs int
	require.NoError(t, b.pool(t).QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM links WHERE app_user_ref = 'run-user'),
		(SELECT count(*) FROM river_job WHERE kind = 'sync_link')`).Scan(&links, &jobs))
	require.Equal(t, 1, links)
	require.Equal(t, 1, jobs)

	require.NoError(t, r.stop(t))
	logs := r.stderr.String()
	require.Contains(t, logs, "link server stopped")
	require.Contains(t, logs, `"msg":"starting"`)
	require.Contains(t, logs, `"token_keys":"[redacted]"`)
	for _, secret := range []string{appKey, clientSecret, key("v1")} {
		require.NotContains(t, logs, secret)
		require.NotContains(t, r.stdout.String(), secret)
	}
	_, err := http.Get(b.public + "/healthz")
	require.Error(t, err, "the listener is closed")
}

func TestRunStartupFailures(t *testing.T) {
	t.Parallel()
	badKey := "v1:" + base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	keyFile := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(keyFile, []byte("# ring\nv1:not-base64!!\n"), 0o600))

	for name, tc := range map[string]struct {
		change map[string]string
		want   []string
		secret string
	}{
		"NoTokenKeys":       {map[string]string{"PFMSYNC_TOKEN_KEYS": ""}, []string{"PFMSYNC_TOKEN_KEYS", "PFMSYNC_TOKEN_KEYS_FILE"}, ""},
		"ShortTokenKey":     {map[string]string{"PFMSYNC_TOKEN_KEYS": badKey}, []string{"PFMSYNC_TOKEN_KEYS", "decodes to 16 bytes"}, badKey[3:]},
		"MalformedTokenKey": {map[string]string{"PFMSYNC_TOKEN_KEYS": "v2:" + key("v2") + ",garbage"}, []string{"PFMSYNC_TOKEN_KEYS", "entry 2"}, key("v2")},
		"MalformedKeyFile":  {map[string]string{"PFMSYNC_TOKEN_KEYS": "", "PFMSYNC_TOKEN_KEYS_FILE": keyFile}, []string{"PFMSYNC_TOKEN_KEYS_FILE", "not valid base64"}, "not-base64!!"},
		"NoInstitutions":    {map[string]string{"PFMSYNC_INSTITUTIONS": ""}, []string{"no institutions configured", "PFMSYNC_INSTITUTIONS"}, ""},
		"NoAppKey":          {map[string]string{"PFMSYNC_APP_KEY": ""}, []string{"PFMSYNC_APP_KEY is required"}, ""},
		"ShortAppKey":       {map[string]string{"PFMSYNC_APP_KEY": "short-app-key"}, []string{"PFMSYNC_APP_KEY is too short"}, "short-app-key"},
		"NoDatabase":        {map[string]string{"PFMSYNC_DATABASE_URL": ""}, []string{"PFMSYNC_DATABASE_URL"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				"PFMSYNC_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
				"PFMSYNC_INSTITUTIONS": `[{"slug":"bank","base_url":"https://bank.example/a/consumer/api/v0","client_id":"c","client_secret_env":"SECRET"}]`,
				"SECRET":               "s",
				"PFMSYNC_TOKEN_KEYS":   "v1:" + key("v1"),
				"PFMSYNC_APP_KEY":      appKey,
			}
			for k, v := range tc.change {
				env[k] = v
			}
			var stdout, stderr lockedBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, nil, func(k string) string { return env[k] }, &stdout, &stderr)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			if tc.secret != "" {
				require.NotContains(t, err.Error(), tc.secret)
				require.NotContains(t, stderr.String(), tc.secret)
			}
			require.NotContains(t, stdout.String(), "listening")
		})
	}
}

func TestRunRefusesDirtySchema(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.pool(t).Exec(context.Background(), `UPDATE schema_migrations SET dirty = true`)
	require.NoError(t, err)
	var stdout, stderr lockedBuffer
	err = run(context.Background(), nil, b.getenv, &stdout, &stderr)
	require.ErrorContains(t, err, "dirty")
	require.ErrorContains(t, err, "repair the schema")
}

func TestRunResealTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	pool := b.pool(t)

	// Link under ring {v1}.
	r := b.serve(t)
	b.link(t, "rotating-user")
	require.NoError(t, r.stop(t))
	var linkID, keyID string
	var sealed []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT link_id::text, key_id, sealed FROM link_tokens`).Scan(&linkID, &keyID, &sealed))
	require.Equal(t, "v1", keyID)
	v1, err := tokenseal.ParseKeyRing("v1:" + key("v1"))
	require.NoError(t, err)
	refreshToken, err := linktoken.Open(ctx, tokenseal.New(v1), pfm.SealedToken{LinkID: linkID, Sealed: sealed})
	require.NoError(t, err)

	// Rotate: v2 becomes current, v1 stays to open old tokens.
	b.env["PFMSYNC_TOKEN_KEYS"] = "v2:" + key("v2") + ",v1:" + key("v1")
	var stdout, stderr lockedBuffer
	require.NoError(t, run(ctx, []string{"reseal-tokens", "-batch", "1"}, b.getenv, &stdout, &stderr))
	require.Contains(t, stdout.String(), "re-sealed 1 tokens under key v2; 0 changed meanwhile (already current); 0 could not be opened")
	require.NoError(t, pool.QueryRow(ctx, `SELECT key_id, sealed FROM link_tokens WHERE link_id = $1`, linkID).Scan(&keyID, &sealed))
	require.Equal(t, "v2", keyID)

	stdout = lockedBuffer{}
	require.NoError(t, run(ctx, []string{"reseal-tokens"}, b.getenv, &stdout, &stderr))
	require.Contains(t, stdout.String(), "re-sealed 0 tokens")

	// v2 alone opens it now, to the same token, which the bank accepts.
	v2, err := tokenseal.ParseKeyRing("v2:" + key("v2"))
	require.NoError(t, err)
	got, err := linktoken.Open(ctx, tokenseal.New(v2), pfm.SealedToken{LinkID: linkID, Sealed: sealed})
	require.NoError(t, err)
	require.Equal(t, refreshToken, got)
	client, err := consumerapi.New(ctx, consumerapi.Institution{
		Slug: "sandbox", BaseURL: b.sandbox.APIBaseURL(), ClientID: clientID,
		ClientSecret: consumerapi.Secret(clientSecret), RedirectURL: b.public + linkserver.CallbackPath,
	})
	require.NoError(t, err)
	_, err = client.Refresh(ctx, consumerapi.Secret(got))
	require.NoError(t, err)

	// The server starts with the ring {v2} alone.
	b.env["PFMSYNC_TOKEN_KEYS"] = "v2:" + key("v2")
	require.NoError(t, b.serve(t).stop(t))

	require.ErrorContains(t, run(ctx, []string{"reseal-tokens", "-batch", "0"}, b.getenv, &stdout, &stderr), "-batch")
	require.ErrorContains(t, run(ctx, []string{"frobnicate"}, b.getenv, &stdout, &stderr), `unknown command "frobnicate"`)
}

func newJar() http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return jar
}

func TestRunRefusesATokenKeyWhoseBytesChanged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	// The first start stores v1's canary; the same key starts again.
	require.NoError(t, b.serve(t).stop(t))
	require.NoError(t, b.serve(t).stop(t))

	// v1 with other bytes is refused before anything is served.
	b.env["PFMSYNC_TOKEN_KEYS"] = "v1:" + key("not-v1")
	var stdout, stderr lockedBuffer
	err := run(ctx, nil, b.getenv, &stdout, &stderr)
	require.Error(t, err)
	require.Contains(t, err.Error(), "PFMSYNC_TOKEN_KEYS")
	require.Contains(t, err.Error(), `token key "v1"`)
	require.NotContains(t, stdout.String(), "listening")
	for _, secret := range []string{key("v1"), key("not-v1")} {
		require.NotContains(t, err.Error(), secret)
		require.NotContains(t, stderr.String(), secret)
	}

	// A rotation adds v2's canary and keeps v1 opening.
	b.env["PFMSYNC_TOKEN_KEYS"] = "v2:" + key("v2") + ",v1:" + key("v1")
	require.NoError(t, b.serve(t).stop(t))
	var ids []string
	rows, err := b.pool(t).Query(ctx, `SELECT key_id FROM token_key_canaries ORDER BY key_id`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"v1", "v2"}, ids)
}
