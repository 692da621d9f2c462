-- The institution that holds each account (an account linked through one
-- bank may be held at another: Banno's external accounts), exposed in
-- reporting.accounts; the same real account reported by two links of one
-- app user counts once in net worth.

ALTER TABLE accounts
    ADD COLUMN institution_id   text NOT NULL DEFAULT '',
    ADD COLUMN institution_name text NOT NULL DEFAULT '';

COMMENT ON COLUMN accounts.institution_id IS 'The bank''s institution{id} of the account: the institution that holds it (for an external account, not the linking bank). Empty when the bank sent none.';
COMMENT ON COLUMN accounts.institution_name IS 'The bank''s institution{name} of the account.';

CREATE INDEX accounts_identity_idx ON accounts (institution_id, account_type, masked_number)
    WHERE institution_id <> '' AND masked_number <> '';

-- An account is a duplicate when another account of the same app user has
-- the same identity (institution id, account type, masked number, all
-- non-empty) and was seen first (ties: the smaller id). The rule is written
-- inline in both views (a view reads the tables with its owner's rights).

CREATE OR REPLACE VIEW reporting.accounts AS
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
    a.first_seen_at,
    a.institution_id AS account_institution_id,
    coalesce(nullif(a.institution_name, ''), i.display_name) AS account_institution_name,
    a.institution_id <> '' AND a.institution_name <> '' AND a.institution_name <> i.display_name AS external,
    (
        SELECT o.id FROM accounts o JOIN links ol ON ol.id = o.link_id
        WHERE a.institution_id <> '' AND a.masked_number <> '' AND ol.app_user_ref = l.app_user_ref
          AND o.institution_id = a.institution_id AND o.account_type = a.account_type
          AND o.masked_number = a.masked_number AND (o.first_seen_at, o.id) < (a.first_seen_at, a.id)
        ORDER BY o.first_seen_at, o.id LIMIT 1
    ) AS duplicate_of
FROM accounts a
JOIN links l ON l.id = a.link_id
JOIN institutions i ON i.id = l.institution_id;

COMMENT ON COLUMN reporting.accounts.institution_name IS 'The linking institution (the bank the user consented at).';
COMMENT ON COLUMN reporting.accounts.account_institution_id IS 'The institution that holds the account, as the bank reports it (institution{id}); empty when not reported.';
COMMENT ON COLUMN reporting.accounts.account_institution_name IS 'The institution that holds the account (institution{name}); the linking institution when not reported. Label accounts with this.';
COMMENT ON COLUMN reporting.accounts.external IS 'Held at another institution than the linking one (an external account the user linked in their bank).';
COMMENT ON COLUMN reporting.accounts.duplicate_of IS 'Set when the same real account (same app user, institution id, account type and masked number) is already reported by another account row seen earlier: this row does not count in net worth.';

CREATE OR REPLACE VIEW reporting.daily_balances AS
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
    d.source <> 'derived' AS observed,
    dup.duplicate_of IS NOT NULL AS duplicate
FROM accounts a
JOIN links l ON l.id = a.link_id
CROSS JOIN LATERAL (SELECT (
        SELECT o.id FROM accounts o JOIN links ol ON ol.id = o.link_id
        WHERE a.institution_id <> '' AND a.masked_number <> '' AND ol.app_user_ref = l.app_user_ref
          AND o.institution_id = a.institution_id AND o.account_type = a.account_type
          AND o.masked_number = a.masked_number AND (o.first_seen_at, o.id) < (a.first_seen_at, a.id)
        ORDER BY o.first_seen_at, o.id LIMIT 1
    ) AS duplicate_of) dup
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

COMMENT ON COLUMN reporting.daily_balances.duplicate IS 'The account duplicates one seen earlier (see reporting.accounts.duplicate_of): it is left out of reporting.net_worth_daily.';

CREATE OR REPLACE VIEW reporting.net_worth_daily AS
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
WHERE contributes_to_totals AND NOT duplicate
GROUP BY app_user_ref, day, currency;

COMMENT ON VIEW reporting.net_worth_daily IS 'Per app user and day (UTC): assets, debts and net worth over the accounts that contribute to totals, from reporting.daily_balances, so back through the whole synced history, each real account once (duplicates reported by a second link are left out). An account counts from its first posted transaction or snapshot on, and not after the day it became inactive. One row per currency (in practice one per day).';
