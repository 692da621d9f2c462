-- A user's data lifecycle: when a link was revoked (for retention of
-- unlinked data), and the change feed's horizon per app user (how far
-- retention or a purge has deleted it), so a consumer whose cursor is older
-- gets a clear error instead of a silent gap. pfm_reader reads the new
-- view and function through the reporting schema's default privileges.

ALTER TABLE links ADD COLUMN revoked_at timestamptz;

COMMENT ON COLUMN links.revoked_at IS 'When the link became revoked (unlinked); NULL unless status is revoked. Retention (PFMSYNC_RETENTION_REVOKED_LINK_DAYS) deletes links revoked for longer.';

UPDATE links SET revoked_at = updated_at WHERE status = 'revoked';

CREATE FUNCTION links_set_revoked_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.status = 'revoked' THEN
        NEW.revoked_at := coalesce(NEW.revoked_at, now());
    ELSE
        NEW.revoked_at := NULL;
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION links_set_revoked_at() IS 'Keeps links.revoked_at in step with links.status.';

CREATE TRIGGER links_set_revoked_at BEFORE INSERT OR UPDATE OF status ON links
    FOR EACH ROW EXECUTE FUNCTION links_set_revoked_at();

CREATE INDEX links_revoked_idx ON links (revoked_at) WHERE status = 'revoked';

CREATE INDEX transaction_changes_changed_idx ON transaction_changes (changed_at);

CREATE TABLE transaction_change_horizons (
    app_user_ref text PRIMARY KEY,
    horizon_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE transaction_change_horizons IS 'Per app user, the highest change feed seq deleted (by retention or a purge of a link): a cursor below it has missed changes.';

CREATE VIEW reporting.transaction_change_horizons AS
SELECT app_user_ref, horizon_seq, updated_at FROM transaction_change_horizons;

COMMENT ON VIEW reporting.transaction_change_horizons IS 'Per app user, the change feed''s horizon: changes up to horizon_seq may have been deleted. reporting.transaction_changes_since refuses a cursor below it.';

CREATE FUNCTION reporting.transaction_changes_head(app_user_ref text)
RETURNS bigint
LANGUAGE sql
STABLE
AS $$
    SELECT greatest(
        (SELECT max(c.seq) FROM reporting.transaction_changes c WHERE c.app_user_ref = transaction_changes_head.app_user_ref),
        (SELECT h.horizon_seq FROM reporting.transaction_change_horizons h WHERE h.app_user_ref = transaction_changes_head.app_user_ref),
        0)
$$;

COMMENT ON FUNCTION reporting.transaction_changes_head(text) IS 'The latest seq of an app user''s change feed (0 when empty): the cursor to resume from after reloading reporting.transactions. Read it before the reload.';

REVOKE ALL ON FUNCTION reporting.transaction_changes_head(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION reporting.transaction_changes_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.transaction_changes
LANGUAGE plpgsql
STABLE
SET jit = off
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
