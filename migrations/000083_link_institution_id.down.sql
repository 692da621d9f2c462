-- Undo 000083.

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

COMMENT ON COLUMN reporting.accounts.external IS 'Held at another institution than the linking one (an external account the user linked in their bank).';

ALTER TABLE links DROP COLUMN banno_institution_id;
