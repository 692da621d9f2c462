-- The view of 000087 (the transfer test computed on every read), and no
-- stored verdicts.

CREATE OR REPLACE VIEW reporting.transactions AS
SELECT
    t.id AS transaction_id,
    t.provider_transaction_id,
    l.app_user_ref,
    a.link_id,
    t.account_id,
    btrim(a.name) AS account_name,
    a.is_liability AS account_is_liability,
    t.posted_at,
    (t.posted_at AT TIME ZONE 'UTC')::date AS posted_date,
    t.pending,
    t.signed_amount AS amount,
    t.amount AS raw_amount,
    t.currency,
    t.description,
    coalesce(nullif(btrim(t.merchant_name), ''), nullif(btrim(t.description), ''), 'unknown') AS merchant,
    coalesce(nullif(btrim(t.category), ''), 'uncategorized') AS category,
    t.type,
    t.memo,
    t.check_number,
    x.is_transfer,
    CASE
        WHEN x.is_transfer THEN 'transfer'
        WHEN t.signed_amount < 0 THEN 'spending'
        WHEN t.signed_amount = 0 THEN 'none'
        WHEN lower(btrim(t.category)) IN ('', 'income', 'transfer', 'payment', 'savings') THEN 'income'
        ELSE 'refund'
    END AS flow,
    t.replaces_provider_transaction_id,
    t.first_seen_at,
    t.updated_at
FROM transactions t
JOIN accounts a ON a.id = t.account_id
JOIN links l ON l.id = a.link_id
CROSS JOIN LATERAL (
    SELECT CASE
        -- Paychecks are never transfers.
        WHEN lower(btrim(t.category)) = 'income' OR t.signed_amount = 0 THEN false
        -- A counterpart with the opposite amount in another account of the
        -- same app user, posted within 3 days (UTC dates), where one side
        -- is marked as a transfer or a payment and the other is marked or
        -- uncategorized (a card often books a payment it receives so); an
        -- ordinary categorized purchase is never a counterpart. The search
        -- starts from the app user's other accounts and probes each with
        -- transactions_reporting_counterpart_idx. First: the
        -- counterpart is marked ...
        WHEN (lower(btrim(t.category)) IN ('', 'uncategorized', 'transfer', 'payment') OR upper(t.type) = 'TRANSFER') AND EXISTS (
            SELECT 1
            FROM links cl
            JOIN accounts ca ON ca.link_id = cl.id
            JOIN transactions c ON c.account_id = ca.id
            WHERE cl.app_user_ref = l.app_user_ref
              AND ca.id <> t.account_id
              AND c.removed_at IS NULL
              AND (lower(btrim(c.category)) IN ('transfer', 'payment') OR upper(c.type) = 'TRANSFER')
              AND c.signed_amount = -t.signed_amount
              AND c.posted_at >= ((t.posted_at AT TIME ZONE 'UTC')::date - 3)::timestamp AT TIME ZONE 'UTC'
              AND c.posted_at < ((t.posted_at AT TIME ZONE 'UTC')::date + 4)::timestamp AT TIME ZONE 'UTC'
              AND c.account_id <> t.account_id
              AND lower(btrim(c.category)) <> 'income'
        ) THEN true
        -- ... then: this side is marked, and the counterpart is marked or
        -- uncategorized.
        WHEN (lower(btrim(t.category)) IN ('transfer', 'payment') OR upper(t.type) = 'TRANSFER') AND EXISTS (
            SELECT 1
            FROM links cl
            JOIN accounts ca ON ca.link_id = cl.id
            JOIN transactions c ON c.account_id = ca.id
            WHERE cl.app_user_ref = l.app_user_ref
              AND ca.id <> t.account_id
              AND c.removed_at IS NULL
              AND (lower(btrim(c.category)) IN ('', 'uncategorized', 'transfer', 'payment') OR upper(c.type) = 'TRANSFER')
              AND c.signed_amount = -t.signed_amount
              AND c.posted_at >= ((t.posted_at AT TIME ZONE 'UTC')::date - 3)::timestamp AT TIME ZONE 'UTC'
              AND c.posted_at < ((t.posted_at AT TIME ZONE 'UTC')::date + 4)::timestamp AT TIME ZONE 'UTC'
              AND c.account_id <> t.account_id
              AND lower(btrim(c.category)) <> 'income'
        ) THEN true
        -- The memo names another account of the same app user by its masked
        -- number (with at least four digits in a row, matched whole and
        -- case-insensitively: *1234 does not match *12345).
        WHEN t.memo ~ '[0-9]{4}' AND EXISTS (
            SELECT 1
            FROM accounts oa
            JOIN links ol ON ol.id = oa.link_id
            WHERE ol.app_user_ref = l.app_user_ref
              AND oa.id <> t.account_id
              AND oa.masked_number ~ '[0-9]{4}'
              AND strpos(lower(t.memo), lower(btrim(oa.masked_number))) > 0
              AND t.memo ~* ('(^|[^0-9])' || regexp_replace(btrim(oa.masked_number), '([^[:alnum:][:space:]])', '\\\1', 'g') || '($|[^0-9])')
        ) THEN true
        ELSE false
    END AS is_transfer
    -- The fence: is_transfer is computed once per row, not once for
    -- is_transfer and again inside flow.
    OFFSET 0
) x
WHERE t.removed_at IS NULL
  -- Defensive: a pending transaction whose posted replacement (a new id
  -- naming it in replaces_provider_transaction_id) is live never counts
  -- twice, even before the bank inactivates the pending one.
  AND NOT (t.pending AND EXISTS (
      SELECT 1
      FROM transactions p
      WHERE p.account_id = t.account_id
        AND p.replaces_provider_transaction_id = t.provider_transaction_id
        AND p.removed_at IS NULL
        AND NOT p.pending
  ));

DROP TRIGGER links_transfer_verdicts_delete ON links;
DROP TRIGGER links_transfer_verdicts_update ON links;
DROP TRIGGER accounts_transfer_verdicts_delete ON accounts;
DROP TRIGGER accounts_transfer_verdicts_update ON accounts;
DROP TRIGGER accounts_transfer_verdicts_insert ON accounts;
DROP TRIGGER transactions_transfer_verdicts_truncate ON transactions;
DROP TRIGGER transactions_transfer_verdicts_delete ON transactions;
DROP TRIGGER transactions_transfer_verdicts_update ON transactions;
DROP TRIGGER transactions_transfer_verdicts_insert ON transactions;
DROP FUNCTION fill_transfer_verdicts(text, integer);
DROP FUNCTION transfer_verdicts_forget_links();
DROP FUNCTION transfer_verdicts_forget_accounts();
DROP FUNCTION transfer_verdicts_truncate();
DROP FUNCTION transfer_verdicts_forget_transactions();
DROP FUNCTION transfer_verdicts_forget_users(text[], boolean);
DROP FUNCTION transfer_verdicts_lock_shared(text[]);
DROP FUNCTION transfer_can_pair(text, text, numeric, timestamptz);
DROP TABLE transaction_transfer_verdicts;
