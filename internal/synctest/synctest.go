// Package synctest is test support for syncing against the sandbox
// institution: a migrated database, a running sandbox, a Banno client for
// it, a key ring, linking a demo user the way the link server does, and the
// check that the datastore holds exactly the sandbox's ground truth.
// Production code never imports it.
package synctest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// The sandbox client every Env registers, and the institution slug.
const (
	ClientID        = "pfmsync-sync-test"
	ClientSecret    = "sync-test-secret"
	RedirectURI     = "http://127.0.0.1:1/link/callback"
	InstitutionSlug = "sandbox"
)

// Env is a database, a sandbox institution and a client for it.
type Env struct {
	DatabaseURL string
	Pool        *pgxpool.Pool
	Store       *store.Store
	Sandbox     *sandbox.Running
	Client      *consumerapi.Client
	Sealer      *tokenseal.Sealer
	// KeyRing is the sealer's key ring in PFMSYNC_TOKEN_KEYS form.
	KeyRing     string
	Institution pfm.Institution
}

// Options adjust New.
type Options struct {
	// Sandbox adjusts the sandbox (default: seed 5, 4 users, 400 days).
	Sandbox func(*sandbox.Options)
	// Institution adjusts the client's configuration.
	Institution func(*consumerapi.Institution)
	// ClientOptions are extra client options (e.g. a transport).
	ClientOptions []consumerapi.Option
}

// New starts a sandbox on loopback, gives the test its own database, and
// registers the sandbox as an institution.
func New(t *testing.T, o Options) *Env {
	t.Helper()
	return NewTB(t, o)
}

// NewTB is New for benchmarks too.
func NewTB(t testing.TB, o Options) *Env {
	t.Helper()
	ctx := context.Background()
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool, nil)

	sbOpts := sandbox.Options{
		Bank:    bank.Config{Seed: 5, Users: 4, HistoryDays: 400, FutureDays: 90, Density: 1},
		Clients: []authserver.Client{{ID: ClientID, Secret: ClientSecret, RedirectURIs: []string{RedirectURI}}},
		Faults:  sandbox.Faults{TaskDelay: sandbox.Duration(50 * time.Millisecond)},
	}
	if o.Sandbox != nil {
		o.Sandbox(&sbOpts)
	}
	sb, err := sandbox.Start("127.0.0.1:0", sbOpts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sb.Close(ctx)
	})

	inst := consumerapi.Institution{
		Slug:              InstitutionSlug,
		BaseURL:           sb.APIBaseURL(),
		ClientID:          ClientID,
		ClientSecret:      consumerapi.Secret(ClientSecret),
		RedirectURL:       RedirectURI,
		Retry:             consumerapi.RetryPolicy{MaxAttempts: 4, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxRetryAfter: 3 * time.Second},
		RequestsPerSecond: 1000,
		Burst:             1000,
	}
	if o.Institution != nil {
		o.Institution(&inst)
	}
	opts := append([]consumerapi.Option{consumerapi.WithLogger(slog.New(slog.DiscardHandler))}, o.ClientOptions...)
	client, err := consumerapi.New(ctx, inst, opts...)
	require.NoError(t, err)

	ringSpec := "k1:" + tokenseal.GenerateKey()
	ring, err := tokenseal.ParseKeyRing(ringSpec)
	require.NoError(t, err)
	stored, err := st.UpsertInstitution(ctx, pfm.Institution{
		Slug: InstitutionSlug, DisplayName: "Sandbox", IssuerURL: sb.Issuer(), APIBaseURL: sb.APIBaseURL(), ClientID: ClientID,
	})
	require.NoError(t, err)
	return &Env{DatabaseURL: dbURL, Pool: pool, Store: st, Sandbox: sb, Client: client, Sealer: tokenseal.New(ring), KeyRing: ringSpec, Institution: stored}
}

// AppUserRef is the app user reference Consent gives sandbox user n.
func AppUserRef(n int) string { return "app-user-" + sandbox.Username(n) }

// Authorize runs the code flow of client for sandbox user n through the
// sandbox's documented automation path (the consent form's POST), granting
// granted (nil: every requested scope), and returns the verified tokens and
// the authorization URL the client built.
func Authorize(t testing.TB, client *consumerapi.Client, issuer string, n int, granted ...string) (*consumerapi.Tokens, *url.URL) {
	t.Helper()
	ctx := context.Background()
	req, err := client.AuthorizationRequest(ctx)
	require.NoError(t, err)
	authURL, err := url.Parse(req.URL)
	require.NoError(t, err)
	form := authURL.Query()
	form.Set("username", sandbox.Username(n))
	form.Set("password", sandbox.DemoPassword)
	form.Set("action", "allow")
	if granted == nil {
		granted = req.Scopes
	}
	for _, s := range granted {
		form.Add("granted_scope", s)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(issuer+"/auth", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	cb, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code, err := client.ParseCallback(ctx, cb.Query(), req.State)
	require.NoError(t, err)
	tokens, err := client.Exchange(ctx, code, req.CodeVerifier, req.Nonce)
	require.NoError(t, err)
	return tokens, authURL
}

// Consent runs the consent flow for sandbox user n and stores the link the
// way the link server does: link, sealed token, one transaction.
func (b *Env) Consent(t testing.TB, n int, granted ...string) pfm.Link {
	t.Helper()
	ctx := context.Background()
	tokens, _ := Authorize(t, b.Client, b.Sandbox.Issuer(), n, granted...)

	var link pfm.Link
	require.NoError(t, b.Store.Transact(ctx, func(tx *store.Store) error {
		var err error
		link, _, err = tx.UpsertLinkConsent(ctx, store.LinkConsent{
			InstitutionID: b.Institution.ID, AppUserRef: AppUserRef(n), BannoUserID: tokens.Claims.Subject, BannoInstitutionID: tokens.Claims.InstitutionID,
			GrantedScopes: tokens.GrantedScopes, NextSyncAt: time.Now().Add(24 * time.Hour),
		})
		if err != nil {
			return err
		}
		return linktoken.Save(ctx, tx, b.Sealer, link.ID, tokens.RefreshToken)
	}))
	return link
}

// RequireMatchesTruth checks the datastore holds exactly what the sandbox
// says a perfect sync stores for user n at its current clock: the same
// accounts with the same balances, every live transaction with the same
// JSON, and no removed transaction live.
func (b *Env) RequireMatchesTruth(t *testing.T, link pfm.Link, n int) {
	t.Helper()
	ctx := context.Background()
	truth, ok := b.Sandbox.Truth(b.Sandbox.Bank().UserID(n))
	require.True(t, ok)

	type acct struct {
		Balance  string
		Inactive bool
	}
	rows, err := b.Pool.Query(ctx, `SELECT provider_account_id, coalesce(balance::text, ''), inactive_at IS NOT NULL FROM accounts WHERE link_id = $1`, link.ID)
	require.NoError(t, err)
	got := map[string]acct{}
	for rows.Next() {
		var id string
		var a acct
		require.NoError(t, rows.Scan(&id, &a.Balance, &a.Inactive))
		got[id] = a
	}
	require.NoError(t, rows.Err())
	want := map[string]acct{}
	for _, a := range truth.Accounts {
		want[a.ID] = acct{Balance: a.Balance.String()}
	}
	for _, id := range truth.InactivatedAccountIDs {
		if _, seen := got[id]; seen {
			want[id] = acct{Balance: got[id].Balance, Inactive: true}
		}
	}
	require.Equal(t, want, got, "accounts")

	wantTx := map[string]any{}
	for _, list := range truth.Transactions {
		for _, tx := range list {
			raw, err := json.Marshal(tx)
			require.NoError(t, err)
			var v any
			require.NoError(t, json.Unmarshal(raw, &v))
			wantTx[tx.ID] = v
		}
	}
	rows, err = b.Pool.Query(ctx, `
		SELECT t.provider_transaction_id, t.raw::text FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND t.removed_at IS NULL`, link.ID)
	require.NoError(t, err)
	gotTx := map[string]any{}
	for rows.Next() {
		var id, raw string
		require.NoError(t, rows.Scan(&id, &raw))
		var v any
		require.NoError(t, json.Unmarshal([]byte(raw), &v))
		_, dup := gotTx[id]
		require.False(t, dup, "transaction %s stored twice", id)
		gotTx[id] = v
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(wantTx), len(gotTx), "live transaction count")
	require.Equal(t, wantTx, gotTx, "live transactions")
}

// Count runs a query returning one integer.
func (b *Env) Count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// Dump runs a query and returns its rows as text, one line per row, for
// a failure message that shows the database's state.
func (b *Env) Dump(t testing.TB, sql string, args ...any) string {
	t.Helper()
	rows, err := b.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		return "dump: " + err.Error()
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return "dump: " + err.Error()
		}
		for i, v := range vals {
			if i > 0 {
				out.WriteString(" | ")
			}
			fmt.Fprint(&out, v)
		}
		out.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		out.WriteString("dump: " + err.Error())
	}
	return out.String()
}

// TestLogger reports warnings to the test log and fails the test on errors
// (a swallowed bookkeeping failure, say).
func TestLogger(t *testing.T) *slog.Logger {
	return slog.New(&testHandler{t: t})
}

type testHandler struct {
	t     *testing.T
	attrs []slog.Attr
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	if r.Level >= slog.LevelError {
		h.t.Errorf("logged error: %s", msg)
	} else {
		h.t.Logf("%s: %s", r.Level, msg)
	}
	return nil
}
func (h *testHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &testHandler{t: h.t, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *testHandler) WithGroup(string) slog.Handler { return h }
