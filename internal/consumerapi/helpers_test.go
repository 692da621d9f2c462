package consumerapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testsupport"
)

const (
	apiPrefix    = "/a/consumer/api/v0"
	testClientID = "pfmsync-test-client"
	testSecret   = Secret("client-secret-must-never-leak")
	testUserID   = "9c0cb0a6-7a4d-4b8f-9a49-3f1c5b2f8e11"
	testAccount  = "0b6e0cba-5a34-4d3a-8d6f-2a1b7c9e4f01"
	testAccess   = Secret("access-token-must-never-leak")
)

// fixture reads testdata/name.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// signingKey is a key the fake institution signs ID tokens with.
type signingKey struct {
	priv crypto.Signer
	kid  string
	alg  string
}

// newES256Key generates a P-256 key at test time (no private key is
// committed).
func newES256Key(t testing.TB, kid string) signingKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return signingKey{priv: priv, kid: kid, alg: oidc.ES256}
}

// fakeBank is a minimal Banno institution served by httptest: discovery,
// JWKS and whatever handlers a test registers. It counts hits per route
// pattern.
type fakeBank struct {
	t      testing.TB
	srv    *httptest.Server
	mux    *http.ServeMux
	issuer string
	base   string

	mu        sync.Mutex
	keys      []signingKey
	discovery []byte
	hits      map[string]int
	queries   map[string][]string
	headers   []http.Header
}

func newFakeBank(t testing.TB) *fakeBank {
	t.Helper()
	b := &fakeBank{
		t:       t,
		mux:     http.NewServeMux(),
		hits:    map[string]int{},
		queries: map[string][]string{},
		keys:    []signingKey{newES256Key(t, "es256-1")},
	}
	b.srv = httptest.NewServer(b.mux)
	t.Cleanup(b.srv.Close)
	b.base = b.srv.URL + apiPrefix
	b.issuer = b.base + "/oidc"
	b.discovery = bytes.ReplaceAll(fixture(t, "discovery.json"), []byte("ISSUER"), []byte(b.issuer))
	b.handle("GET "+apiPrefix+"/oidc/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		doc := b.discovery
		b.mu.Unlock()
		writeJSON(w, http.StatusOK, doc)
	})
	b.handle("GET "+apiPrefix+"/oidc/jwks", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range b.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
		}
		b.mu.Unlock()
		body, err := json.Marshal(set)
		require.NoError(t, err)
		writeJSON(w, http.StatusOK, body)
	})
	return b
}

// handle registers h for pattern and counts its hits. Paths are given
// without the API prefix when they start with "/users".
func (b *fakeBank) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	if strings.HasPrefix(path, "/users") {
		path = apiPrefix + path
	}
	key := method + " " + path
	b.mux.HandleFunc(key, func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits[key]++
		b.queries[key] = append(b.queries[key], r.URL.RawQuery)
		b.headers = append(b.headers, r.Header.Clone())
		b.mu.Unlock()
		h(w, r)
	})
}

// hitCount returns how many requests pattern received.
func (b *fakeBank) hitCount(pattern string) int {
	method, path, _ := strings.Cut(pattern, " ")
	if strings.HasPrefix(path, "/users") {
		path = apiPrefix + path
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[method+" "+path]
}

// queriesOf returns the raw queries pattern received, in order.
func (b *fakeBank) queriesOf(pattern string) []string {
	method, path, _ := strings.Cut(pattern, " ")
	if strings.HasPrefix(path, "/users") {
		path = apiPrefix + path
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.queries[method+" "+path]...)
}

// totalHits counts every request the bank received.
func (b *fakeBank) totalHits() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, v := range b.hits {
		n += v
	}
	return n
}

// setDiscovery replaces a field of the discovery document.
func (b *fakeBank) setDiscovery(field string, value any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var doc map[string]any
	require.NoError(b.t, json.Unmarshal(b.discovery, &doc))
	if value == nil {
		delete(doc, field)
	} else {
		doc[field] = value
	}
	out, err := json.Marshal(doc)
	require.NoError(b.t, err)
	b.discovery = out
}

// addKey publishes another signing key.
func (b *fakeBank) addKey(k signingKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keys = append(b.keys, k)
}

// claims returns a valid claim set for the test client.
func (b *fakeBank) claims(nonce string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":              b.issuer,
		"aud":              testClientID,
		"sub":              testUserID,
		"iat":              now.Unix(),
		"exp":              now.Add(time.Hour).Unix(),
		"sid":              "session-1",
		"name":             "Jordan Reyes",
		"email":            "jordan.reyes@example.com",
		ClaimInstitutionID: "4b1f3a9e-2c6d-4e8a-b0f7-5d9c1e2a3b4c",
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

// sign signs claims with key (default: the bank's first key).
func (b *fakeBank) sign(claims map[string]any, key ...signingKey) string {
	b.mu.Lock()
	k := b.keys[0]
	b.mu.Unlock()
	if len(key) > 0 {
		k = key[0]
	}
	raw, err := json.Marshal(claims)
	require.NoError(b.t, err)
	return oidctest.SignIDToken(k.priv, k.kid, k.alg, string(raw))
}

// institution returns a configuration pointing at the bank with fast
// retries.
func (b *fakeBank) institution() Institution {
	return Institution{
		Slug:              "garden-test",
		BaseURL:           b.base,
		ClientID:          testClientID,
		ClientSecret:      testSecret,
		RedirectURL:       "http://127.0.0.1:8080/callback",
		RequestsPerSecond: 10000,
		Burst:             10000,
		HTTPTimeout:       5 * time.Second,
		Retry:             RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Second},
		TaskPollInterval:  5 * time.Millisecond,
	}
}

// testClient bundles a client with what tests observe.
type testClient struct {
	*Client
	logs   *syncBuffer
	mu     sync.Mutex
	sleeps []time.Duration
}

// delays returns the sleeps the client asked for.
func (tc *testClient) delays() []time.Duration {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]time.Duration(nil), tc.sleeps...)
}

// newClient builds a client for the bank. Sleeps are recorded, not
// slept, unless realSleep is set by the modifier.
func (b *fakeBank) newClient(t testing.TB, modify ...func(*Institution)) *testClient {
	t.Helper()
	inst := b.institution()
	for _, m := range modify {
		m(&inst)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(context.Background(), inst, WithLogger(logger), WithVersion("1.2.3-test"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	tc := &testClient{Client: c, logs: logs}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		tc.mu.Lock()
		tc.sleeps = append(tc.sleeps, d)
		tc.mu.Unlock()
		return ctx.Err()
	}
	return tc
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = testsupport.SyncBuffer

// writeJSON writes a JSON body with an exact Content-Length.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeFixture serves a testdata file.
func writeFixture(t testing.TB, w http.ResponseWriter, status int, name string) {
	writeJSON(w, status, fixture(t, name))
}

// hijackWrite writes raw bytes on the connection and closes it, for
// responses net/http would refuse to produce (short bodies, mid-body
// resets).
func hijackWrite(t testing.TB, w http.ResponseWriter, raw string) {
	hj, ok := w.(http.Hijacker)
	require.True(t, ok)
	conn, buf, err := hj.Hijack()
	require.NoError(t, err)
	_, _ = buf.WriteString(raw)
	_ = buf.Flush()
	_ = conn.Close()
}

// transactionsBody builds a page of n synthetic transactions starting at
// row offset, from the first transaction of the page fixture.
func transactionsBody(t testing.TB, offset, n, limit int) []byte {
	t.Helper()
	var page struct {
		Transactions []map[string]any `json:"transactions"`
	}
	require.NoError(t, json.Unmarshal(fixture(t, "transactions_page.json"), &page))
	tmpl := page.Transactions[0]
	rows := make([]map[string]any, 0, n)
	for i := range n {
		row := make(map[string]any, len(tmpl))
		for k, v := range tmpl {
			row[k] = v
		}
		idx := offset + i
		row["id"] = fmt.Sprintf("tx-%06d", idx)
		row["amount"] = fmt.Sprintf("-%d.%03d", idx/100, idx%1000)
		row["sequence"] = idx
		rows = append(rows, row)
	}
	body, err := json.Marshal(map[string]any{
		"transactions":              rows,
		"inactivatedTransactionIds": []string{},
		"offset":                    offset,
		"limit":                     limit,
		"account":                   map[string]string{"accountType": "Deposit", "accountSubType": "Checking"},
	})
	require.NoError(t, err)
	return body
}

// drain discards a request body.
func drain(r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }
