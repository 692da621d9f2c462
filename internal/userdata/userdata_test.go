package userdata_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/userdata"
)

// testBundle is a sandbox, a database and two synced app users.
type testBundle struct {
	*synctest.Env
	a, b pfm.Link
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) {
		o.Bank.Users, o.Bank.HistoryDays, o.Bank.FutureDays = 3, 60, 5
	}})
	ctx := context.Background()
	syncer := jobs.NewSyncer(jobs.SyncerOptions{
		Logger: synctest.TestLogger(t), Store: env.Store, Sealer: env.Sealer,
		Institutions: []jobs.Institution{{Slug: synctest.InstitutionSlug, Client: env.Client}},
	})
	inserter, err := river.NewClient(riverpgxv5.New(env.Pool), &river.Config{})
	require.NoError(t, err)
	b := &testBundle{Env: env, a: env.Consent(t, 1), b: env.Consent(t, 2)}
	for _, l := range []pfm.Link{b.a, b.b} {
		require.NoError(t, syncer.Sync(ctx, jobs.SyncArgs{LinkID: l.ID, Trigger: jobs.TriggerLink}, 0, 1))
		// A queued sync and a consent request in progress, as in production.
		_, err := inserter.Insert(ctx, jobs.SyncArgs{LinkID: l.ID, Trigger: jobs.TriggerManual}, nil)
		require.NoError(t, err)
		_, err = env.Pool.Exec(ctx, `
			INSERT INTO consent_requests (state_hash, nonce, sealed_verifier, institution_id, app_user_ref, link_id, expires_at)
			VALUES (sha256($1::text::bytea), 'nonce-'||$1, '\x00', $2, $3, $1::uuid, now() + interval '10 minutes')`,
			l.ID, env.Institution.ID, l.AppUserRef)
		require.NoError(t, err, "insert consent request")
		_, err = env.Pool.Exec(ctx, `INSERT INTO transaction_change_horizons (app_user_ref, horizon_seq) VALUES ($1, 0)`, l.AppUserRef)
		require.NoError(t, err)
		// Events of the link, one already behind the retention horizon.
		for _, typ := range []string{"link.created", "sync.completed"} {
			require.NoError(t, env.Store.Transact(ctx, func(tx *store.Store) error {
				_, err := tx.InsertEvent(ctx, store.EventInput{AppUserRef: l.AppUserRef, LinkID: l.ID, Type: typ,
					Payload: []byte(`{"note":"of ` + l.ID + `"}`)})
				return err
			}))
		}
		_, err = env.Pool.Exec(ctx, `INSERT INTO event_horizons (app_user_ref, horizon_seq) VALUES ($1, 0)`, l.AppUserRef)
		require.NoError(t, err)
	}
	return b
}

// needles are the strings that identify a link's user in any row: the app
// user reference, the bank's user id, the link id and the account ids.
func (b *testBundle) needles(t *testing.T, l pfm.Link) []string {
	t.Helper()
	rows, err := b.Pool.Query(context.Background(), `SELECT id::text FROM accounts WHERE link_id = $1`, l.ID)
	require.NoError(t, err)
	accounts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, accounts)
	return append([]string{l.AppUserRef, l.BannoUserID, l.ID}, accounts...)
}

// mentions scans every table and view of the public and reporting schemas
// and counts, per relation, the rows whose text holds any needle.
func (b *testBundle) mentions(t *testing.T, needles []string) map[string]int {
	t.Helper()
	ctx := context.Background()
	rows, err := b.Pool.Query(ctx, `
		SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
		WHERE table_schema IN ('public', 'reporting') ORDER BY 1`)
	require.NoError(t, err)
	rels, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Greater(t, len(rels), 20, "every table and view is scanned")
	out := map[string]int{}
	for _, rel := range rels {
		var n int
		require.NoError(t, b.Pool.QueryRow(ctx, `SELECT count(*) FROM `+rel+` r
			WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) n WHERE strpos(r::text, n) > 0)`, needles).Scan(&n), rel)
		if n > 0 {
			out[rel] = n
		}
	}
	return out
}

func (b *testBundle) count(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, b.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestEraseAppUserLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	aNeedles, bNeedles := b.needles(t, b.a), b.needles(t, b.b)
	before := b.mentions(t, aNeedles)
	for _, rel := range []string{"public.links", "public.link_tokens", "public.accounts", "public.transactions", "public.balance_snapshots",
		"public.sync_state", "public.sync_runs", "public.transaction_changes", "public.transaction_change_pages", "public.consent_requests", "public.river_job",
		"public.transaction_change_horizons", "public.events", "public.event_horizons", "reporting.events", "reporting.event_horizons",
		"reporting.transactions", "reporting.accounts", "reporting.link_status"} {
		require.Positive(t, before[rel], "the fixture has %s rows of the user", rel)
	}
	others := b.mentions(t, bNeedles)
	txns := b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1`, b.a.ID)
	changePages := b.count(t, `SELECT count(*) FROM transaction_change_pages WHERE link_id = $1`, b.a.ID)
	row, err := b.Store.LinkToken(ctx, b.a.ID)
	require.NoError(t, err)
	refresh, err := linktoken.Open(ctx, b.Sealer, row)
	require.NoError(t, err)

	eraser := &userdata.Eraser{Store: b.Store, Sealer: b.Sealer, Clients: map[string]*consumerapi.Client{synctest.InstitutionSlug: b.Client}}
	er, err := eraser.Erase(ctx, b.a.AppUserRef)
	require.NoError(t, err)
	require.Equal(t, 1, er.Links)
	require.Equal(t, []userdata.Revocation{{LinkID: b.a.ID, Institution: synctest.InstitutionSlug, Outcome: userdata.Revoked}}, er.Revocations)
	deleted := map[string]int64{}
	for _, c := range er.Deleted {
		deleted[c.Table] = c.Rows
	}
	require.Equal(t, store.ErasureTables(), tables(er.Deleted))
	require.EqualValues(t, 1, deleted["links"])
	require.EqualValues(t, 1, deleted["link_tokens"])
	require.Equal(t, txns, deleted["transactions"])
	require.Equal(t, changePages, deleted["transaction_change_pages"])
	require.EqualValues(t, 1, deleted["river_job"])
	require.EqualValues(t, 1, deleted["consent_requests"])
	require.EqualValues(t, 1, deleted["sync_runs"])
	require.EqualValues(t, 2, deleted["events"])
	require.EqualValues(t, 1, deleted["event_horizons"])

	require.Empty(t, b.mentions(t, aNeedles), "nothing of the erased user remains in any table or view")
	require.Equal(t, others, b.mentions(t, bNeedles), "the other user is untouched")

	// The grant is revoked at the bank: its refresh token no longer works.
	_, err = b.Client.Refresh(ctx, refresh)
	require.Error(t, err)
	require.Equal(t, pfm.ClassConsentRevoked, jobs.ErrorClassOf(err))
	// Erasing again finds nothing and succeeds.
	again, err := eraser.Erase(ctx, b.a.AppUserRef)
	require.NoError(t, err)
	require.Zero(t, again.Links)
	require.Zero(t, again.Rows())
}

func TestEraseReportsAFailedRevocationAndErasesAnyway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// No client for the institution: revocation cannot happen.
	er, err := (&userdata.Eraser{Store: b.Store, Sealer: b.Sealer}).Erase(ctx, b.b.AppUserRef)
	require.NoError(t, err)
	require.Equal(t, userdata.RevocationFailed, er.Revocations[0].Outcome)
	require.Equal(t, pfm.ClassInstitutionNotConfigured, er.Revocations[0].ErrorClass)
	require.Empty(t, b.mentions(t, []string{b.b.AppUserRef, b.b.ID}))
	_, err = (&userdata.Eraser{Store: b.Store, Sealer: b.Sealer}).Erase(ctx, "")
	require.ErrorContains(t, err, "empty")
}

func tables(cs []store.TableCount) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Table)
	}
	return out
}

// bundle is the JSON export.
type bundle struct {
	Format     string                      `json:"format"`
	AppUserRef string                      `json:"app_user_ref"`
	ExportedAt time.Time                   `json:"exported_at"`
	Tables     map[string][]map[string]any `json:"tables"`
}

// secretsOf returns the secret values stored for a link: its refresh token
// (plain and sealed) and its consent requests' nonce and verifier.
func (b *testBundle) secretsOf(t *testing.T, l pfm.Link) []string {
	t.Helper()
	ctx := context.Background()
	row, err := b.Store.LinkToken(ctx, l.ID)
	require.NoError(t, err)
	plain, err := linktoken.Open(ctx, b.Sealer, row)
	require.NoError(t, err)
	var nonce string
	require.NoError(t, b.Pool.QueryRow(ctx, `SELECT nonce FROM consent_requests WHERE link_id = $1`, l.ID).Scan(&nonce))
	return []string{plain.Reveal(), hex.EncodeToString(row.Sealed), nonce}
}

func TestExportJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	require.NoError(t, userdata.Export(ctx, b.Store, b.a.AppUserRef, userdata.FormatJSON, now, &out))
	var got bundle
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&got), out.String()[:min(out.Len(), 500)])
	require.Equal(t, userdata.BundleVersion, got.Format)
	require.Equal(t, b.a.AppUserRef, got.AppUserRef)
	require.True(t, now.Equal(got.ExportedAt))
	var names []string
	for n := range got.Tables {
		names = append(names, n)
	}
	require.ElementsMatch(t, store.ExportTables(), names)

	want := map[string]int64{
		"links":                       1,
		"accounts":                    b.count(t, `SELECT count(*) FROM accounts WHERE link_id = $1`, b.a.ID),
		"transactions":                b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1`, b.a.ID),
		"balance_snapshots":           b.count(t, `SELECT count(*) FROM balance_snapshots s JOIN accounts a ON a.id = s.account_id WHERE a.link_id = $1`, b.a.ID),
		"transaction_changes":         b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1`, b.a.ID),
		"sync_runs":                   1,
		"consent_requests":            1,
		"link_tokens":                 1,
		"events":                      2,
		"event_horizons":              1,
		"transaction_change_horizons": 1,
	}
	for table, n := range want {
		require.Positive(t, n, table)
		require.Len(t, got.Tables[table], int(n), table)
	}
	// Exact values: amounts as the database holds them, raw JSON included.
	var amount string
	require.NoError(t, b.Pool.QueryRow(ctx, `SELECT t.amount::text FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 ORDER BY t.account_id, t.posted_at, t.id LIMIT 1`, b.a.ID).Scan(&amount))
	require.Equal(t, amount, got.Tables["transactions"][0]["amount"].(json.Number).String())
	require.NotNil(t, got.Tables["transactions"][0]["raw"])
	require.Equal(t, synctest.InstitutionSlug, got.Tables["links"][0]["institution_slug"])
	require.Equal(t, "link.created", got.Tables["events"][0]["type"])
	require.Equal(t, map[string]any{"note": "of " + b.a.ID}, got.Tables["events"][0]["payload"])
	require.NotContains(t, got.Tables["events"][0], "last_error")

	// No secret, and nothing of the other user.
	for _, table := range got.Tables {
		for _, row := range table {
			for _, col := range []string{"sealed", "sealed_verifier", "nonce", "state_hash", "browser_hash"} {
				require.NotContains(t, row, col)
			}
		}
	}
	text := out.String()
	for _, s := range append(b.secretsOf(t, b.a), b.b.AppUserRef, b.b.ID) {
		require.NotContains(t, text, s)
	}
}

func TestExportZip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, userdata.Export(ctx, b.Store, b.a.AppUserRef, userdata.FormatZip, time.Now(), &out))
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		files[f.Name], err = io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
	}
	var got bundle
	require.NoError(t, json.Unmarshal(files["export.json"], &got))
	for _, table := range store.ExportTables() {
		raw, ok := files[table+".csv"]
		require.True(t, ok, table)
		records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		require.NoError(t, err, table)
		require.Len(t, records, len(got.Tables[table])+1, "%s: a header and one record per row", table)
		for _, col := range records[0] {
			require.NotContains(t, []string{"sealed", "sealed_verifier", "nonce", "state_hash", "browser_hash"}, col, table)
		}
	}
	all := out.String()
	for _, f := range files {
		all += string(f)
	}
	for _, s := range b.secretsOf(t, b.a) {
		require.False(t, strings.Contains(all, s), "a secret in the export")
	}
	// An unknown user exports empty tables.
	out.Reset()
	require.NoError(t, userdata.Export(ctx, b.Store, "nobody", userdata.FormatJSON, time.Now(), &out))
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	for table, rows := range got.Tables {
		require.Empty(t, rows, table)
	}
	_, err = userdata.ParseFormat("xml")
	require.Error(t, err)
}
