CREATE INDEX transactions_reporting_month_account_idx
    ON transactions ((date_trunc('month', ((posted_at AT TIME ZONE 'UTC')::date)::timestamp)::date), account_id)
    WHERE removed_at IS NULL;

DROP INDEX transactions_reporting_month_covering_idx;
