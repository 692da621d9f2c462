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

-- The balance history of 000020, without the duplicate flag.
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
    d.day,
    d.balance,
    CASE WHEN a.is_liability THEN -d.balance ELSE d.balance END AS balance_signed,
    d.available_balance,
    d.snapshot_day,
    d.snapshot_day IS NOT NULL AND d.snapshot_day <> d.day AS carried_forward,
    d.source,
    d.source <> 'derived' AS observed
FROM accounts a
JOIN links l ON l.id = a.link_id
CROSS JOIN LATERAL (
    WITH ev AS (
        SELECT t.posted_at AS at, 0 AS kind, t.sequence AS seq, t.id AS tid, t.amount,
               t.running_balance, NULL::numeric AS snap_balance, NULL::numeric AS snap_available, NULL::date AS snap_day
        FROM transactions t
        WHERE t.account_id = a.id AND t.removed_at IS NULL AND NOT t.pending
        UNION ALL
        SELECT b.as_of, 1, NULL, NULL, 0, NULL, b.balance, b.available_balance, b.day
        FROM balance_snapshots b
        WHERE b.account_id = a.id
    ),
    run AS (
        SELECT ev.*,
               (ev.at AT TIME ZONE 'UTC')::date AS day,
               sum(ev.amount) OVER w AS cum,
               count(ev.snap_day) OVER w AS snap_no
        FROM ev
        WINDOW w AS (ORDER BY ev.at, ev.kind, ev.seq, ev.tid ROWS UNBOUNDED PRECEDING)
    ),
    snaps AS (
        SELECT run.snap_no, run.snap_day, run.snap_available, run.snap_balance - run.cum AS offset_balance
        FROM run
        WHERE run.kind = 1
    ),
    per_day AS (
        -- The day's last event: the running sum at the day's close, the
        -- latest snapshot so far, and the bank's runningBalance if the last
        -- event is a transaction.
        SELECT DISTINCT ON (run.day) run.day, run.cum, run.snap_no,
               CASE WHEN run.kind = 0 THEN run.running_balance END AS running_balance
        FROM run
        ORDER BY run.day, run.at DESC, run.kind DESC, run.seq DESC, run.tid DESC
    ),
    days AS (
        SELECT s.day::date AS day
        FROM (SELECT min(run.day) AS first_day, max(run.day) FILTER (WHERE run.kind = 1) AS last_snapshot FROM run) bounds
        CROSS JOIN LATERAL generate_series(
            bounds.first_day,
            greatest(
                bounds.last_snapshot,
                CASE
                    WHEN a.inactive_at IS NULL THEN (now() AT TIME ZONE 'UTC')::date
                    ELSE least((now() AT TIME ZONE 'UTC')::date, (a.inactive_at AT TIME ZONE 'UTC')::date)
                END
            ),
            interval '1 day'
        ) AS s (day)
        WHERE bounds.last_snapshot IS NOT NULL
    ),
    filled AS (
        SELECT days.day, p.cum, p.snap_no, p.running_balance,
               count(p.day) OVER (ORDER BY days.day) AS grp
        FROM days
        LEFT JOIN per_day p ON p.day = days.day
    ),
    carried AS (
        -- A day without events carries the previous day's close.
        SELECT filled.day, filled.running_balance,
               first_value(filled.cum) OVER (PARTITION BY filled.grp ORDER BY filled.day) AS cum,
               first_value(filled.snap_no) OVER (PARTITION BY filled.grp ORDER BY filled.day) AS snap_no
        FROM filled
    )
    SELECT c.day,
           c.cum + coalesce(so.offset_balance, sf.offset_balance) AS balance,
           so.snap_available AS available_balance,
           so.snap_day AS snapshot_day,
           CASE
               WHEN so.snap_day = c.day THEN 'snapshot'
               WHEN c.running_balance = c.cum + coalesce(so.offset_balance, sf.offset_balance) THEN 'running_balance'
               ELSE 'derived'
           END AS source
    FROM carried c
    CROSS JOIN (SELECT snaps.offset_balance FROM snaps WHERE snaps.snap_no = 1) sf
    LEFT JOIN snaps so ON so.snap_no = c.snap_no
) d;

COMMENT ON VIEW reporting.daily_balances IS 'One closing balance per account per UTC day, from the account''s first posted transaction (or first snapshot) to today (UTC) or to the UTC day it became inactive: after a snapshot, the snapshot plus the transactions posted since; before the first snapshot, reconstructed backwards from it through the posted transactions. source says whether a day was observed (a snapshot, or the bank''s runningBalance agreeing) or derived.';
COMMENT ON COLUMN reporting.daily_balances.day IS 'UTC date.';
COMMENT ON COLUMN reporting.daily_balances.balance IS 'The closing balance in the bank''s convention (for liabilities positive = owed).';
COMMENT ON COLUMN reporting.daily_balances.balance_signed IS 'The balance from the user''s perspective: assets positive, debts negative.';
COMMENT ON COLUMN reporting.daily_balances.available_balance IS 'The available balance of the latest snapshot at or before the day; NULL before the first snapshot.';
COMMENT ON COLUMN reporting.daily_balances.snapshot_day IS 'The day of the latest snapshot taken at or before the day; NULL for days reconstructed backwards, before the first snapshot.';
COMMENT ON COLUMN reporting.daily_balances.carried_forward IS 'No snapshot was taken that day: the balance is the latest snapshot plus the transactions posted since.';
COMMENT ON COLUMN reporting.daily_balances.link_status IS 'The link''s status: balances of a link that is not active are carried forward from its last sync.';
COMMENT ON COLUMN reporting.daily_balances.source IS 'snapshot: a snapshot was taken that day; running_balance: the bank''s runningBalance on the day''s last posted transaction agrees with the balance; derived: reconstructed from a snapshot through the posted transactions.';
COMMENT ON COLUMN reporting.daily_balances.observed IS 'source is snapshot or running_balance.';

CREATE VIEW reporting.net_worth_daily AS
SELECT
    app_user_ref,
    day,
    currency,
    coalesce(sum(balance_signed) FILTER (WHERE NOT is_liability), 0) AS assets,
    coalesce(sum(balance) FILTER (WHERE is_liability), 0) AS debts,
    sum(balance_signed) AS net_worth,
    count(*) AS accounts,
    bool_and(observed) AS observed
FROM reporting.daily_balances
WHERE contributes_to_totals
GROUP BY app_user_ref, day, currency;

COMMENT ON VIEW reporting.net_worth_daily IS 'Per app user and day (UTC): assets, debts and net worth over the accounts that contribute to totals, from reporting.daily_balances, so back through the whole synced history. An account counts from its first posted transaction or snapshot on, and not after the day it became inactive. One row per currency (in practice one per day).';
COMMENT ON COLUMN reporting.net_worth_daily.accounts IS 'How many accounts have a balance that day.';
COMMENT ON COLUMN reporting.net_worth_daily.observed IS 'Every account''s balance that day was observed (a snapshot or an agreeing runningBalance), none derived.';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
        GRANT SELECT ON reporting.accounts, reporting.daily_balances, reporting.net_worth_daily TO pfm_reader;
    END IF;
END
$$;

DROP INDEX accounts_identity_idx;
ALTER TABLE accounts DROP COLUMN institution_name, DROP COLUMN institution_id;
