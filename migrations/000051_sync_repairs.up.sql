-- What the sync repairs and sets aside: why a transaction was tombstoned,
-- bank records that could not be stored (quarantine), the reconciliation
-- pass's repairs per sync run, and when each account was last reconciled.

ALTER TABLE transactions ADD COLUMN removal_reason text;

COMMENT ON COLUMN transactions.removal_reason IS 'Why removed_at is set: inactivated (the bank listed the id in inactivatedTransactionIds), stale_pending (a pending row the bank stopped reporting for longer than the stale-pending age), reconciled (the bank no longer returns it in a reconciled posted-date window). NULL for rows removed before this column existed.';

CREATE TABLE quarantined_records (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id       uuid NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    record_key    text NOT NULL,
    provider_id   text NOT NULL DEFAULT '',
    reason        text NOT NULL,
    raw           text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    times_seen    integer NOT NULL DEFAULT 1,
    resolved_at   timestamptz,
    UNIQUE (account_id, record_key)
);

CREATE INDEX quarantined_records_link_idx ON quarantined_records (link_id, last_seen_at DESC) WHERE resolved_at IS NULL;

COMMENT ON TABLE quarantined_records IS 'Bank records the sync could not store faithfully (malformed JSON, no id, an amount that is not a decimal): kept verbatim with the reason, while the rest of their page is stored. A record the bank later serves correctly is resolved.';
COMMENT ON COLUMN quarantined_records.record_key IS 'The provider transaction id when the record has one, else a hash of its raw JSON.';
COMMENT ON COLUMN quarantined_records.raw IS 'The record exactly as received (text: it may not be valid JSON).';
COMMENT ON COLUMN quarantined_records.resolved_at IS 'When the bank served the same transaction id in a form that was stored.';

ALTER TABLE sync_runs
    ADD COLUMN reconciled              boolean NOT NULL DEFAULT false,
    ADD COLUMN reconcile_reason        text,
    ADD COLUMN repaired_removed        integer NOT NULL DEFAULT 0,
    ADD COLUMN repaired_modified       integer NOT NULL DEFAULT 0,
    ADD COLUMN repaired_added          integer NOT NULL DEFAULT 0,
    ADD COLUMN stale_pending_removed   integer NOT NULL DEFAULT 0,
    ADD COLUMN quarantined             integer NOT NULL DEFAULT 0,
    ADD COLUMN partial_reason          text;

COMMENT ON COLUMN sync_runs.reconciled IS 'The run included a reconciliation pass (a re-read of a recent posted-date window).';
COMMENT ON COLUMN sync_runs.reconcile_reason IS 'Why the pass ran: scheduled, or the suspicious sign that triggered it (old_pending, repeated_page, shrunk_count).';
COMMENT ON COLUMN sync_runs.repaired_removed IS 'Live rows the reconciliation tombstoned: the bank no longer returns them (a missed inactivation).';
COMMENT ON COLUMN sync_runs.repaired_modified IS 'Rows the reconciliation corrected: the bank returns them changed (a missed modification).';
COMMENT ON COLUMN sync_runs.repaired_added IS 'Rows the reconciliation added: the incremental feed never returned them.';
COMMENT ON COLUMN sync_runs.stale_pending_removed IS 'Pending rows tombstoned because the bank stopped reporting them longer than the stale-pending age.';
COMMENT ON COLUMN sync_runs.quarantined IS 'Bank records set aside in quarantined_records during the run.';
COMMENT ON COLUMN sync_runs.partial_reason IS 'Why a partial run is partial: forbidden (a scope refused), quarantined (records set aside), or both comma-separated.';

ALTER TABLE sync_state ADD COLUMN reconciled_at timestamptz;

COMMENT ON COLUMN sync_state.reconciled_at IS 'When the account''s recent window was last reconciled (the wall clock); the scheduled pass runs when it is older than the reconcile interval.';
