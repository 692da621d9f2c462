-- Every sync asks, for each account, which live pending transactions have
-- waited too long (StalePendingIDs: the reconciliation's "old pending"
-- test and the stale-pending cleanup, twice per account and sync). The
-- question's filter (the later of the posted and updated instants) fits
-- no index, so it read every live transaction of the account through
-- transactions_account_posted_idx: about 20 ms for an account of 25,000
-- transactions, on every sync. Pending rows are few (0.5% of the
-- reporting benchmark's 6M); this index holds only them.
CREATE INDEX transactions_pending_idx
    ON transactions (account_id)
    WHERE removed_at IS NULL AND pending;
