-- The linking bank's own institution id (the ID token's institution_id
-- claim), so an account is labelled external by its institution id, not
-- by comparing the bank's name with the operator's display name (which
-- need not match: the bank's own accounts were labelled external).

ALTER TABLE links ADD COLUMN banno_institution_id text NOT NULL DEFAULT '';

COMMENT ON COLUMN links.banno_institution_id IS 'The linking institution''s UUID from the ID token''s institution_id claim at consent; empty when the institution did not send it.';

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
    CASE
        WHEN l.banno_institution_id <> '' THEN a.institution_id <> '' AND a.institution_id <> l.banno_institution_id
        ELSE a.institution_id <> '' AND a.institution_name <> '' AND a.institution_name <> i.display_name
    END AS external,
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

COMMENT ON COLUMN reporting.accounts.external IS 'Held at another institution than the linking one (an external account the user linked in their bank): its institution id differs from the link''s (from the ID token at consent); for a link consented without that claim, its institution name differs from the institution''s display name.';
