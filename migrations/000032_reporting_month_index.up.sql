-- Cross-user monthly reports (spending by category of every app user for
-- one month) filter on the month of the UTC posted date, the grouping
-- expression of the monthly views: an index on that expression reads the
-- month's transactions instead of every transaction. account_id second, so
-- that a one-user month query probes exactly its accounts' month (an index
-- on the month alone made the planner read every user's month for one
-- user: 9 ms became 440 ms).
CREATE INDEX transactions_reporting_month_account_idx
    ON transactions ((date_trunc('month', ((posted_at AT TIME ZONE 'UTC')::date)::timestamp)::date), account_id)
    WHERE removed_at IS NULL;
