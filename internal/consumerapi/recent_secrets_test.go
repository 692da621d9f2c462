package consumerapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomSecret returns a token-like random value of n bytes' entropy.
func randomSecret(t testing.TB, n int) Secret {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return Secret(base64.URLEncoding.EncodeToString(b))
}

// clearOf redacts s with the memory only (no per-call secrets).
func clearOf(m *recentSecrets, s string) string {
	return redactor{recent: m}.scrub(s)
}

// fragmentsOf are the 20-byte pieces of s, every 10 bytes.
func fragmentsOf(s string) []string {
	if _, rest, ok := strings.Cut(s, "."); ok {
		s = rest // a JWT's header is the same for every token
	}
	var out []string
	for i := 0; i+20 <= len(s); i += 10 {
		out = append(out, s[i:i+20])
	}
	return out
}

func TestRecentSecretsEvictOldestBeyondTheBound(t *testing.T) {
	t.Parallel()
	m := newRecentSecrets(3, time.Hour, time.Now)
	var s []Secret
	for range 5 {
		s = append(s, randomSecret(t, 24))
	}
	for _, v := range s[:3] {
		m.remember(v)
	}
	// Handling the oldest again makes it the newest.
	m.remember(s[0])
	m.remember(s[3], s[4])
	require.Equal(t, 3, m.len())

	text := "echo: " + strings.Join([]string{s[0].Reveal(), s[1].Reveal(), s[2].Reveal(), s[3].Reveal(), s[4].Reveal()}, " ")
	got := clearOf(m, text)
	require.Contains(t, got, s[1].Reveal(), "evicted: the oldest")
	require.Contains(t, got, s[2].Reveal(), "evicted: the second oldest")
	for _, v := range []Secret{s[0], s[3], s[4]} {
		require.NotContains(t, got, v.Reveal())
	}
	require.Equal(t, "echo: "+redacted+" "+s[1].Reveal()+" "+s[2].Reveal()+" "+redacted+" "+redacted, got)

	// Far beyond the bound, the memory and its index stay bounded.
	for range 1000 {
		m.remember(randomSecret(t, 24), randomSecret(t, 24)+"/+=") // the second has three forms
	}
	require.Equal(t, 3, m.len())
	require.Len(t, m.byHash, 3)
	forms := 0
	for _, list := range m.index {
		forms += len(list)
	}
	require.LessOrEqual(t, forms, 3*3)
	require.GreaterOrEqual(t, forms, 3)
}

func TestRecentSecretsExpire(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	m := newRecentSecrets(100, 24*time.Hour, clock)

	old, kept, fresh := randomSecret(t, 24), randomSecret(t, 24), randomSecret(t, 24)
	m.remember(old, kept)
	advance(20 * time.Hour)
	m.remember(kept) // handled again: its age starts over
	advance(5 * time.Hour)

	text := old.Reveal() + " " + kept.Reveal()
	require.Equal(t, old.Reveal()+" "+redacted, clearOf(m, text), "an entry past the age limit no longer matches")
	m.remember(fresh)
	require.Equal(t, 2, m.len(), "and is dropped at the next remember")
	require.Len(t, m.byHash, 2)
}

func TestRecentSecretsFindEveryFormAndOverlap(t *testing.T) {
	t.Parallel()
	m := newRecentSecrets(10, time.Hour, time.Now)
	s := Secret("abc/def+ghi=jkl/mno+pqr==")
	short := Secret("too-short")
	m.remember(s, short)
	require.Equal(t, 1, m.len(), "values shorter than the minimum are not kept")
	for _, form := range []string{s.Reveal(), url.QueryEscape(s.Reveal()), url.PathEscape(s.Reveal())} {
		require.Equal(t, "x="+redacted+";", clearOf(m, "x="+form+";"), form)
	}
	// Two secrets that overlap in the text become one redaction, and no
	// piece of either is left.
	t2 := Secret("pqr==ZZZZZZZZZZZZZZZZZZ")
	m.remember(t2)
	require.Equal(t, "<"+redacted+">", clearOf(m, "<abc/def+ghi=jkl/mno+pqr==ZZZZZZZZZZZZZZZZZZ>"))
	// A call secret inside a remembered one does not cut it.
	r := redactor{needles: []string{"ghi=jkl"}, recent: m}
	require.Equal(t, redacted, r.scrub(s.Reveal()))
	require.Equal(t, "short text", clearOf(m, "short text"))
	require.Empty(t, clearOf(m, ""))
}

func TestRecentSecretsConcurrentUse(t *testing.T) {
	t.Parallel()
	secretOf := func(g, i int) Secret { return Secret(fmt.Sprintf("secret-of-goroutine-%d-number-%d", g, i)) }
	run := func(m *recentSecrets, check bool) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					v := secretOf(g, i)
					m.remember(v)
					got := clearOf(m, "echo "+v.Reveal())
					if check {
						assert.Equal(t, "echo "+redacted, got)
					}
				}
			}()
		}
		wg.Wait()
	}
	// Room for everything: each secret is found right after it is handled.
	roomy := newRecentSecrets(8*200, time.Hour, time.Now)
	run(roomy, true)
	require.Equal(t, 8*200, roomy.len())

	// A tight bound under concurrent use: the memory and its index stay
	// consistent and bounded.
	tight := newRecentSecrets(64, time.Hour, time.Now)
	run(tight, false)
	require.Equal(t, 64, tight.len())
	require.Len(t, tight.byHash, 64)
	forms := 0
	for _, list := range tight.index {
		forms += len(list)
	}
	require.Equal(t, 64, forms, "these secrets have one form each")
	found := 0
	for g := range 8 {
		for i := range 200 {
			if clearOf(tight, secretOf(g, i).Reveal()) == redacted {
				found++
			}
		}
	}
	require.Equal(t, 64, found, "exactly the entries kept are found")
}

// TestProviderTextNeverRepeatsEarlierSecrets runs a consent (authorization
// request, callback, code exchange), a rotating refresh and a revocation,
// then a Consumer API call with another token whose error body echoes every
// secret of those earlier calls: none survives in the error or the log.
func TestProviderTextNeverRepeatsEarlierSecrets(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	var (
		mu      sync.Mutex
		earlier []string
		echoed  string
	)
	keep := func(vs ...string) {
		mu.Lock()
		defer mu.Unlock()
		earlier = append(earlier, vs...)
	}
	access1, refresh1, access2, refresh2 := randomSecret(t, 32), randomSecret(t, 32), randomSecret(t, 32), randomSecret(t, 32)
	var idToken string
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		keep(r.PostForm.Get("code"), r.PostForm.Get("code_verifier"), r.PostForm.Get("refresh_token"))
		fields := map[string]any{"access_token": access1.Reveal(), "refresh_token": refresh1.Reveal(), "id_token": idToken}
		if r.PostForm.Get("grant_type") == "refresh_token" {
			fields = map[string]any{"access_token": access2.Reveal(), "refresh_token": refresh2.Reveal()}
		}
		writeJSON(w, http.StatusOK, tokenJSON(t, fields))
	})
	bank.handle(revocationRoute, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		var parts []string
		for _, v := range earlier {
			if v != "" {
				parts = append(parts, v, url.QueryEscape(v))
			}
		}
		text := "earlier: " + strings.Join(parts, " | ")
		echoed = text
		mu.Unlock()
		body, err := json.Marshal(map[string]any{
			"error": "server_error", "error_description": text, "errorCode": text,
			"messages": []string{strings.Repeat("pad ", 60) + text},
		})
		require.NoError(t, err)
		writeJSON(w, http.StatusBadRequest, body)
	})
	c := bank.newClient(t)
	ctx := context.Background()

	req, err := c.AuthorizationRequest(ctx)
	require.NoError(t, err)
	idToken = bank.sign(bank.claims(req.Nonce))
	code := randomSecret(t, 32).Reveal()
	got, err := c.ParseCallback(ctx, url.Values{"state": {req.State}, "iss": {bank.issuer}, "code": {code}}, req.State)
	require.NoError(t, err)
	tokens, err := c.Exchange(ctx, got, req.CodeVerifier, req.Nonce)
	require.NoError(t, err)
	rotated, err := c.Refresh(ctx, tokens.RefreshToken)
	require.NoError(t, err)
	require.True(t, rotated.Rotated)
	require.NoError(t, c.Revoke(ctx, rotated.RefreshToken, HintRefreshToken))
	keep(idToken, access1.Reveal(), access2.Reveal())

	current := randomSecret(t, 32)
	_, err = c.Session(testUserID, StaticToken(current)).Accounts(ctx)
	require.Error(t, err)
	var ae *APIError
	require.True(t, errors.As(err, &ae))
	rendered := err.Error() + fmt.Sprintf(" %+v %#v", err, ae) + ae.OAuthDescription + ae.Messages + ae.ErrorCode + c.logs.String()
	require.Contains(t, rendered, redacted)

	mu.Lock()
	secrets := append([]string(nil), earlier...)
	mu.Unlock()
	kinds := map[string]bool{}
	for _, s := range secrets {
		if s != "" {
			kinds[s] = true
		}
	}
	// code, verifier, refresh 1 (presented at the refresh), ID token,
	// access 1 and access 2.
	require.Len(t, kinds, 6)
	for s := range kinds {
		for _, form := range append([]string{s, url.QueryEscape(s)}, fragmentsOf(s)...) {
			require.NotContains(t, rendered, form)
		}
	}
	require.NotContains(t, rendered, refresh2.Reveal(), "the revoked token")

	// The control: a client that never handled these secrets cannot know
	// them, so only the client's own memory made the difference.
	other := bank.newClient(t)
	_, err = other.Session(testUserID, StaticToken(current)).Accounts(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error()+OAuthErrorOf(err), "server_error")
	require.True(t, errors.As(err, &ae))
	mu.Lock()
	require.Contains(t, echoed, code)
	mu.Unlock()
	require.Contains(t, ae.OAuthDescription, code)
}

// BenchmarkRedactWithFullMemory measures redacting a provider error body of
// about 2 KB that echoes three secrets, with the client's memory full
// (maxRecentSecrets entries: ID-token-sized and opaque tokens), and reports
// the memory's heap cost per entry.
func BenchmarkRedactWithFullMemory(b *testing.B) {
	var kept []Secret
	for i := range maxRecentSecrets {
		s := randomSecret(b, 32)
		if i%4 == 0 {
			s = randomSecret(b, 600) // an ID token's length
		}
		kept = append(kept, s)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := newRecentSecrets(maxRecentSecrets, maxRecentSecretAge, time.Now)
	m.remember(kept...)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / maxRecentSecrets
	text := strings.Repeat("lorem ipsum dolor ", 50) + kept[1].Reveal() + " " + url.QueryEscape(kept[4].Reveal()) +
		strings.Repeat(" sit amet", 60) + kept[maxRecentSecrets-1].Reveal()
	r := redactor{needles: []string{"client-secret-value"}, recent: m}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if out := r.scrub(text); strings.Contains(out, kept[1].Reveal()) {
			b.Fatal("not redacted")
		}
	}
	b.StopTimer()
	b.ReportMetric(perEntry, "heap-B/entry")
	runtime.KeepAlive(m)
}
