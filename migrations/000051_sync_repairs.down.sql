-- Undo 000051.

ALTER TABLE sync_state DROP COLUMN reconciled_at;

ALTER TABLE sync_runs
    DROP COLUMN partial_reason,
    DROP COLUMN quarantined,
    DROP COLUMN stale_pending_removed,
    DROP COLUMN repaired_added,
    DROP COLUMN repaired_modified,
    DROP COLUMN repaired_removed,
    DROP COLUMN reconcile_reason,
    DROP COLUMN reconciled;

DROP TABLE quarantined_records;

ALTER TABLE transactions DROP COLUMN removal_reason;
