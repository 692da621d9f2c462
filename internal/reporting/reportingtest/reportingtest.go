// Package reportingtest is test support for readers of the reporting
// schema: a login role that is a member of pfm_reader, the way a dashboard
// connects. Production code never imports it.
package reportingtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testdb"
)

// ReaderURL creates a login role that is a member of pfm_reader (and
// nothing else) and returns dbURL with that role as its user. The role is
// dropped when the test ends, after the test's own cleanups registered
// later (close pools opened on the URL with t.Cleanup).
func ReaderURL(t testing.TB, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "pfm_dash_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, testdb.AdminURL())
	require.NoError(t, err)
	defer admin.Close(ctx)
	ident := pgx.Identifier{role}.Sanitize()
	_, err = admin.Exec(ctx, "CREATE ROLE "+ident+" LOGIN IN ROLE pfm_reader")
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "ALTER ROLE "+ident+" SET jit = off")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, testdb.AdminURL())
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer admin.Close(ctx)
		_, _ = admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+ident); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.User = url.User(role)
	return u.String()
}
