package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// seedUser stores a link, a deposit account of 100.00 and spending for
// appUser in December 2025.
func seedUser(t *testing.T, st *store.Store, appUser string) {
	t.Helper()
	ctx := context.Background()
	in, err := st.UpsertInstitution(ctx, pfm.Institution{
		Slug: "garden", DisplayName: "Garden Financial", ClientID: "client-1",
		IssuerURL: "https://bank.example/a/consumer/api/v0/oidc", APIBaseURL: "https://bank.example/a/consumer/api/v0",
	})
	require.NoError(t, err)
	link, _, err := st.UpsertLinkConsent(ctx, store.LinkConsent{InstitutionID: in.ID, AppUserRef: appUser, BannoUserID: "banno-" + appUser, NextSyncAt: time.Now()})
	require.NoError(t, err)
	balance, asOf := "100.00", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	accts, err := st.UpsertAccounts(ctx, link.ID, []store.AccountInput{{
		ProviderID: "acc-1", Name: "Checking", Type: "Deposit", Balance: &balance, BalanceAsOf: &asOf, Raw: []byte(`{"id": "acc-1"}`),
	}})
	require.NoError(t, err)
	scope := store.FeedScope{AppUserRef: appUser, LinkID: link.ID, AccountID: accts["acc-1"].ID}
	day := time.Date(2025, 12, 10, 12, 0, 0, 0, time.UTC)
	var txns []store.TransactionInput
	for i, s := range [][2]string{{"-9.50", "diningout"}, {"-120.00", "groceries"}, {"-30.25", "groceries"}, {"-100.00", "home"}} {
		txns = append(txns, store.TransactionInput{
			ProviderID: fmt.Sprint("t", i), Amount: s[0], SignedAmount: s[0], PostedAt: day, Category: s[1],
			Description: "Corner Cafe", Raw: []byte(fmt.Sprintf(`{"id": "t%d"}`, i)),
		})
	}
	require.NoError(t, st.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.UpsertTransactions(ctx, scope, txns)
		return err
	}))
}

func TestSummary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	seedUser(t, store.New(pool, nil), "u1")

	var out strings.Builder
	require.NoError(t, printSummary(ctx, &out, pool, []string{"u1", "nobody"}, time.Date(2026, 1, 3, 9, 0, 0, 0, time.UTC)))
	got := out.String()
	require.Contains(t, got, "data runs to Saturday 3 January 2026")
	require.Regexp(t, `Checking +100\.00`, got)
	require.Contains(t, got, "spending in December 2025 by category:")
	// Largest first, numerically (120+30.25 > 100 > 9.50), with display names.
	require.Regexp(t, `(?s)Groceries +150\.25 +2 transactions\n +Home +100\.00 +1 transaction\n +Dining out +9\.50 +1 transaction\n`, got)
	require.Contains(t, got, "spending in January 2026 so far by category:\n  none yet")
	require.Contains(t, got, "== nobody\n")
	require.Contains(t, got, "net worth: no balances yet")
}

func TestDatabaseLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := testdb.AdminURL()
	name := fmt.Sprintf("pfmsync_test_demo_%d", time.Now().UnixNano())
	t.Cleanup(func() { _, _ = dropDatabase(context.Background(), admin, name) })

	created, err := ensureDatabase(ctx, admin, name)
	require.NoError(t, err)
	require.True(t, created)
	created, err = ensureDatabase(ctx, admin, name)
	require.NoError(t, err)
	require.False(t, created, "an existing database is reused")

	dbURL, err := withDatabase(admin, name)
	require.NoError(t, err)
	n, err := linkCount(ctx, dbURL)
	require.NoError(t, err)
	require.Zero(t, n, "a database not yet migrated has no links")

	// A held connection does not stop the reset.
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	dropped, err := dropDatabase(ctx, admin, name)
	require.NoError(t, err)
	require.True(t, dropped)
	dropped, err = dropDatabase(ctx, admin, name)
	require.NoError(t, err)
	require.False(t, dropped)

	_, err = ensureDatabase(ctx, "postgres://127.0.0.1:1/postgres?connect_timeout=2", "x")
	require.Error(t, err)
}

func TestKeysMissingButLinksPresent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	o := options{state: t.TempDir(), database: "pfmsync_demo"}

	// No links yet: a missing key ring is simply created later.
	require.NoError(t, checkKeysMatchDatabase(ctx, o, dbURL))

	seedUser(t, store.New(pool, nil), "u1")
	err = checkKeysMatchDatabase(ctx, o, dbURL)
	require.ErrorContains(t, err, "holds 1 links")
	require.ErrorContains(t, err, "RESET=1")

	_, _, err = demoSecrets(o.state)
	require.NoError(t, err)
	require.NoError(t, checkKeysMatchDatabase(ctx, o, dbURL), "keys present")
}

func TestDashboardRoleReadsReportingOnly(t *testing.T) {
	// Not parallel: the role belongs to the whole cluster.
	ctx := context.Background()
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	seedUser(t, store.New(pool, nil), "u1")
	cfg, err := pgx.ParseConfig(dbURL)
	require.NoError(t, err)
	name := cfg.Database

	password, err := dashboardPassword(t.TempDir())
	require.NoError(t, err)
	require.Len(t, password, 32)
	require.NoError(t, ensureDashboardRole(ctx, testdb.AdminURL(), name, password))
	require.NoError(t, ensureDashboardRole(ctx, testdb.AdminURL(), name, password), "idempotent")

	readerURL, err := asRole(dbURL, dashboardRole, password)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, readerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var user, jit string
	var accounts int
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_user, current_setting('jit')`).Scan(&user, &jit))
	require.Equal(t, dashboardRole, user)
	require.Equal(t, "off", jit)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM reporting.accounts`).Scan(&accounts))
	require.Equal(t, 1, accounts)
	_, err = conn.Exec(ctx, `SELECT count(*) FROM link_tokens`)
	require.ErrorContains(t, err, "permission denied")
}

func TestDashboardPasswordPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := dashboardPassword(dir)
	require.NoError(t, err)
	b, err := dashboardPassword(dir)
	require.NoError(t, err)
	require.Equal(t, a, b)
	info, err := os.Stat(filepath.Join(dir, passwordFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	require.Equal(t, `'it''s'`, quoteLiteral("it's"))
}
