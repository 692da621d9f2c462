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
    s.day + g.n AS day,
    s.balance,
    CASE WHEN a.is_liability THEN -s.balance ELSE s.balance END AS balance_signed,
    s.available_balance,
    s.day AS snapshot_day,
    g.n > 0 AS carried_forward,
    d.duplicate_of IS NOT NULL AS duplicate
FROM accounts a
JOIN links l ON l.id = a.link_id
CROSS JOIN LATERAL (SELECT (
        SELECT o.id FROM accounts o JOIN links ol ON ol.id = o.link_id
        WHERE a.institution_id <> '' AND a.masked_number <> '' AND ol.app_user_ref = l.app_user_ref
          AND o.institution_id = a.institution_id AND o.account_type = a.account_type
          AND o.masked_number = a.masked_number AND (o.first_seen_at, o.id) < (a.first_seen_at, a.id)
        ORDER BY o.first_seen_at, o.id LIMIT 1
    ) AS duplicate_of) d
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

COMMENT ON COLUMN reporting.daily_balances.duplicate IS 'The account duplicates one seen earlier (see reporting.accounts.duplicate_of): it is left out of reporting.net_worth_daily.';

CREATE OR REPLACE VIEW reporting.net_worth_daily AS
SELECT
    app_user_ref,
    day,
    currency,
    coalesce(sum(balance_signed) FILTER (WHERE NOT is_liability), 0) AS assets,
    coalesce(sum(balance) FILTER (WHERE is_liability), 0) AS debts,
    sum(balance_signed) AS net_worth,
    count(*) AS accounts
FROM reporting.daily_balances
WHERE contributes_to_totals AND NOT duplicate
GROUP BY app_user_ref, day, currency;

COMMENT ON VIEW reporting.net_worth_daily IS 'Per app user and day (UTC): assets, debts and net worth over the accounts that contribute to totals, from reporting.daily_balances (carried forward), each real account once (duplicates reported by a second link are left out). An account counts from its first snapshot on, and not after the day it became inactive. One row per currency (in practice one per day).';
