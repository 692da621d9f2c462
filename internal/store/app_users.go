package store

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// TableCount is how many rows of one table an erasure or a retention pass
// deleted.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// erasureStep deletes one table's rows of an app user. @ref is the app user
// reference, @ids the ids of the user's links (uuid[]).
type erasureStep struct {
	table string
	sql   string
}

// userAccounts selects the accounts of the links in @ids.
const userAccounts = `SELECT id FROM accounts WHERE link_id = ANY(@ids::uuid[])`

// erasureSteps lists every table that holds rows of an app user, in an
// order that deletes children before their parents, so each count is the
// table's own. A table added to the schema with per-user rows must be added
// here: TestEraseAppUserLeavesNothing scans every table and fails otherwise.
var erasureSteps = []erasureStep{
	// Jobs naming one of the links (sync jobs, and any later per-link job).
	{"river_job", `DELETE FROM river_job WHERE args->>'link_id' = ANY(@ids::text[]) OR args->>'app_user_ref' = @ref`},
	// The feed's only index on the user is its primary key (app_user_ref,
	// last_seq): name every app user whose pages may go, so no page is
	// found by a scan of the whole feed.
	{"transaction_change_pages", `DELETE FROM transaction_change_pages
		WHERE app_user_ref = ANY(ARRAY(SELECT @ref::text UNION SELECT app_user_ref FROM links WHERE id = ANY(@ids::uuid[])))
			AND (app_user_ref = @ref OR link_id = ANY(@ids::uuid[]))`},
	{"transaction_change_horizons", `DELETE FROM transaction_change_horizons WHERE app_user_ref = @ref`},
	// The events outbox; pending deliveries of erased events cancel themselves.
	{"events", `DELETE FROM events WHERE app_user_ref = @ref OR link_id = ANY(@ids::uuid[])`},
	{"event_horizons", `DELETE FROM event_horizons WHERE app_user_ref = @ref`},
	{"balance_snapshots", `DELETE FROM balance_snapshots WHERE account_id IN (` + userAccounts + `)`},
	{"sync_state", `DELETE FROM sync_state WHERE account_id IN (` + userAccounts + `)`},
	{"listed_inactivated_transactions", `DELETE FROM listed_inactivated_transactions WHERE account_id IN (` + userAccounts + `)`},
	{"transactions", `DELETE FROM transactions WHERE account_id IN (` + userAccounts + `)`},
	{"accounts", `DELETE FROM accounts WHERE link_id = ANY(@ids::uuid[])`},
	{"sync_runs", `DELETE FROM sync_runs WHERE link_id = ANY(@ids::uuid[])`},
	{"consent_requests", `DELETE FROM consent_requests WHERE app_user_ref = @ref OR link_id = ANY(@ids::uuid[])`},
	{"link_tokens", `DELETE FROM link_tokens WHERE link_id = ANY(@ids::uuid[])`},
	{"links", `DELETE FROM links WHERE id = ANY(@ids::uuid[])`},
}

// ErasureTables names the tables EraseAppUser deletes from, in order.
func ErasureTables() []string {
	out := make([]string, len(erasureSteps))
	for i, s := range erasureSteps {
		out[i] = s.table
	}
	return out
}

// LockAppUserLinkIDs locks the links of an app user (FOR UPDATE, in id
// order) until the transaction ends and returns their ids. It also takes
// the user's change-feed lock, so no sync appends to the feed meanwhile.
func (s *Store) LockAppUserLinkIDs(ctx context.Context, appUserRef string) ([]string, error) {
	if err := s.lockFeed(ctx, appUserRef); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id::text FROM links WHERE app_user_ref = $1 ORDER BY id FOR UPDATE`, appUserRef)
	if err != nil {
		return nil, translate(err, "lock links of an app user")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "lock links of an app user")
}

// EraseAppUser deletes every row of an app user in every table (see
// ErasureTables) and returns the rows deleted per table, in order. It must
// run in a transaction, after LockAppUserLinkIDs, so that the erasure is
// all or nothing. An unknown app user deletes nothing and is no error.
func (s *Store) EraseAppUser(ctx context.Context, appUserRef string) ([]TableCount, error) {
	ids, err := s.LockAppUserLinkIDs(ctx, appUserRef)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []string{}
	}
	out := make([]TableCount, 0, len(erasureSteps))
	for _, step := range erasureSteps {
		tag, err := s.db.Exec(ctx, step.sql, pgx.NamedArgs{"ref": appUserRef, "ids": ids})
		if err != nil {
			return nil, translate(err, "erase an app user's rows of %s", step.table)
		}
		out = append(out, TableCount{Table: step.table, Rows: tag.RowsAffected()})
	}
	return out, nil
}

// exportTable is one table of an app user's export. Its query reads the
// user from the transaction-local setting pfmsync.export_user (COPY takes
// no parameters), and lists no secret: sealed tokens, PKCE verifiers,
// nonces and state or browser hashes are left out.
type exportTable struct {
	name  string
	query string
}

// exportUser is the app user of an export, set for its transaction.
const exportUser = `current_setting('pfmsync.export_user')`

// exportLinks selects the exported user's link ids.
const exportLinks = `SELECT id FROM links WHERE app_user_ref = ` + exportUser

var exportTables = []exportTable{
	{"links", `SELECT l.*, i.slug AS institution_slug FROM links l JOIN institutions i ON i.id = l.institution_id
		WHERE l.app_user_ref = ` + exportUser + ` ORDER BY l.created_at, l.id`},
	{"accounts", `SELECT a.* FROM accounts a WHERE a.link_id IN (` + exportLinks + `) ORDER BY a.link_id, a.provider_account_id`},
	{"balance_snapshots", `SELECT b.* FROM balance_snapshots b JOIN accounts a ON a.id = b.account_id
		WHERE a.link_id IN (` + exportLinks + `) ORDER BY b.account_id, b.day`},
	{"transactions", `SELECT t.* FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id IN (` + exportLinks + `) ORDER BY t.account_id, t.posted_at, t.id`},
	{"sync_state", `SELECT s.* FROM sync_state s JOIN accounts a ON a.id = s.account_id
		WHERE a.link_id IN (` + exportLinks + `) ORDER BY s.account_id`},
	{"transaction_changes", `SELECT c.* FROM transaction_changes c WHERE c.app_user_ref = ` + exportUser + ` ORDER BY c.seq`},
	// The events outbox: what pfmsync told the app about the user. The
	// delivery error text describes the app's endpoint, not the user, and is
	// left out.
	{"events", `SELECT e.seq, e.id, e.app_user_ref, e.link_id, e.type, e.payload, e.created_at,
		e.delivery_status, e.attempts, e.delivered_at
		FROM events e WHERE e.app_user_ref = ` + exportUser + ` OR e.link_id IN (` + exportLinks + `) ORDER BY e.seq`},
	{"event_horizons", `SELECT h.* FROM event_horizons h WHERE h.app_user_ref = ` + exportUser},
	{"transaction_change_horizons", `SELECT h.* FROM transaction_change_horizons h WHERE h.app_user_ref = ` + exportUser},
	{"sync_runs", `SELECT r.* FROM sync_runs r WHERE r.link_id IN (` + exportLinks + `) ORDER BY r.started_at, r.id`},
	{"consent_requests", `SELECT c.id, c.institution_id, c.app_user_ref, c.link_id, c.return_url, c.created_at, c.expires_at, c.used_at
		FROM consent_requests c WHERE c.app_user_ref = ` + exportUser + ` ORDER BY c.created_at, c.id`},
	{"link_tokens", `SELECT t.link_id, t.key_id, t.version, t.updated_at FROM link_tokens t
		WHERE t.link_id IN (` + exportLinks + `) ORDER BY t.link_id`},
}

// ExportTables names the tables of an export, in order.
func ExportTables() []string {
	out := make([]string, len(exportTables))
	for i, t := range exportTables {
		out[i] = t.name
	}
	return out
}

// Export reads one app user's rows from a consistent snapshot. Use it only
// inside the callback of ExportAppUser.
type Export struct {
	tx *Store
}

// ExportAppUser runs fn in a read-only REPEATABLE READ transaction set up
// to export appUserRef's rows: every table fn reads shows the same instant.
func (s *Store) ExportAppUser(ctx context.Context, appUserRef string, fn func(x *Export) error) error {
	if s.tx != nil {
		return fmt.Errorf("export an app user: needs its own transaction, not a nested one")
	}
	return s.Transact(ctx, func(tx *Store) error {
		if _, err := tx.db.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
			return translate(err, "begin an export snapshot")
		}
		if _, err := tx.db.Exec(ctx, `SELECT set_config('pfmsync.export_user', $1, true)`, appUserRef); err != nil {
			return translate(err, "begin an export")
		}
		return fn(&Export{tx: tx})
	})
}

func lookupExportTable(name string) (exportTable, error) {
	for _, t := range exportTables {
		if t.name == name {
			return t, nil
		}
	}
	return exportTable{}, fmt.Errorf("no export table %q", name)
}

// JSON calls fn with each row of table as a JSON object, in a stable
// order, and returns how many rows it read.
func (x *Export) JSON(ctx context.Context, table string, fn func(row []byte) error) (int64, error) {
	t, err := lookupExportTable(table)
	if err != nil {
		return 0, err
	}
	rows, err := x.tx.db.Query(ctx, `SELECT to_jsonb(r)::text FROM (`+t.query+`) r`)
	if err != nil {
		return 0, translate(err, "export %s", table)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return n, translate(err, "export %s", table)
		}
		if err := fn(raw); err != nil {
			return n, err
		}
		n++
	}
	return n, translate(rows.Err(), "export %s", table)
}

// CSV writes table as CSV with a header line to w, streamed by Postgres's
// COPY, and returns how many rows it wrote.
func (x *Export) CSV(ctx context.Context, table string, w io.Writer) (int64, error) {
	t, err := lookupExportTable(table)
	if err != nil {
		return 0, err
	}
	tag, err := x.tx.tx.Conn().PgConn().CopyTo(ctx, w, `COPY (`+t.query+`) TO STDOUT WITH (FORMAT csv, HEADER true)`)
	if err != nil {
		return 0, translate(err, "export %s as CSV", table)
	}
	return tag.RowsAffected(), nil
}
