DROP TRIGGER links_delete_transaction_changes ON links;
DROP FUNCTION transaction_changes_delete_for_links();
DROP FUNCTION change_feed_check_scope(text, uuid, uuid);
ALTER TABLE transaction_changes
    ADD CONSTRAINT transaction_changes_link_id_fkey FOREIGN KEY (link_id) REFERENCES links (id) ON DELETE CASCADE;
