package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TransactionInput is one transaction as the bank reported it, normalized.
// Amounts are exact decimal strings.
type TransactionInput struct {
	ProviderID string
	// Amount is as the bank sent it; SignedAmount is the user's
	// perspective (inflow positive for every account type).
	Amount            string
	SignedAmount      string
	Currency          string
	PostedAt          time.Time
	Pending           bool
	PendingStatus     string
	Type              string
	Subtype           string
	Memo              string
	Description       string
	MerchantName      string
	Category          string
	CheckNumber       string
	RunningBalance    *string
	Sequence          *int64
	ProviderUpdatedAt *time.Time
	Raw               []byte
}

// FeedScope names whose change feed a write appends to.
type FeedScope struct {
	AppUserRef string
	LinkID     string
	AccountID  string
}

// WriteCounts says what a write changed.
type WriteCounts struct {
	Added, Modified, Removed int
}

// Add sums counts.
func (c *WriteCounts) Add(o WriteCounts) {
	c.Added += o.Added
	c.Modified += o.Modified
	c.Removed += o.Removed
}

// The change feed's two locks per app user keep feed sequence numbers in
// commit order for every app user, so a consumer's cursor never skips a
// change, while the writers of an app user's accounts still write their
// transactions side by side:
//
//   - The scope lock: every feed writer takes it shared at its first feed
//     write, before anything else of the write. Whoever must stop every
//     writer of the app user (erasure, the retention horizon) takes it
//     exclusive (lockFeed).
//   - The order lock: a feed writer takes it exclusive inside the feed
//     statement, after its transactions are written and before its feed
//     rows draw their sequence numbers, and holds it to commit. A write
//     that changed nothing does not take it.
//
// Both are transaction-level advisory locks, so both are released by the
// commit or rollback, and every writer takes them in the same order
// (scope, the link's key-share lock, its own account's rows, order, then
// anything else), so writers of one app user never deadlock each other.

// lockFeed stops the change-feed writers of one app user until the
// transaction ends: it takes the feed's scope lock exclusive.
func (s *Store) lockFeed(ctx context.Context, appUserRef string) error {
	if s.tx == nil {
		return errFeedNeedsTx
	}
	_, err := s.db.Exec(ctx, feedLockSQL, appUserRef)
	return translate(err, "lock change feed")
}

// queueFeedScope queues, ahead of a change-feed write of one account in
// the same batch (one round trip for both), the start of that write: it
// takes the feed's scope lock shared, checks once for the whole write that
// the account belongs to the link the changes name and the link to the app
// user, and holds the link against deletion until the transaction ends
// (the change feed has no per-row foreign key to links). A failed check
// aborts the batch before the write runs.
func (s *Store) queueFeedScope(b *pgx.Batch, scope FeedScope) {
	b.Queue(feedScopeSQL, scope.AppUserRef, scope.LinkID, scope.AccountID)
}

const (
	feedLockSQL  = `SELECT pg_advisory_xact_lock(hashtextextended('pfmsync.change_feed:' || $1, 0))`
	feedScopeSQL = `SELECT pg_advisory_xact_lock_shared(hashtextextended('pfmsync.change_feed:' || $1, 0)), change_feed_check_scope($1, $2, $3)`
)

// releaseParams returns a statement with n parameters that returns no
// row, and its arguments, to queue after a statement of at most n
// parameters whose encoded values must not outlive it. pgx keeps a
// connection's last statement parameters until the connection builds
// another statement, and even then the slots of its parameter list keep
// pointing at the old values until as many are written over. After a
// page's upsert those values are the whole page encoded (about its raw
// JSON's size): every pooled connection that last wrote a page held one,
// and more connections take turns writing pages the longer a sync runs.
func releaseParams(n int) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT WHERE ROW(")
	args := make([]any, n)
	for i := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::int2", i+1)
		args[i] = int16(0)
	}
	b.WriteString(") IS NULL")
	return b.String(), args
}

// upsertRelease is releaseParams for UpsertTransactions' 21 parameters,
// built once (pgx only reads a statement's arguments). A parameter added
// to the upsert must be counted here too: with the raw JSON last,
// TestPageWriteLeavesNoPageHeldByThePool fails otherwise.
var upsertReleaseSQL, upsertReleaseArgs = releaseParams(21)

// liveTransactionIDsSQL is an array of the row ids of the live
// transactions of account $1 among provider ids $2, each row locked (FOR
// UPDATE) so that it is still live when the statement updates it by
// primary key: one probe of the (account_id, provider_transaction_id) key
// per id. Tombstones name a few ids of a large account or, on a first
// sync, tens of thousands of ids the datastore never had. Joining the ids
// with the account's rows, or naming removed_at in the probe, let the
// planner scan a partial index of the whole account per id when the
// table's statistics lag its growth (a new datastore's first syncs):
// 17.7 s for 1,000 ids at 100,000 rows, against 15 ms now.
const liveTransactionIDsSQL = `ARRAY(
				SELECT m.id FROM unnest($2::text[]) AS r(provider_id)
				CROSS JOIN LATERAL (
					SELECT x.id, x.removed_at FROM transactions x
					WHERE x.account_id = $1 AND x.provider_transaction_id = r.provider_id
					LIMIT 1 FOR UPDATE) m
				WHERE m.removed_at IS NULL)`

// feedOrderCTE is the CTE "ordered" of a feed statement whose written
// rows are the CTE "written": it reads every written row (so the write is
// complete) and then, when there was one, takes the app user's feed order
// lock (appUserParam names the statement's parameter). The feed insert
// joins "ordered", so its rows draw their sequence numbers under the lock.
func feedOrderCTE(appUserParam string) string {
	return `ordered AS MATERIALIZED (
			SELECT pg_advisory_xact_lock(hashtextextended('pfmsync.change_feed_order:' || ` + appUserParam + `, 0))
			FROM (SELECT count(*) AS n FROM written) w WHERE w.n > 0
		)`
}

// feedPageInsert is the CTE "fed" of a feed statement whose written rows
// are the CTE "written" (id) and whose order lock is the CTE "ordered"
// (feedOrderCTE): it appends the written rows to the change feed as one
// page of the account (transaction_change_pages), change being each row's
// kind as an expression over w: 'a' (added), 'm' (modified) or 'r'
// (removed). Each change draws its seq under the order lock, in row id
// order; a write that changed nothing appends no page. The parameters
// name the statement's parameters for the app user, the link and the
// account.
func feedPageInsert(appUserParam, linkParam, accountParam, change string) string {
	return `fed AS (
			INSERT INTO transaction_change_pages (app_user_ref, link_id, account_id, first_seq, last_seq, entries,
				seqs, transaction_ids, changes)
			SELECT ` + appUserParam + `, ` + linkParam + `, ` + accountParam + `, min(c.seq), max(c.seq), count(*),
				array_agg(c.seq ORDER BY c.seq), array_agg(c.id ORDER BY c.seq), array_agg(c.change ORDER BY c.seq)
			FROM (SELECT nextval('transaction_change_seq') AS seq, w.id, w.change
				FROM (SELECT w.id, (` + change + `)::"char" AS change FROM written w, ordered ORDER BY w.id) w) c
			HAVING count(*) > 0
		)`
}

var errFeedNeedsTx = errors.New("change feed writes need a transaction")

// UpsertTransactions writes transactions of one account and appends an
// added or modified change for every row that really changed. A report
// identical to what is stored (same raw JSON, not removed) writes nothing.
// A transaction reported again after a removal is live again. It must run
// inside Transact.
func (s *Store) UpsertTransactions(ctx context.Context, scope FeedScope, in []TransactionInput) (WriteCounts, error) {
	in = dedupeTransactions(in)
	if len(in) == 0 {
		return WriteCounts{}, nil
	}
	if s.tx == nil {
		return WriteCounts{}, errFeedNeedsTx
	}
	// The raw JSON goes as one JSON array of the page's records
	// (pageRecords), written by the connection's recordsCodec.
	useRecordsCodec(s.tx.Conn().TypeMap())
	// The feed lock and the upsert go in one round trip.
	batch := &pgx.Batch{}
	s.queueFeedScope(batch, scope)
	var c WriteCounts
	batch.Queue(upsertTransactionsSQL, upsertTransactionsArgs(scope, in)...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&c.Added, &c.Modified)
	})
	batch.Queue(upsertReleaseSQL, upsertReleaseArgs...)
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return WriteCounts{}, translate(err, "upsert transactions for account %s", scope.AccountID)
	}
	return c, nil
}

// upsertTransactionsSQL is UpsertTransactions' statement; its parameters
// are upsertTransactionsArgs. The amounts come as text[] cast to
// numeric[] in the statement: pgx has no binary encoding of Go strings as
// numeric, and for a numeric[] parameter it found that out on every page,
// building an error message that printed the whole array before sending
// it as text.
var upsertTransactionsSQL = `
		WITH written AS (
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, currency,
				posted_at, pending, pending_status, type, subtype, memo, description, merchant_name, category,
				check_number, running_balance, sequence, provider_updated_at, raw)
			SELECT $1, t.* FROM ROWS FROM (unnest($2::text[]), unnest($3::text[]::numeric[]), unnest($4::text[]::numeric[]), unnest($5::text[]),
				unnest($6::timestamptz[]), unnest($7::bool[]), unnest($8::text[]), unnest($9::text[]), unnest($10::text[]),
				unnest($11::text[]), unnest($12::text[]), unnest($13::text[]), unnest($14::text[]), unnest($15::text[]),
				unnest($16::text[]::numeric[]), unnest($17::bigint[]), unnest($18::timestamptz[]), jsonb_array_elements($21::jsonb)) AS t
			ON CONFLICT (account_id, provider_transaction_id) DO UPDATE SET
				amount = EXCLUDED.amount, signed_amount = EXCLUDED.signed_amount, currency = EXCLUDED.currency,
				posted_at = EXCLUDED.posted_at, pending = EXCLUDED.pending, pending_status = EXCLUDED.pending_status,
				type = EXCLUDED.type, subtype = EXCLUDED.subtype, memo = EXCLUDED.memo,
				description = EXCLUDED.description, merchant_name = EXCLUDED.merchant_name,
				category = EXCLUDED.category, check_number = EXCLUDED.check_number,
				running_balance = EXCLUDED.running_balance, sequence = EXCLUDED.sequence,
				provider_updated_at = EXCLUDED.provider_updated_at, raw = EXCLUDED.raw,
				removed_at = NULL, updated_at = now()
			WHERE transactions.raw IS DISTINCT FROM EXCLUDED.raw
			   OR transactions.signed_amount IS DISTINCT FROM EXCLUDED.signed_amount
			   OR transactions.removed_at IS NOT NULL
			RETURNING id, (xmax = 0) AS inserted
		), ` + feedOrderCTE("$19") + `, ` + feedPageInsert("$19", "$20", "$1", "CASE WHEN w.inserted THEN 'a' ELSE 'm' END") + `
		SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written`

// upsertTransactionsArgs are upsertTransactionsSQL's parameters for in
// (deduplicated): one array per column, and the raw JSON.
func upsertTransactionsArgs(scope FeedScope, in []TransactionInput) []any {
	n := len(in)
	var (
		ids, amounts, signed, currencies        = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		posted                                  = make([]time.Time, n)
		pending                                 = make([]bool, n)
		statuses, types, subtypes, memos, descs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		merchants, categories, checks           = make([]string, n), make([]string, n), make([]string, n)
		running                                 = make([]*string, n)
		sequences                               = make([]*int64, n)
		updated                                 = make([]*time.Time, n)
	)
	for i, t := range in {
		ids[i], amounts[i], signed[i], currencies[i] = t.ProviderID, t.Amount, t.SignedAmount, t.Currency
		posted[i], pending[i] = t.PostedAt, t.Pending
		statuses[i], types[i], subtypes[i], memos[i], descs[i] = t.PendingStatus, t.Type, t.Subtype, t.Memo, t.Description
		merchants[i], categories[i], checks[i] = t.MerchantName, t.Category, t.CheckNumber
		running[i], sequences[i], updated[i] = t.RunningBalance, t.Sequence, t.ProviderUpdatedAt
		if currencies[i] == "" {
			currencies[i] = "USD"
		}
	}
	return []any{scope.AccountID, ids, amounts, signed, currencies, posted, pending, statuses, types, subtypes, memos, descs,
		merchants, categories, checks, running, sequences, updated, scope.AppUserRef, scope.LinkID,
		// The raw JSON, the largest parameter, goes last: pgx appends the
		// parameters to one buffer and keeps each one's slice of it until
		// the statement is sent, so a buffer outgrown by a parameter after
		// the raw JSON stayed held beside the larger one that replaced it.
		pageRecords(in)}
}

// dedupeTransactions keeps the last report of each provider id: one
// statement may not touch a row twice.
func dedupeTransactions(in []TransactionInput) []TransactionInput {
	seen := make(map[string]int, len(in))
	out := make([]TransactionInput, 0, len(in))
	for _, t := range in {
		if i, ok := seen[t.ProviderID]; ok {
			out[i] = t
			continue
		}
		seen[t.ProviderID] = len(out)
		out = append(out, t)
	}
	return out
}

// RemoveTransactions tombstones the account's transactions with these
// provider ids (never deleting them) and appends a removed change for each
// that was live. Ids never seen are ignored. It must run inside Transact.
func (s *Store) RemoveTransactions(ctx context.Context, scope FeedScope, providerIDs []string, at time.Time) (WriteCounts, error) {
	return s.tombstone(ctx, scope, providerIDs, at, nil, 0)
}

// RemoveListedTransactions is RemoveTransactions for ids a sync read in
// the bank's inactivatedTransactionIds lists: it also records them under
// the sync's listing (a token of the sync of the account, never 0), so
// that the sync can leave them out of the pages it writes after
// (ListedTransactionIDs), whichever reader read them. It must run inside
// Transact, after LockAccountSync.
func (s *Store) RemoveListedTransactions(ctx context.Context, scope FeedScope, listing int64, providerIDs []string, at time.Time) (WriteCounts, error) {
	if listing == 0 {
		return WriteCounts{}, errors.New("tombstone listed transactions: a listing is never 0")
	}
	return s.tombstone(ctx, scope, providerIDs, at, nil, listing)
}

// LockAccountSync takes the account's page lock until the transaction
// ends: the pages of one sync of the account (two readers may read it)
// then commit one at a time, and each statement after the lock sees what
// the pages before it wrote (the ids they listed as inactivated, the
// transactions they stored). It must run inside Transact.
func (s *Store) LockAccountSync(ctx context.Context, accountID string) error {
	if s.tx == nil {
		return errors.New("lock account sync: needs a transaction")
	}
	if _, err := s.db.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('pfmsync.account_sync:' || $1, 0))`, accountID); err != nil {
		return translate(err, "lock sync of account %s", accountID)
	}
	return nil
}

// ListedTransactionIDs returns those of ids that the account's sync
// recorded under listing (RemoveListedTransactions): transactions the
// sync has read as inactivated, which it leaves out of the pages it
// writes. Inside Transact after LockAccountSync it sees every id the
// sync's earlier pages recorded.
func (s *Store) ListedTransactionIDs(ctx context.Context, accountID string, listing int64, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `
		SELECT DISTINCT id FROM listed_inactivated_transactions l CROSS JOIN LATERAL unnest(l.ids) AS id
		WHERE l.account_id = $1 AND l.listing = $3 AND id = ANY($2::text[])`, accountID, ids, listing)
	if err != nil {
		return nil, translate(err, "look up listed transactions of account %s", accountID)
	}
	listed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err, "look up listed transactions of account %s", accountID)
	}
	return listed, nil
}

// ForgetListedTransactions deletes what the account's sync recorded under
// listing (RemoveListedTransactions) once the sync is done with it, and
// what failed syncs of the account left a day or more ago.
func (s *Store) ForgetListedTransactions(ctx context.Context, accountID string, listing int64) error {
	if _, err := s.db.Exec(ctx, `
		DELETE FROM listed_inactivated_transactions
		WHERE account_id = $1 AND (listing = $2 OR recorded_at < now() - interval '1 day')`, accountID, listing); err != nil {
		return translate(err, "forget listed transactions of account %s", accountID)
	}
	return nil
}

// tombstone is RemoveTransactions recording why (nil: the row's reason
// stays as it is) and, with a listing, recording the ids as listed.
func (s *Store) tombstone(ctx context.Context, scope FeedScope, providerIDs []string, at time.Time, reason *string, listing int64) (WriteCounts, error) {
	if len(providerIDs) == 0 {
		return WriteCounts{}, nil
	}
	if s.tx == nil {
		return WriteCounts{}, errFeedNeedsTx
	}
	batch := &pgx.Batch{}
	s.queueFeedScope(batch, scope)
	if listing != 0 {
		batch.Queue(`INSERT INTO listed_inactivated_transactions (account_id, listing, ids) VALUES ($1, $2, $3)`,
			scope.AccountID, listing, providerIDs)
	}
	var removed int
	batch.Queue(`
		WITH written AS (
			UPDATE transactions t SET removed_at = $3, removal_reason = coalesce($6, t.removal_reason), updated_at = now()
			WHERE t.id = ANY (`+liveTransactionIDsSQL+`)
			RETURNING t.id
		), `+feedOrderCTE("$4")+`, `+feedPageInsert("$4", "$5", "$1", "'r'")+`
		SELECT count(*) FROM written`,
		scope.AccountID, providerIDs, at, scope.AppUserRef, scope.LinkID, reason,
	).QueryRow(func(row pgx.Row) error { return row.Scan(&removed) })
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return WriteCounts{}, translate(err, "tombstone transactions of account %s", scope.AccountID)
	}
	return WriteCounts{Removed: removed}, nil
}

// MatchReplacedPending links posted transactions that arrived under a new
// id to the pending authorisation they replaced: a removed pending row and
// a live posted row of the same account with the same description, posted
// within replaceWindow after it, for an amount within 30% (tips, fuel
// pre-authorisations). Only rows touched since `since` are considered; each
// pending row is matched at most once, closest in time first.
func (s *Store) MatchReplacedPending(ctx context.Context, accountID string, since time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `
		WITH pending AS (
			SELECT p.provider_transaction_id, p.posted_at, p.amount, p.description
			FROM transactions p
			WHERE p.account_id = $1 AND p.pending AND p.removed_at IS NOT NULL AND p.updated_at >= $2
			  AND NOT EXISTS (SELECT 1 FROM transactions x
			                  WHERE x.account_id = $1 AND x.removed_at IS NULL
			                    AND x.replaces_provider_transaction_id = p.provider_transaction_id)
		), candidates AS (
			SELECT DISTINCT ON (m.id) pending.provider_transaction_id AS pending_id, m.id AS posted_row
			FROM pending CROSS JOIN LATERAL (
				SELECT n.id, n.posted_at FROM transactions n
				WHERE n.account_id = $1 AND n.removed_at IS NULL
				  AND n.posted_at BETWEEN pending.posted_at AND pending.posted_at + interval '10 days'
				  AND NOT n.pending AND n.replaces_provider_transaction_id IS NULL
				  AND n.description = pending.description
				  AND abs(n.amount - pending.amount) <= 0.3 * abs(pending.amount)
				  AND n.first_seen_at >= $2
				ORDER BY n.posted_at, n.id
				LIMIT 1
			) m
			ORDER BY m.id, m.posted_at - pending.posted_at
		)
		UPDATE transactions t SET replaces_provider_transaction_id = c.pending_id
		FROM candidates c WHERE t.id = c.posted_row AND t.replaces_provider_transaction_id IS NULL`,
		accountID, since)
	if err != nil {
		return 0, translate(err, "match replaced pending transactions of account %s", accountID)
	}
	return tag.RowsAffected(), nil
}
