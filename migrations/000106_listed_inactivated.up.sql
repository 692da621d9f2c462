-- The ids a sync of an account read in the bank's inactivatedTransactionIds
-- lists. The bank repeats the account's whole list (tens of thousands of
-- ids on a long history) on every transactions page. A sync applies each
-- part of it once and remembers which parts it applied only by digest,
-- and which ids it read only in a small filter, so its memory does not
-- grow with the list; the ids themselves are kept here. A page's
-- transactions that the filter may hold are looked up here, and those the
-- sync has read as inactivated are never written live again in that sync
-- (the tombstone stands), whichever reader's page listed them.
--
-- A row holds the ids one statement recorded (at most 1,000), under
-- listing, a random token of the sync of the account: writing a list is a
-- row per thousand ids, not an index entry per id, and a lookup (rare:
-- only for a page row the filter holds) reads the sync's rows. The sync
-- deletes its rows when it ends; rows a failed sync left are deleted by a
-- later sync of the account once a day old. The rows matter only while
-- their sync runs, so the table is unlogged: it costs no WAL, and a crash
-- that empties it also ends the syncs that wrote it.
CREATE UNLOGGED TABLE listed_inactivated_transactions (
    account_id  uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    listing     bigint      NOT NULL,
    ids         text[]      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX listed_inactivated_transactions_listing_idx
    ON listed_inactivated_transactions (account_id, listing);

COMMENT ON TABLE listed_inactivated_transactions IS 'Transaction ids a running sync (listing) read as inactivated, a row per statement: that sync never writes them live. Unlogged: rows matter only while their sync runs.';
