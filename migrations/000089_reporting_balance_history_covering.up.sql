-- Reporting at scale: reporting.daily_balances (and net_worth_daily on top
-- of it) reads each account's posted, live transactions from one index
-- alone. Reading them from the table touched about one heap page per
-- handful of transactions, scattered over the table; with a cold cache
-- that random I/O was most of the query. This index holds exactly the
-- columns the balance history reads, in the order it reads them.
CREATE INDEX transactions_balance_history_idx
    ON transactions (account_id, posted_at)
    INCLUDE (sequence, id, amount, running_balance)
    WHERE removed_at IS NULL AND NOT pending;
