-- Cross-user monthly reports (spending by category of every app user for
-- one month) filter on the month of the UTC posted date, the grouping
-- expression of the monthly views: an index on that expression reads the
-- month's transactions instead of every transaction.
CREATE INDEX transactions_reporting_month_idx
    ON transactions ((date_trunc('month', ((posted_at AT TIME ZONE 'UTC')::date)::timestamp)::date))
    WHERE removed_at IS NULL;
