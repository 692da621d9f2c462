-- Back to one row per change, keeping every change and its seq. Writers
-- wait for the copy, then fail against the dropped storage.
LOCK TABLE transaction_change_pages IN EXCLUSIVE MODE;
DROP FUNCTION reporting.transaction_changes_since(text, bigint, integer);
DROP VIEW reporting.transaction_changes;
DROP TRIGGER links_delete_transaction_changes ON links;
ALTER VIEW transaction_changes RENAME TO transaction_changes_pages_unnested;

CREATE TABLE transaction_changes (
    seq                     bigint GENERATED ALWAYS AS IDENTITY,
    app_user_ref            text NOT NULL,
    link_id                 uuid NOT NULL,
    account_id              uuid NOT NULL,
    transaction_id          bigint NOT NULL,
    provider_transaction_id text NOT NULL,
    change                  text NOT NULL CHECK (change IN ('added', 'modified', 'removed')),
    changed_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transaction_changes_pkey PRIMARY KEY (app_user_ref, seq)
);
CREATE INDEX transaction_changes_changed_idx ON transaction_changes (changed_at);
COMMENT ON TABLE transaction_changes IS 'Change feed: every added, modified or removed transaction, in commit order per app user (writers serialize per app user), so a consumer can keep a cursor (the last seq it read).';

INSERT INTO transaction_changes (seq, app_user_ref, link_id, account_id, transaction_id, provider_transaction_id, change, changed_at)
OVERRIDING SYSTEM VALUE
SELECT seq, app_user_ref, link_id, account_id, transaction_id, coalesce(provider_transaction_id, ''), change, changed_at
FROM transaction_changes_pages_unnested;
SELECT setval(pg_get_serial_sequence('transaction_changes', 'seq'), nextval('transaction_change_seq'));

DROP VIEW transaction_changes_pages_unnested;
DROP TABLE transaction_change_pages;
DROP FUNCTION transaction_change_kind("char");
DROP SEQUENCE transaction_change_seq;

CREATE OR REPLACE FUNCTION transaction_changes_delete_for_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM transaction_changes c USING deleted_links d
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
FROM transaction_changes c
LEFT JOIN reporting.transactions t ON t.transaction_id = c.transaction_id AND c.change <> 'removed';
COMMENT ON VIEW reporting.transaction_changes IS 'The change feed: every added, modified or removed transaction, with the transaction''s current row from reporting.transactions. seq is in commit order per app user: keep one cursor (the last seq read) per app user. Read it with reporting.transaction_changes_since.';
COMMENT ON COLUMN reporting.transaction_changes.seq IS 'Position in the feed, increasing in commit order per app user (not across app users).';
COMMENT ON COLUMN reporting.transaction_changes.transaction_id IS 'reporting.transactions.transaction_id of the changed transaction.';
COMMENT ON COLUMN reporting.transaction_changes.change IS 'added, modified or removed.';
COMMENT ON COLUMN reporting.transaction_changes.present IS 'The transaction is in reporting.transactions now: upsert the row. False for removed changes, for a transaction removed since, and for a pending transaction already replaced by its posted version: delete it by transaction_id. Columns after this one are NULL when false.';
COMMENT ON COLUMN reporting.transaction_changes.amount IS 'Current user-perspective amount (reporting.transactions.amount).';
COMMENT ON COLUMN reporting.transaction_changes.is_transfer IS 'Current transfer flag; it is derived when read and can change without a feed entry when the counterpart arrives.';
GRANT SELECT ON reporting.transaction_changes TO pfm_reader;

CREATE FUNCTION reporting.transaction_changes_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.transaction_changes
LANGUAGE plpgsql STABLE
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    horizon bigint;
BEGIN
    SELECT h.horizon_seq INTO horizon
    FROM reporting.transaction_change_horizons h
    WHERE h.app_user_ref = transaction_changes_since.app_user_ref;
    IF horizon IS NOT NULL AND coalesce(after_seq, 0) < horizon THEN
        RAISE EXCEPTION 'change feed cursor % is older than the horizon %: changes up to % were deleted', coalesce(after_seq, 0), horizon, horizon
            USING ERRCODE = 'PF001',
                  HINT = 'Reload this app user''s transactions from reporting.transactions and resume from reporting.transaction_changes_head(app_user_ref), read before the reload.';
    END IF;
    RETURN QUERY
    SELECT *
    FROM reporting.transaction_changes c
    WHERE c.app_user_ref = transaction_changes_since.app_user_ref
      AND c.seq > coalesce(transaction_changes_since.after_seq, 0)
    ORDER BY c.seq
    LIMIT greatest(1, least(coalesce(transaction_changes_since.max_rows, 500), 10000));
END
$$;
COMMENT ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) IS 'One page of the change feed of one app user: the changes after the cursor after_seq, in seq order, at most max_rows (default 500, between 1 and 10000). Store the last seq returned as the next cursor; an empty page means up to date. A cursor below the app user''s horizon (reporting.transaction_change_horizons) fails with SQLSTATE PF001: reload and resume from reporting.transaction_changes_head.';
REVOKE ALL ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) TO pfm_reader;

CREATE OR REPLACE FUNCTION reporting.transaction_changes_head(app_user_ref text)
RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT greatest(
        (SELECT max(c.seq) FROM reporting.transaction_changes c WHERE c.app_user_ref = transaction_changes_head.app_user_ref),
        (SELECT h.horizon_seq FROM reporting.transaction_change_horizons h WHERE h.app_user_ref = transaction_changes_head.app_user_ref),
        0)
$$;
