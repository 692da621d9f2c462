ALTER TABLE sync_state DROP COLUMN reconciled_through;
