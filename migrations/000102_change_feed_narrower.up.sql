-- A narrower change feed: two fewer index entries per feed row
-- (docs/benchmarks.md, "Store-layer ingest: a narrower change feed").
-- Index inserts were about a third of the writer's CPU on a first sync.
-- Every reader names the app user, so the primary key becomes
-- (app_user_ref, seq) and takes over transaction_changes_user_idx; the
-- link index goes: the deletes by link also name the app user, which
-- change_feed_check_scope guarantees is the link's.

ALTER TABLE transaction_changes DROP CONSTRAINT transaction_changes_pkey;
ALTER TABLE transaction_changes ADD CONSTRAINT transaction_changes_pkey PRIMARY KEY (app_user_ref, seq);
DROP INDEX transaction_changes_user_idx;
DROP INDEX transaction_changes_link_idx;

CREATE OR REPLACE FUNCTION transaction_changes_delete_for_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM transaction_changes c USING deleted_links d
    WHERE c.app_user_ref = d.app_user_ref AND c.link_id = d.id;
    RETURN NULL;
END
$$;
