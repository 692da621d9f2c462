CREATE OR REPLACE FUNCTION reporting.transaction_changes_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.transaction_changes
LANGUAGE sql
STABLE
SET jit = off
AS $$
    SELECT *
    FROM reporting.transaction_changes c
    WHERE c.app_user_ref = transaction_changes_since.app_user_ref
      AND c.seq > coalesce(transaction_changes_since.after_seq, 0)
    ORDER BY c.seq
    LIMIT greatest(1, least(coalesce(transaction_changes_since.max_rows, 500), 10000))
$$;

COMMENT ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) IS 'One page of the change feed of one app user: the changes after the cursor after_seq, in seq order, at most max_rows (default 500, between 1 and 10000). Store the last seq returned as the next cursor; an empty page means up to date.';

DROP FUNCTION reporting.transaction_changes_head(text);
DROP VIEW reporting.transaction_change_horizons;
DROP TABLE transaction_change_horizons;
DROP INDEX transaction_changes_changed_idx;
DROP INDEX links_revoked_idx;
DROP TRIGGER links_set_revoked_at ON links;
DROP FUNCTION links_set_revoked_at();
ALTER TABLE links DROP COLUMN revoked_at;
