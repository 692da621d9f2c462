package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The demo's database administration: creating and dropping its database
// and its dashboard login role. These are cluster-administration statements
// a production deployment runs by hand (docs/sql.md), so they live here and
// not in the store.

// dashboardRole is the login role the demo creates for dashboards: a member
// of pfm_reader, so it reads the reporting views and nothing else.
const dashboardRole = "pfm_dashboard"

// ensureDatabase creates the database name through the administrative
// connection adminURL unless it exists, and reports whether it created it.
func ensureDatabase(ctx context.Context, adminURL, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return false, fmt.Errorf("create database %s: %w", name, err)
	}
	return true, nil
}

// dropDatabase drops the database name, disconnecting its sessions, and
// reports whether it existed.
func dropDatabase(ctx context.Context, adminURL, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, fmt.Errorf("connect to drop database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	if !exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
		return false, fmt.Errorf("drop database %s: %w", name, err)
	}
	return true, nil
}

// linkCount counts the links stored in the database at dbURL; a database
// not yet migrated has none.
func linkCount(ctx context.Context, dbURL string) (int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect to the demo database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var migrated bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('public.links') IS NOT NULL`).Scan(&migrated); err != nil {
		return 0, fmt.Errorf("look for the links table: %w", err)
	}
	if !migrated {
		return 0, nil
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM links`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count links: %w", err)
	}
	return n, nil
}

// ensureDashboardRole creates (or updates) the dashboard login role in the
// cluster at adminURL: LOGIN with password, a member of pfm_reader (which
// the migrations create), JIT off (it makes the change-feed queries several
// times slower), and allowed to connect to database. It needs the
// migrations to have run.
func ensureDashboardRole(ctx context.Context, adminURL, database, password string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to create role %s: %w", dashboardRole, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	role := pgx.Identifier{dashboardRole}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, dashboardRole).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", dashboardRole, err)
	}
	verb := "ALTER"
	if !exists {
		verb = "CREATE"
	}
	// Utility statements take no parameters: the password is quoted as a
	// literal (it is generated base64url, but quote it properly anyway).
	if _, err := conn.Exec(ctx, verb+` ROLE `+role+` LOGIN PASSWORD `+quoteLiteral(password)); err != nil {
		return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), dashboardRole, err)
	}
	for _, stmt := range []string{
		`GRANT pfm_reader TO ` + role,
		`ALTER ROLE ` + role + ` SET jit = off`,
		`GRANT CONNECT ON DATABASE ` + pgx.Identifier{database}.Sanitize() + ` TO ` + role,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("set up role %s: %w", dashboardRole, err)
		}
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// dashboardPassword returns the dashboard role's password kept in the state
// folder, creating it on first use.
func dashboardPassword(state string) (string, error) {
	path := filepath.Join(state, passwordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 24)
		_, _ = rand.Read(raw)
		b = []byte(base64.RawURLEncoding.EncodeToString(raw))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// asRole returns dbURL logging in as user, with password if not empty.
func asRole(dbURL, user, password string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		return "", errors.New("the database URL is not a postgres:// URL")
	}
	if password == "" {
		u.User = url.User(user)
	} else {
		u.User = url.UserPassword(user, password)
	}
	return u.String(), nil
}
