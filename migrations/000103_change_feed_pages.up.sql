-- The change feed stored a page at a time: one row per page an account's
-- sync writes (its changes as arrays, in seq order) instead of one row per
-- change (docs/benchmarks.md, "Store-layer ingest: the change feed a page
-- at a time"). A row per change cost the writer a heap row and two index
-- entries per transaction, about a fifth of the upsert's time.
--
-- Feed sequence numbers are unchanged: one per change, drawn in commit
-- order per app user under the feed's order lock, so the seqs of an app
-- user's pages never interleave: every seq of a page is above every seq of
-- the app user's pages committed before it. transaction_changes stays, as
-- a view with one row per change, for every reader. A page keeps no
-- provider transaction ids: a transaction row is only ever deleted with
-- its link or app user, whose feed pages go with it, so the view reads
-- them from transactions.

-- Writers still running the code before this migration wait here, and then
-- fail against the view, instead of committing a change after the copy
-- below has read the table (and losing it with the table).
LOCK TABLE transaction_changes IN EXCLUSIVE MODE;

CREATE SEQUENCE transaction_change_seq AS bigint;
SELECT setval('transaction_change_seq', nextval(pg_get_serial_sequence('transaction_changes', 'seq')));
COMMENT ON SEQUENCE transaction_change_seq IS 'Change feed seqs (one per change), drawn under the app user''s feed order lock.';

CREATE TABLE transaction_change_pages (
    app_user_ref    text NOT NULL,
    last_seq        bigint NOT NULL,
    first_seq       bigint NOT NULL,
    entries         integer NOT NULL,
    link_id         uuid NOT NULL,
    account_id      uuid NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    seqs            bigint[] NOT NULL,
    transaction_ids bigint[] NOT NULL,
    changes         "char"[] NOT NULL,
    CONSTRAINT transaction_change_pages_pkey PRIMARY KEY (app_user_ref, last_seq) INCLUDE (first_seq, entries),
    CONSTRAINT transaction_change_pages_entries_check CHECK (
        entries > 0 AND first_seq <= last_seq
        AND cardinality(seqs) = entries AND cardinality(transaction_ids) = entries AND cardinality(changes) = entries),
    CONSTRAINT transaction_change_pages_changes_check CHECK (changes <@ ARRAY['a', 'm', 'r']::"char"[])
);
CREATE INDEX transaction_change_pages_changed_idx ON transaction_change_pages (changed_at);

COMMENT ON TABLE transaction_change_pages IS 'Change feed storage: every added, modified or removed transaction, one row per page of an account written in one statement, its changes as arrays in seq order. The seq ranges of an app user''s pages never interleave. Read it through transaction_changes.';
COMMENT ON COLUMN transaction_change_pages.last_seq IS 'The page''s highest seq (seqs ascend).';
COMMENT ON COLUMN transaction_change_pages.entries IS 'How many changes the page holds (the length of each array).';
COMMENT ON COLUMN transaction_change_pages.changes IS 'Each change: a (added), m (modified) or r (removed).';

-- The one home of a stored change's kind: a, m or r as the feed's readers
-- name it.
CREATE FUNCTION transaction_change_kind(code "char") RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE code WHEN 'a' THEN 'added' WHEN 'm' THEN 'modified' ELSE 'removed' END $$;
COMMENT ON FUNCTION transaction_change_kind("char") IS 'A stored change''s kind (transaction_change_pages.changes) as the change feed names it: added, modified or removed.';

-- Existing changes move over one page per change, keeping their seqs.
INSERT INTO transaction_change_pages (app_user_ref, last_seq, first_seq, entries, link_id, account_id, changed_at,
    seqs, transaction_ids, changes)
SELECT app_user_ref, seq, seq, 1, link_id, account_id, changed_at,
    ARRAY[seq], ARRAY[transaction_id], ARRAY[left(change, 1)::"char"]
FROM transaction_changes;

DROP FUNCTION reporting.transaction_changes_since(text, bigint, integer);
DROP VIEW reporting.transaction_changes;
DROP TRIGGER links_delete_transaction_changes ON links;
DROP TABLE transaction_changes;

CREATE VIEW transaction_changes AS
SELECT u.seq, p.app_user_ref, p.link_id, p.account_id, u.transaction_id, t.provider_transaction_id,
    transaction_change_kind(u.change) AS change,
    p.changed_at
FROM transaction_change_pages p
CROSS JOIN LATERAL unnest(p.seqs, p.transaction_ids, p.changes) AS u(seq, transaction_id, change)
LEFT JOIN transactions t ON t.id = u.transaction_id;
COMMENT ON VIEW transaction_changes IS 'Change feed: every added, modified or removed transaction, one row per change, in commit order per app user (writers serialize per app user), so a consumer can keep a cursor (the last seq it read). Stored a page at a time in transaction_change_pages.';

CREATE OR REPLACE FUNCTION transaction_changes_delete_for_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM transaction_change_pages c USING deleted_links d
    WHERE c.app_user_ref = d.app_user_ref AND c.link_id = d.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER links_delete_transaction_changes AFTER DELETE ON links
    REFERENCING OLD TABLE AS deleted_links FOR EACH STATEMENT EXECUTE FUNCTION transaction_changes_delete_for_links();

CREATE VIEW reporting.transaction_changes AS
SELECT c.seq, c.app_user_ref, c.link_id, c.account_id, c.transaction_id, c.provider_transaction_id, c.change, c.changed_at,
    (t.transaction_id IS NOT NULL) AS present,
    t.posted_at, t.posted_date, t.pending, t.amount, t.raw_amount, t.currency, t.description, t.merchant,
    t.category, t.type, t.memo, t.is_transfer, t.flow
FROM public.transaction_changes c
LEFT JOIN reporting.transactions t ON t.transaction_id = c.transaction_id AND c.change <> 'removed';
COMMENT ON VIEW reporting.transaction_changes IS 'The change feed: every added, modified or removed transaction, with the transaction''s current row from reporting.transactions. seq is in commit order per app user: keep one cursor (the last seq read) per app user. Read it with reporting.transaction_changes_since.';
COMMENT ON COLUMN reporting.transaction_changes.seq IS 'Position in the feed, increasing in commit order per app user (not across app users).';
COMMENT ON COLUMN reporting.transaction_changes.transaction_id IS 'reporting.transactions.transaction_id of the changed transaction.';
COMMENT ON COLUMN reporting.transaction_changes.change IS 'added, modified or removed.';
COMMENT ON COLUMN reporting.transaction_changes.present IS 'The transaction is in reporting.transactions now: upsert the row. False for removed changes, for a transaction removed since, and for a pending transaction already replaced by its posted version: delete it by transaction_id. Columns after this one are NULL when false.';
COMMENT ON COLUMN reporting.transaction_changes.amount IS 'Current user-perspective amount (reporting.transactions.amount).';
COMMENT ON COLUMN reporting.transaction_changes.is_transfer IS 'Current transfer flag; it is derived when read and can change without a feed entry when the counterpart arrives.';
GRANT SELECT ON reporting.transaction_changes TO pfm_reader;

-- A page of the feed unnests only the stored pages that can hold it:
-- those after the cursor, in seq order, until they hold max_rows changes
-- after the cursor (only the first can also hold changes at or before
-- it; those are counted exactly). It joins the transactions to the
-- max_rows changes kept, not to every change of those pages. It reads the
-- storage table, which the reader role cannot, so it runs as its owner,
-- with a fixed search path and every name qualified. Its rows are those
-- of reporting.transaction_changes.
CREATE FUNCTION reporting.transaction_changes_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.transaction_changes
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    horizon bigint;
    cursor_seq bigint := coalesce(transaction_changes_since.after_seq, 0);
    page_rows integer := greatest(1, least(coalesce(transaction_changes_since.max_rows, 500), 10000));
    last_page bigint;
BEGIN
    SELECT h.horizon_seq INTO horizon
    FROM public.transaction_change_horizons h
    WHERE h.app_user_ref = transaction_changes_since.app_user_ref;
    IF horizon IS NOT NULL AND cursor_seq < horizon THEN
        RAISE EXCEPTION 'change feed cursor % is older than the horizon %: changes up to % were deleted', cursor_seq, horizon, horizon
            USING ERRCODE = 'PF001',
                  HINT = 'Reload this app user''s transactions from reporting.transactions and resume from reporting.transaction_changes_head(app_user_ref), read before the reload.';
    END IF;
    SELECT max(p.last_seq) INTO last_page
    FROM (
        SELECT p.last_seq, sum(p.after) OVER (ORDER BY p.last_seq ROWS UNBOUNDED PRECEDING) - p.after AS before
        FROM (
            SELECT p.last_seq,
                CASE WHEN p.first_seq > cursor_seq THEN p.entries
                     ELSE (SELECT count(*) FROM unnest(p.seqs) AS s(seq) WHERE s.seq > cursor_seq)::integer END AS after
            FROM public.transaction_change_pages p
            WHERE p.app_user_ref = transaction_changes_since.app_user_ref AND p.last_seq > cursor_seq
            ORDER BY p.last_seq LIMIT page_rows
        ) p
    ) p
    WHERE p.before < page_rows;
    IF last_page IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT c.seq, c.app_user_ref, c.link_id, c.account_id, c.transaction_id, x.provider_transaction_id,
        public.transaction_change_kind(c.change),
        c.changed_at,
        (t.transaction_id IS NOT NULL),
        t.posted_at, t.posted_date, t.pending, t.amount, t.raw_amount, t.currency, t.description, t.merchant,
        t.category, t.type, t.memo, t.is_transfer, t.flow
    FROM (
        SELECT u.seq, p.app_user_ref, p.link_id, p.account_id, u.transaction_id, u.change, p.changed_at
        FROM public.transaction_change_pages p
        CROSS JOIN LATERAL unnest(p.seqs, p.transaction_ids, p.changes) AS u(seq, transaction_id, change)
        WHERE p.app_user_ref = transaction_changes_since.app_user_ref
          AND p.last_seq > cursor_seq AND p.last_seq <= last_page
          AND u.seq > cursor_seq
        ORDER BY u.seq
        LIMIT page_rows
    ) c
    LEFT JOIN public.transactions x ON x.id = c.transaction_id
    LEFT JOIN reporting.transactions t ON t.transaction_id = c.transaction_id AND c.change <> 'r'
    ORDER BY c.seq;
END
$$;
COMMENT ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) IS 'One page of the change feed of one app user: the changes after the cursor after_seq, in seq order, at most max_rows (default 500, between 1 and 10000). Store the last seq returned as the next cursor; an empty page means up to date. A cursor below the app user''s horizon (reporting.transaction_change_horizons) fails with SQLSTATE PF001: reload and resume from reporting.transaction_changes_head.';
REVOKE ALL ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) TO pfm_reader;

-- The feed's head is its app user's highest stored page (or horizon).
CREATE OR REPLACE FUNCTION reporting.transaction_changes_head(app_user_ref text)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT greatest(
        (SELECT max(p.last_seq) FROM public.transaction_change_pages p WHERE p.app_user_ref = transaction_changes_head.app_user_ref),
        (SELECT h.horizon_seq FROM public.transaction_change_horizons h WHERE h.app_user_ref = transaction_changes_head.app_user_ref),
        0)
$$;
