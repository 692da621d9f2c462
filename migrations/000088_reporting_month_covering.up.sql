-- Reporting at scale: the cross-user month (spending by category of every
-- app user for one month) reads its rows from the month index alone.
--
-- With 000032's (month, account_id) index the month's ~250k transactions
-- of 5,000 app users were fetched from ~120k heap pages scattered over the
-- whole table (rows are stored in sync order, user after user): that heap
-- access was 80% of the query. The same keys with the columns the monthly
-- views and the transfer test read included make it an index-only scan.
-- A one-user month still probes (month, account_id).
CREATE INDEX transactions_reporting_month_covering_idx
    ON transactions ((date_trunc('month', ((posted_at AT TIME ZONE 'UTC')::date)::timestamp)::date), account_id)
    INCLUDE (posted_at, pending, signed_amount, currency, category, type, memo, provider_transaction_id)
    WHERE removed_at IS NULL;

DROP INDEX transactions_reporting_month_account_idx;
