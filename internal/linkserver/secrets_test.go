package linkserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// TestNoSecretInDatabaseOrLogs runs every flow, then searches a dump of
// every row of every table, and every log line, for each secret the flows
// handled: refresh, access and ID tokens, authorization codes, states, PKCE
// verifiers, the client secret, the app key and the link tokens.
func TestNoSecretInDatabaseOrLogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	var states []string
	flow := func(appUser string, n int, action string, granted []string) *response {
		authURL := b.start(t, b.sign(t, LinkClaims{Audience: AudienceLink, AppUser: appUser, ReturnURL: testReturnPrefix}))
		states = append(states, authURL.Query().Get("state"))
		return get(t, b.authorize(t, authURL, n, action, granted).String())
	}
	require.Equal(t, http.StatusSeeOther, flow("secret-user", 1, "allow", nil).status)
	require.Equal(t, http.StatusSeeOther, flow("secret-user", 2, "allow", without(consumerapi.ScopeTransactions)).status)
	require.Equal(t, http.StatusOK, flow("secret-user", 3, "deny", nil).status)
	require.Equal(t, http.StatusOK, flow("secret-user", 3, "allow", without(consumerapi.ScopeOfflineAccess)).status)
	links, _, _ := b.counts(t)
	require.Equal(t, 2, links)

	api := b.apiToken(t, "secret-user")
	var list struct{ Links []LinkView }
	decodeJSON(t, do(t, http.MethodGet, b.url+"/api/links", api, nil).body, &list)
	require.Len(t, list.Links, 2)
	first, second := list.Links[1].ID, list.Links[0].ID // newest consent first
	l, err := b.store.Link(ctx, first)
	require.NoError(t, err)
	require.Equal(t, b.sandbox.Bank().UserID(1), l.BannoUserID)

	// Re-consent one link, manual sync, unlink the other.
	var rc ReconsentResponse
	decodeJSON(t, do(t, http.MethodPost, b.url+"/api/links/"+first+"/reconsent", api, nil).body, &rc)
	start := get(t, rc.URL)
	states = append(states, start.location(t).Query().Get("state"))
	require.Equal(t, http.StatusOK, b.followDone(t, get(t, b.authorize(t, start.location(t), 1, "allow", nil).String())).status)
	do(t, http.MethodPost, b.url+"/api/links/"+first+"/sync", api, nil)
	require.Equal(t, http.StatusOK, do(t, http.MethodDelete, b.url+"/api/links/"+second, api, nil).status)
	rt, sealed := b.openToken(t, first)

	// A consent left pending: its state and sealed verifier stay stored.
	pending := b.start(t, b.linkToken(t, "secret-user"))
	pendingState := pending.Query().Get("state")
	states = append(states, pendingState)
	hash := sha256.Sum256([]byte(pendingState))
	var id string
	var sealedVerifier, verifier []byte
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT id::text, sealed_verifier FROM consent_requests WHERE state_hash = $1`, hash[:]).Scan(&id, &sealedVerifier))
	verifier, err = b.sealer.Open(ctx, sealedVerifier, tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: id})
	require.NoError(t, err)

	secrets := map[string]string{
		"client secret":         testClientSecret,
		"app key":               string(testAppKey),
		"stored refresh token":  rt,
		"pending PKCE verifier": string(verifier),
		"other client secret":   otherSecret,
		"one link token's MAC":  b.issued[0][strings.IndexByte(b.issued[0], '.')+1:],
		"re-consent link token": rc.URL[strings.Index(rc.URL, "token=")+len("token="):],
	}
	for i, s := range b.rec.recorded() {
		secrets[fmt.Sprintf("token endpoint value %d", i)] = s
	}
	for i, s := range states {
		secrets[fmt.Sprintf("state %d", i)] = s
	}
	for i, s := range b.issued {
		secrets[fmt.Sprintf("link token %d", i)] = s
	}
	require.GreaterOrEqual(t, len(b.rec.recorded()), 12, "codes, verifiers, access, ID and refresh tokens were recorded")

	dump := dumpDatabase(t, b)
	// Positive controls: the dump holds bytea as hex and the rows we expect.
	require.Contains(t, dump, hex.EncodeToString(sealed.Sealed[:16]), "sealed tokens are dumped (as hex)")
	require.Contains(t, dump, hex.EncodeToString(hash[:]), "consent requests are dumped")
	require.Contains(t, dump, `"kind":"sync_link"`, "River's jobs are dumped")

	logs := b.logs.String()
	require.Contains(t, logs, "link saved")
	require.Contains(t, logs, "app_user_hash")
	require.NotContains(t, logs, "secret-user", "app user references are logged as a keyed hash")

	for name, secret := range secrets {
		require.GreaterOrEqual(t, len(secret), 16, name)
		for _, form := range secretForms(secret) {
			require.NotContains(t, dump, form, "the database holds %s", name)
			require.NotContains(t, logs, form, "the logs hold %s", name)
		}
	}
}

// secretForms returns the ways a secret could appear: as is, hex (how
// row_to_json renders bytea), base64, and each part of a JWT.
func secretForms(s string) []string {
	forms := []string{s, hex.EncodeToString([]byte(s)), b64std.EncodeToString([]byte(s)), b64.EncodeToString([]byte(s))}
	if parts := strings.Split(s, "."); len(parts) == 3 {
		for _, p := range parts[1:] {
			if len(p) >= 16 {
				forms = append(forms, p)
			}
		}
	}
	return forms
}

// dumpDatabase renders every row of every table of the test database as
// JSON text.
func dumpDatabase(t *testing.T, b *testBundle) string {
	t.Helper()
	ctx := context.Background()
	rows, err := b.pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var st [2]string
		return st, r.Scan(&st[0], &st[1])
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(tables), 6)
	var out strings.Builder
	for _, st := range tables {
		var text string
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(string_agg(row_to_json(t)::text, E'\n'), '') FROM `+
			pgx.Identifier{st[0], st[1]}.Sanitize()+` t`).Scan(&text))
		out.WriteString(st[0] + "." + st[1] + ":\n" + text + "\n")
	}
	return out.String()
}
