-- The ids a sync of an account read in the bank's inactivatedTransactionIds
-- lists. The bank repeats the account's whole list (tens of thousands of
-- ids on a long history) on every transactions page. A sync applies each
-- part of it once and remembers which parts it applied only by digest, so
-- its memory does not grow with the history; the ids themselves are kept
-- here, where a page's upsert looks its transactions up: a transaction the
-- sync has read as inactivated is never written live again in that sync
-- (the tombstone stands), whichever reader's page lists it and whichever
-- commits first.
--
-- listing is the sync of the account that listed the id last (a random
-- token per sync); a later sync that no longer lists the id does not leave
-- it out. Rows are never read by the reporting views.
CREATE TABLE listed_inactivated_transactions (
    account_id              uuid   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider_transaction_id text   NOT NULL,
    listing                 bigint NOT NULL,
    PRIMARY KEY (account_id, provider_transaction_id)
);

COMMENT ON TABLE listed_inactivated_transactions IS 'Transaction ids the bank listed as inactivated, with the sync (listing) that listed each last: a page of that sync never writes them live.';
