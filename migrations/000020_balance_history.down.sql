-- Back to the snapshot-only balances of 000012.

DROP VIEW reporting.net_worth_daily;
DROP VIEW reporting.daily_balances;

CREATE VIEW reporting.daily_balances AS
SELECT
    l.app_user_ref,
    a.link_id,
    l.status::text AS link_status,
    a.id AS account_id,
    btrim(a.name) AS account_name,
    a.is_liability,
    a.contributes_to_totals,
    a.currency,
    s.day + g.n AS day,
    s.balance,
    CASE WHEN a.is_liability THEN -s.balance ELSE s.balance END AS balance_signed,
    s.available_balance,
    s.day AS snapshot_day,
    g.n > 0 AS carried_forward
FROM accounts a
JOIN links l ON l.id = a.link_id
-- Each snapshot covers the days up to the next snapshot (one window pass
-- over the account's snapshots, then exactly one generated row per day:
-- linear in days x accounts). The last snapshot covers the days up to today
-- (UTC), or up to the day the account became inactive.
CROSS JOIN LATERAL (
    SELECT b.day, b.balance, b.available_balance,
           lead(b.day) OVER (ORDER BY b.day) AS next_day
    FROM balance_snapshots b
    WHERE b.account_id = a.id
) s
CROSS JOIN LATERAL generate_series(
    0,
    coalesce(
        s.next_day - 1,
        greatest(
            s.day,
            CASE
                WHEN a.inactive_at IS NULL THEN (now() AT TIME ZONE 'UTC')::date
                ELSE least((now() AT TIME ZONE 'UTC')::date, (a.inactive_at AT TIME ZONE 'UTC')::date)
            END
        )
    ) - s.day
) AS g (n);

COMMENT ON VIEW reporting.daily_balances IS 'One balance per account per day, from the account''s first snapshot to today (UTC) or to the UTC day it became inactive; a day without a snapshot carries the last known snapshot forward.';
COMMENT ON COLUMN reporting.daily_balances.day IS 'UTC date.';
COMMENT ON COLUMN reporting.daily_balances.balance IS 'The balance in the bank''s convention (for liabilities positive = owed).';
COMMENT ON COLUMN reporting.daily_balances.balance_signed IS 'The balance from the user''s perspective: assets positive, debts negative.';
COMMENT ON COLUMN reporting.daily_balances.snapshot_day IS 'The day of the snapshot the balance comes from (earlier than day when carried forward).';
COMMENT ON COLUMN reporting.daily_balances.carried_forward IS 'No snapshot was taken that day: the balance is the last known one.';
COMMENT ON COLUMN reporting.daily_balances.link_status IS 'The link''s status: balances of a link that is not active are carried forward from its last sync.';

CREATE VIEW reporting.net_worth_daily AS
SELECT
    app_user_ref,
    day,
    currency,
    coalesce(sum(balance_signed) FILTER (WHERE NOT is_liability), 0) AS assets,
    coalesce(sum(balance) FILTER (WHERE is_liability), 0) AS debts,
    sum(balance_signed) AS net_worth,
    count(*) AS accounts
FROM reporting.daily_balances
WHERE contributes_to_totals
GROUP BY app_user_ref, day, currency;

COMMENT ON VIEW reporting.net_worth_daily IS 'Per app user and day (UTC): assets, debts and net worth over the accounts that contribute to totals, from reporting.daily_balances (carried forward). An account counts from its first snapshot on, and not after the day it became inactive. One row per currency (in practice one per day).';
COMMENT ON COLUMN reporting.net_worth_daily.assets IS 'Sum of the balances of non-liability accounts (an overdrawn account counts negative).';
COMMENT ON COLUMN reporting.net_worth_daily.debts IS 'Sum of the balances owed on Debt and Line of Credit accounts, as a positive number.';
COMMENT ON COLUMN reporting.net_worth_daily.net_worth IS 'assets - debts.';
COMMENT ON COLUMN reporting.net_worth_daily.accounts IS 'How many accounts have a balance that day.';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
        GRANT SELECT ON reporting.daily_balances, reporting.net_worth_daily TO pfm_reader;
    END IF;
END
$$;
