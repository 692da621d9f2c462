-- The change feed's link reference, checked once per write instead of once
-- per row (docs/benchmarks.md, "Store-layer ingest: the change feed's link
-- check"). The foreign key ran a lookup and a row lock on links for every
-- feed row: about 15% of the writer's database time on a first sync. A
-- writer now calls change_feed_check_scope once per statement, under the
-- app user's feed lock; deleting links still deletes their feed rows.

ALTER TABLE transaction_changes DROP CONSTRAINT transaction_changes_link_id_fkey;

CREATE FUNCTION change_feed_check_scope(app_user_ref text, link_id uuid, account_id uuid) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    -- The share lock keeps the link from being deleted until the writer's
    -- transaction ends, as the foreign key's check did.
    PERFORM FROM accounts a JOIN links l ON l.id = a.link_id
    WHERE a.id = change_feed_check_scope.account_id AND l.id = change_feed_check_scope.link_id
      AND l.app_user_ref = change_feed_check_scope.app_user_ref
    FOR KEY SHARE OF l;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % is not an account of link % of the app user', account_id, link_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'change_feed_scope';
    END IF;
END
$$;

COMMENT ON FUNCTION change_feed_check_scope(text, uuid, uuid) IS 'Raises foreign_key_violation unless the account belongs to the link and the link to the app user, and locks the link against deletion until the transaction ends. Change-feed writers call it once per write, before appending rows for that link and account.';

CREATE FUNCTION transaction_changes_delete_for_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM transaction_changes c USING deleted_links d WHERE c.link_id = d.id;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION transaction_changes_delete_for_links() IS 'Deletes the change-feed rows of deleted links (what ON DELETE CASCADE did).';

CREATE TRIGGER links_delete_transaction_changes AFTER DELETE ON links
    REFERENCING OLD TABLE AS deleted_links FOR EACH STATEMENT EXECUTE FUNCTION transaction_changes_delete_for_links();
