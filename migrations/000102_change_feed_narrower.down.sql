CREATE OR REPLACE FUNCTION transaction_changes_delete_for_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM transaction_changes c USING deleted_links d WHERE c.link_id = d.id;
    RETURN NULL;
END
$$;

CREATE INDEX transaction_changes_link_idx ON transaction_changes (link_id, seq);
CREATE INDEX transaction_changes_user_idx ON transaction_changes (app_user_ref, seq);
ALTER TABLE transaction_changes DROP CONSTRAINT transaction_changes_pkey;
ALTER TABLE transaction_changes ADD CONSTRAINT transaction_changes_pkey PRIMARY KEY (seq);
