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
-- listing is the sync of the account that listed the id last (a random
-- token per sync); a later sync that no longer lists the id does not leave
-- it out. The rows matter only while that sync runs, so the table is
-- unlogged: it costs no WAL, and a crash that empties it also ends the
-- syncs that wrote it (they start again under a new listing).
CREATE UNLOGGED TABLE listed_inactivated_transactions (
    account_id              uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider_transaction_id text   NOT NULL,
    listing                 bigint NOT NULL,
    PRIMARY KEY (account_id, provider_transaction_id)
);

COMMENT ON TABLE listed_inactivated_transactions IS 'Transaction ids the bank listed as inactivated, with the sync (listing) that listed each last: that sync never writes them live. Unlogged: rows matter only while their sync runs.';
