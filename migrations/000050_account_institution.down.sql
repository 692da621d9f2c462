-- Restore the reporting views of 000012 and drop the institution columns.

DROP VIEW reporting.net_worth_daily;
DROP VIEW reporting.daily_balances;
DROP VIEW reporting.accounts;

CREATE VIEW reporting.accounts AS
SELECT
    l.app_user_ref,
    a.link_id,
    l.status::text AS link_status,
    i.slug AS institution_slug,
    i.display_name AS institution_name,
    a.id AS account_id,
    btrim(a.name) AS name,
    a.masked_number,
    a.account_type,
    a.account_subtype,
    a.account_status,
    a.is_liability,
    a.currency,
    a.balance,
    a.available_balance,
    CASE WHEN a.is_liability THEN -a.balance ELSE a.balance END AS current_balance_signed,
    CASE
        WHEN a.is_liability THEN coalesce(a.available_credit, a.credit_limit - a.balance)
        ELSE a.available_balance
    END AS available,
    a.credit_limit,
    a.payment_due_amount,
    a.payment_due_date,
    a.interest_rate,
    a.balance_as_of,
    a.hidden,
    a.contributes_to_totals,
    a.inactive_at IS NOT NULL AS inactive,
    a.inactive_at,
    a.first_seen_at
FROM accounts a
JOIN links l ON l.id = a.link_id
JOIN institutions i ON i.id = l.institution_id;
COMMENT ON VIEW reporting.accounts IS 'One row per account of every link (whatever the link''s status), with its current balance in the bank''s convention and from the user''s perspective.';
COMMENT ON COLUMN reporting.accounts.app_user_ref IS 'The PFM app''s reference for its user; filter on it.';
COMMENT ON COLUMN reporting.accounts.link_status IS 'active, reauth_required, revoked or disabled: balances of a link that is not active stop being refreshed.';
COMMENT ON COLUMN reporting.accounts.masked_number IS 'The masked account number as the bank shows it, e.g. *1234.';
COMMENT ON COLUMN reporting.accounts.account_type IS 'Deposit, Line of Credit, Debt, Investment, Bill Pay, Other or Unknown.';
COMMENT ON COLUMN reporting.accounts.is_liability IS 'Debt and Line of Credit accounts: the bank reports their balance as the amount owed (positive = owed).';
COMMENT ON COLUMN reporting.accounts.balance IS 'Current (ledger) balance as the bank gives it: for liabilities positive means owed.';
COMMENT ON COLUMN reporting.accounts.current_balance_signed IS 'The balance from the user''s perspective: assets positive, debts negative (-balance for liabilities).';
COMMENT ON COLUMN reporting.accounts.available IS 'What the user can spend: the available balance for deposit accounts; for liabilities the available credit (or credit_limit - balance when the bank sends no available credit).';
COMMENT ON COLUMN reporting.accounts.balance_as_of IS 'When the bank last refreshed the balance.';
COMMENT ON COLUMN reporting.accounts.contributes_to_totals IS 'The bank''s contributesToAggregateTotals: only these accounts count in reporting.net_worth_daily.';
COMMENT ON COLUMN reporting.accounts.inactive IS 'The bank no longer reports the account (closed or removed); its history stays.';

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

DROP INDEX accounts_identity_idx;
ALTER TABLE accounts DROP COLUMN institution_name, DROP COLUMN institution_id;
