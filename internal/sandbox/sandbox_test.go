package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testClientID     = "test-client"
	testClientSecret = "test-secret"
	testRedirect     = "http://127.0.0.1:1/callback"
)

var allScopes = []string{
	authserver.ScopeOpenID, authserver.ScopeOfflineAccess, authserver.ScopeAccounts,
	authserver.ScopeTransactions, authserver.ScopeProfile,
}

type testBundle struct {
	srv   *Running
	oauth *oauth2.Config
	http  *http.Client
}

// setup starts a sandbox on loopback with small deterministic data.
func setup(t testing.TB, mutate ...func(*Options)) *testBundle {
	t.Helper()
	opts := Options{
		Bank:    bank.Config{Start: bank.FixedStart, Seed: 42, Users: 5, HistoryDays: 120, FutureDays: 60, Density: 1},
		Clients: []authserver.Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}}},
		Faults:  Faults{TaskDelay: Duration(150 * time.Millisecond)},
	}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := Start("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Close(ctx))
	})
	return &testBundle{
		srv: srv,
		oauth: &oauth2.Config{
			ClientID:     testClientID,
			ClientSecret: testClientSecret,
			RedirectURL:  testRedirect,
			Scopes:       allScopes,
			Endpoint: oauth2.Endpoint{
				AuthURL:   srv.Issuer() + "/auth",
				TokenURL:  srv.Issuer() + "/token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		http: &http.Client{Timeout: 30 * time.Second},
	}
}

func randomString(t testing.TB) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// authorize runs the code flow for user n through the documented automation
// path (the consent form's POST) and returns the tokens.
func (b *testBundle) authorize(t testing.TB, n int, granted ...string) *oauth2.Token {
	t.Helper()
	if granted == nil {
		granted = allScopes
	}
	verifier := oauth2.GenerateVerifier()
	state := randomString(t)
	authURL, err := url.Parse(b.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", randomString(t))))
	require.NoError(t, err)
	form := authURL.Query()
	form.Set("username", Username(n))
	form.Set("password", DemoPassword)
	form.Set("action", "allow")
	for _, s := range granted {
		form.Add("granted_scope", s)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(b.srv.Issuer()+"/auth", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, state, loc.Query().Get("state"))
	require.Equal(t, b.srv.Issuer(), loc.Query().Get("iss"))
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)
	tok, err := b.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	return tok
}

// get performs a Consumer API request and returns status and body.
func (b *testBundle) get(t testing.TB, tok *oauth2.Token, method, path string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.APIBaseURL()+path, nil)
	require.NoError(t, err)
	if tok != nil {
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body, resp.Header
}

func (b *testBundle) getJSON(t testing.TB, tok *oauth2.Token, path string, into any) {
	t.Helper()
	status, body, _ := b.get(t, tok, http.MethodGet, path)
	require.Equal(t, http.StatusOK, status, string(body))
	require.NoError(t, json.Unmarshal(body, into), string(body))
}

func (b *testBundle) admin(t testing.TB, method, path string, body any, into any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		require.NoError(t, err)
		r = strings.NewReader(string(buf))
	}
	req, err := http.NewRequest(method, b.srv.URL()+AdminPrefix+path, r)
	require.NoError(t, err)
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if into != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(raw, into), string(raw))
	}
	return resp.StatusCode
}

// wireAccount and wireTxn decode what a client sees, independently of the
// bank's Go types.
type wireAccounts struct {
	Accounts []struct {
		ID          string `json:"id"`
		AccountType string `json:"accountType"`
		Balance     string `json:"balance"`
	} `json:"accounts"`
	InactivatedAccountIDs []string `json:"inactivatedAccountIds"`
}

type wireTxn struct {
	ID            string `json:"id"`
	AccountID     string `json:"accountId"`
	Amount        string `json:"amount"`
	DatePosted    string `json:"datePosted"`
	PendingStatus string `json:"pendingStatus"`
	Sequence      int    `json:"sequence"`
	LastUpdated   string `json:"lastUpdated"`
}

type wirePage struct {
	Transactions              []wireTxn `json:"transactions"`
	InactivatedTransactionIDs []string  `json:"inactivatedTransactionIds"`
	Offset                    int       `json:"offset"`
	Limit                     int       `json:"limit"`
	Account                   struct {
		AccountType string `json:"accountType"`
	} `json:"account"`
}

func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	var pretty any
	require.NoError(t, json.Unmarshal(got, &pretty))
	out, err := json.MarshalIndent(pretty, "", "  ")
	require.NoError(t, err)
	out = append(out, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, out, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(out), "golden %s differs; run go test -update if the change is intended", name)
}

// walk reads every transaction of an account through offset/limit pages.
func (b *testBundle) walk(t testing.TB, tok *oauth2.Token, user, account string, limit int, extra string) ([]wireTxn, int) {
	t.Helper()
	var all []wireTxn
	pages := 0
	for offset := 0; ; offset += limit {
		var p wirePage
		b.getJSON(t, tok, fmt.Sprintf("/users/%s/accounts/%s/transactions?offset=%d&limit=%d%s", user, account, offset, limit, extra), &p)
		pages++
		require.Equal(t, offset, p.Offset)
		require.Equal(t, limit, p.Limit)
		all = append(all, p.Transactions...)
		if len(p.Transactions) < limit {
			return all, pages
		}
	}
}
