-- The reporting schema: read-only views (and one function) for dashboard
-- authors, readable by the pfm_reader role, which cannot read any table of
-- the public schema. docs/sql.md documents every view with example queries.
--
-- Conventions shared by every view:
-- - amounts are numeric, never float;
-- - amount is the user's perspective for every account type: money in is
--   positive, money out negative (transactions.signed_amount);
-- - dates are UTC dates: posted_date = (posted_at AT TIME ZONE 'UTC')::date,
--   whatever the session's TimeZone;
-- - removed transactions (removed_at set) are history and appear nowhere but
--   in the change feed.

CREATE SCHEMA reporting;

COMMENT ON SCHEMA reporting IS 'Read-only views for dashboards (see docs/sql.md). Granted to pfm_reader, which cannot read the public tables.';

-- Indexes backing the views.

-- The transfer heuristic looks, for every transaction, for a counterpart
-- marked as a transfer or a payment with the opposite amount a few days
-- around it: a small index of the marked transactions only.
CREATE INDEX transactions_reporting_transfer_idx ON transactions (signed_amount, posted_at)
    WHERE removed_at IS NULL AND (lower(btrim(category)) IN ('transfer', 'payment') OR upper(type) = 'TRANSFER');

-- A live pending transaction that a live posted one replaced is hidden.
CREATE INDEX transactions_reporting_replaces_idx ON transactions (account_id, replaces_provider_transaction_id)
    WHERE replaces_provider_transaction_id IS NOT NULL AND removed_at IS NULL;

-- reporting.accounts

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

-- reporting.transactions

CREATE VIEW reporting.transactions AS
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
        -- same app user, posted within 3 days (UTC dates), where either
        -- side is marked as a transfer or a payment. First: the counterpart
        -- is marked (a probe of a small partial index) ...
        WHEN EXISTS (
            SELECT 1
            FROM transactions c
            JOIN accounts ca ON ca.id = c.account_id
            JOIN links cl ON cl.id = ca.link_id
            WHERE c.removed_at IS NULL
              AND (lower(btrim(c.category)) IN ('transfer', 'payment') OR upper(c.type) = 'TRANSFER')
              AND c.signed_amount = -t.signed_amount
              AND c.posted_at >= ((t.posted_at AT TIME ZONE 'UTC')::date - 3)::timestamp AT TIME ZONE 'UTC'
              AND c.posted_at < ((t.posted_at AT TIME ZONE 'UTC')::date + 4)::timestamp AT TIME ZONE 'UTC'
              AND c.account_id <> t.account_id
              AND lower(btrim(c.category)) <> 'income'
              AND cl.app_user_ref = l.app_user_ref
        ) THEN true
        -- ... then: this side is marked, and the counterpart is anything
        -- but income.
        WHEN (lower(btrim(t.category)) IN ('transfer', 'payment') OR upper(t.type) = 'TRANSFER') AND EXISTS (
            SELECT 1
            FROM transactions c
            JOIN accounts ca ON ca.id = c.account_id
            JOIN links cl ON cl.id = ca.link_id
            WHERE c.removed_at IS NULL
              AND c.signed_amount = -t.signed_amount
              AND c.posted_at >= ((t.posted_at AT TIME ZONE 'UTC')::date - 3)::timestamp AT TIME ZONE 'UTC'
              AND c.posted_at < ((t.posted_at AT TIME ZONE 'UTC')::date + 4)::timestamp AT TIME ZONE 'UTC'
              AND c.account_id <> t.account_id
              AND lower(btrim(c.category)) <> 'income'
              AND cl.app_user_ref = l.app_user_ref
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

COMMENT ON VIEW reporting.transactions IS 'Live transactions (never removed ones) of every account, from the user''s perspective, with the own-account transfer flag and the cash-flow class. A pending transaction already replaced by a live posted one is left out.';
COMMENT ON COLUMN reporting.transactions.transaction_id IS 'pfmsync''s id of the transaction (stable; the change feed refers to it).';
COMMENT ON COLUMN reporting.transactions.provider_transaction_id IS 'The bank''s id of the transaction, unique within its account.';
COMMENT ON COLUMN reporting.transactions.posted_at IS 'The bank''s posted instant (datePosted).';
COMMENT ON COLUMN reporting.transactions.posted_date IS 'The UTC date of posted_at, independent of the session time zone; every monthly view groups on it.';
COMMENT ON COLUMN reporting.transactions.pending IS 'Pending at the bank (InstitutionPending): the amount may still change or the transaction may disappear.';
COMMENT ON COLUMN reporting.transactions.amount IS 'User perspective for every account type: money in positive, money out negative (a card purchase is negative, a card payment received positive).';
COMMENT ON COLUMN reporting.transactions.raw_amount IS 'The amount as the bank sent it: inverted for Debt and Line of Credit accounts (a purchase is positive).';
COMMENT ON COLUMN reporting.transactions.merchant IS 'The merchant name, else the description, else ''unknown''.';
COMMENT ON COLUMN reporting.transactions.category IS 'The expense category (the user''s custom one when set); ''uncategorized'' when the bank gave none.';
COMMENT ON COLUMN reporting.transactions.type IS 'The bank''s type: POS, CHECK, ECHECK, FEE, INTEREST, TAX, TRANSFER, ONLINE, ATM, UNKNOWN.';
COMMENT ON COLUMN reporting.transactions.is_transfer IS 'Money moved between two accounts of the same app user (own transfer, card or loan payment): never for category income; otherwise when (a) a live transaction with the opposite amount, not of category income, exists in another account of the same app user, posted within 3 days (UTC dates), and one of the two has category transfer or payment or type TRANSFER; or (b) the memo names the masked number (four or more digits, matched whole) of another account of the same app user. Derived when read: it can turn true when the counterpart arrives. A transfer to an account that is not linked is not one.';
COMMENT ON COLUMN reporting.transactions.flow IS 'Cash-flow class: transfer (is_transfer); spending (amount < 0); income (amount > 0 in category income, transfer, payment, savings or uncategorized); refund (amount > 0 in any other category: it reduces spending in that category); none (amount 0).';
COMMENT ON COLUMN reporting.transactions.replaces_provider_transaction_id IS 'For a posted transaction that arrived under a new id: the pending transaction it replaced.';

-- Daily balances and net worth.

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

-- Cash flow and spending. Posted transactions only: a pending amount may
-- still change or vanish. Refunds reduce spending in their category.

CREATE VIEW reporting.monthly_cash_flow AS
SELECT
    t.app_user_ref,
    date_trunc('month', t.posted_date::timestamp)::date AS month,
    t.currency,
    coalesce(sum(t.amount) FILTER (WHERE NOT t.pending AND f.flow = 'income'), 0) AS income,
    coalesce(-sum(t.amount) FILTER (WHERE NOT t.pending AND f.flow IN ('spending', 'refund')), 0) AS spending,
    coalesce(sum(t.amount) FILTER (WHERE NOT t.pending AND f.flow = 'refund'), 0) AS refunds,
    coalesce(sum(t.amount) FILTER (WHERE NOT t.pending AND f.flow IN ('income', 'spending', 'refund')), 0) AS net,
    count(*) FILTER (WHERE NOT t.pending AND f.flow IN ('income', 'spending', 'refund')) AS transactions,
    count(*) FILTER (WHERE NOT t.pending AND f.flow = 'transfer') AS transfers_excluded,
    count(*) FILTER (WHERE t.pending AND f.flow IN ('income', 'spending', 'refund')) AS pending_count,
    coalesce(sum(t.amount) FILTER (WHERE t.pending AND f.flow IN ('income', 'spending', 'refund')), 0) AS pending_net
FROM reporting.transactions t
-- The fence evaluates each row's flow (and so its transfer test) once, not
-- once per aggregate that uses it; filters on app_user_ref still reach the
-- tables.
CROSS JOIN LATERAL (SELECT t.flow OFFSET 0) f
GROUP BY t.app_user_ref, date_trunc('month', t.posted_date::timestamp)::date, t.currency;

COMMENT ON VIEW reporting.monthly_cash_flow IS 'Per app user and calendar month (of the UTC posted date): income, spending and net of posted transactions, own-account transfers excluded. Pending transactions are not in the totals; they are reported apart (pending_count, pending_net).';
COMMENT ON COLUMN reporting.monthly_cash_flow.month IS 'First day of the month.';
COMMENT ON COLUMN reporting.monthly_cash_flow.income IS 'Sum of posted money in that is neither a transfer nor a refund (flow = income).';
COMMENT ON COLUMN reporting.monthly_cash_flow.spending IS 'Posted money out net of refunds, as a positive number: the sum of reporting.spending_by_category.amount for the month.';
COMMENT ON COLUMN reporting.monthly_cash_flow.refunds IS 'Posted refunds (flow = refund), already deducted from spending.';
COMMENT ON COLUMN reporting.monthly_cash_flow.net IS 'income - spending.';
COMMENT ON COLUMN reporting.monthly_cash_flow.transactions IS 'Posted transactions counted in income or spending.';
COMMENT ON COLUMN reporting.monthly_cash_flow.transfers_excluded IS 'Posted own-account transfers left out of income and spending (both sides count).';
COMMENT ON COLUMN reporting.monthly_cash_flow.pending_count IS 'Pending non-transfer transactions of the month, not in the totals.';
COMMENT ON COLUMN reporting.monthly_cash_flow.pending_net IS 'Their sum (user perspective: negative when pending spending dominates).';

CREATE VIEW reporting.spending_by_category AS
SELECT
    t.app_user_ref,
    date_trunc('month', t.posted_date::timestamp)::date AS month,
    t.category,
    t.currency,
    -sum(t.amount) AS amount,
    coalesce(sum(t.amount) FILTER (WHERE f.flow = 'refund'), 0) AS refunds,
    count(*) AS transaction_count
FROM reporting.transactions t
CROSS JOIN LATERAL (SELECT t.flow OFFSET 0) f
WHERE NOT t.pending
  AND f.flow IN ('spending', 'refund')
GROUP BY t.app_user_ref, date_trunc('month', t.posted_date::timestamp)::date, t.category, t.currency;

COMMENT ON VIEW reporting.spending_by_category IS 'Per app user, month (UTC posted date) and category: posted spending net of refunds, own-account transfers excluded. A transfer to an account that is not linked is spending in its category.';
COMMENT ON COLUMN reporting.spending_by_category.amount IS 'Spent, as a positive number, net of refunds (negative when refunds exceed purchases that month).';
COMMENT ON COLUMN reporting.spending_by_category.refunds IS 'Refunds deducted from amount.';
COMMENT ON COLUMN reporting.spending_by_category.transaction_count IS 'Purchases and refunds counted.';

CREATE VIEW reporting.spending_by_merchant AS
SELECT
    t.app_user_ref,
    date_trunc('month', t.posted_date::timestamp)::date AS month,
    t.merchant,
    t.currency,
    -sum(t.amount) AS amount,
    coalesce(sum(t.amount) FILTER (WHERE f.flow = 'refund'), 0) AS refunds,
    count(*) AS transaction_count
FROM reporting.transactions t
CROSS JOIN LATERAL (SELECT t.flow OFFSET 0) f
WHERE NOT t.pending
  AND f.flow IN ('spending', 'refund')
GROUP BY t.app_user_ref, date_trunc('month', t.posted_date::timestamp)::date, t.merchant, t.currency;

COMMENT ON VIEW reporting.spending_by_merchant IS 'Per app user, month (UTC posted date) and merchant (merchant name, else description): posted spending net of refunds, own-account transfers excluded.';
COMMENT ON COLUMN reporting.spending_by_merchant.amount IS 'Spent, as a positive number, net of refunds.';
COMMENT ON COLUMN reporting.spending_by_merchant.refunds IS 'Refunds deducted from amount.';
COMMENT ON COLUMN reporting.spending_by_merchant.transaction_count IS 'Purchases and refunds counted.';

-- Link health.

CREATE VIEW reporting.link_status AS
SELECT
    l.app_user_ref,
    l.id AS link_id,
    i.slug AS institution_slug,
    i.display_name AS institution_name,
    l.status::text AS status,
    l.granted_scopes,
    l.missing_scopes,
    l.consented_at,
    l.sync_interval,
    l.next_sync_at,
    l.last_attempt_at,
    l.last_success_at,
    l.last_error_class,
    l.consecutive_failures,
    ac.accounts,
    ac.active_accounts,
    tc.transactions,
    r.started_at AS last_run_started_at,
    r.finished_at AS last_run_finished_at,
    r.outcome AS last_run_outcome,
    r.error_class AS last_run_error_class
FROM links l
JOIN institutions i ON i.id = l.institution_id
CROSS JOIN LATERAL (
    SELECT count(*) AS accounts, count(*) FILTER (WHERE a.inactive_at IS NULL) AS active_accounts
    FROM accounts a
    WHERE a.link_id = l.id
) ac
CROSS JOIN LATERAL (
    SELECT count(*) AS transactions
    FROM accounts a
    JOIN transactions t ON t.account_id = a.id AND t.removed_at IS NULL
    WHERE a.link_id = l.id
) tc
LEFT JOIN LATERAL (
    SELECT sr.started_at, sr.finished_at, sr.outcome, sr.error_class
    FROM sync_runs sr
    WHERE sr.link_id = l.id
    ORDER BY sr.started_at DESC, sr.id DESC
    LIMIT 1
) r ON true;

COMMENT ON VIEW reporting.link_status IS 'One row per link: its status, scopes, sync health, how much data it holds and how its latest sync run went. Never shows tokens or error messages.';
COMMENT ON COLUMN reporting.link_status.status IS 'active: synced on schedule; reauth_required: the user must consent again; revoked: unlinked; disabled: stopped by an operator.';
COMMENT ON COLUMN reporting.link_status.granted_scopes IS 'Scopes the user granted at consent.';
COMMENT ON COLUMN reporting.link_status.missing_scopes IS 'Scopes pfmsync asked for but cannot use: the data behind them is not synced.';
COMMENT ON COLUMN reporting.link_status.next_sync_at IS 'When the next sync is queued; NULL while the link is not active.';
COMMENT ON COLUMN reporting.link_status.last_error_class IS 'Class of the last failure: rate_limited, transient, permanent, consent_revoked, forbidden, ...';
COMMENT ON COLUMN reporting.link_status.consecutive_failures IS 'Failed syncs since the last success.';
COMMENT ON COLUMN reporting.link_status.accounts IS 'Accounts of the link, inactive ones included.';
COMMENT ON COLUMN reporting.link_status.active_accounts IS 'Accounts the bank still reports.';
COMMENT ON COLUMN reporting.link_status.transactions IS 'Live (not removed) transactions of the link.';
COMMENT ON COLUMN reporting.link_status.last_run_outcome IS 'Outcome of the latest sync run: success, partial, snoozed, failed, reauth_required; NULL while it runs (or if it crashed).';
COMMENT ON COLUMN reporting.link_status.last_run_error_class IS 'Error class of the latest sync run, if it failed.';

-- The change feed.

CREATE VIEW reporting.transaction_changes AS
SELECT
    c.seq,
    c.app_user_ref,
    c.link_id,
    c.account_id,
    c.transaction_id,
    c.provider_transaction_id,
    c.change,
    c.changed_at,
    t.transaction_id IS NOT NULL AS present,
    t.posted_at,
    t.posted_date,
    t.pending,
    t.amount,
    t.raw_amount,
    t.currency,
    t.description,
    t.merchant,
    t.category,
    t.type,
    t.memo,
    t.is_transfer,
    t.flow
FROM transaction_changes c
LEFT JOIN reporting.transactions t ON t.transaction_id = c.transaction_id AND c.change <> 'removed';

COMMENT ON VIEW reporting.transaction_changes IS 'The change feed: every added, modified or removed transaction, with the transaction''s current row from reporting.transactions. seq is in commit order per app user: keep one cursor (the last seq read) per app user. Read it with reporting.transaction_changes_since.';
COMMENT ON COLUMN reporting.transaction_changes.seq IS 'Position in the feed, increasing in commit order per app user (not across app users).';
COMMENT ON COLUMN reporting.transaction_changes.transaction_id IS 'reporting.transactions.transaction_id of the changed transaction.';
COMMENT ON COLUMN reporting.transaction_changes.change IS 'added, modified or removed.';
COMMENT ON COLUMN reporting.transaction_changes.present IS 'The transaction is in reporting.transactions now: upsert the row. False for removed changes, for a transaction removed since, and for a pending transaction already replaced by its posted version: delete it by transaction_id. Columns after this one are NULL when false.';
COMMENT ON COLUMN reporting.transaction_changes.amount IS 'Current user-perspective amount (reporting.transactions.amount).';
COMMENT ON COLUMN reporting.transaction_changes.is_transfer IS 'Current transfer flag; it is derived when read and can change without a feed entry when the counterpart arrives.';

CREATE FUNCTION reporting.transaction_changes_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.transaction_changes
LANGUAGE sql
STABLE
AS $$
    SELECT *
    FROM reporting.transaction_changes c
    WHERE c.app_user_ref = transaction_changes_since.app_user_ref
      AND c.seq > coalesce(transaction_changes_since.after_seq, 0)
    ORDER BY c.seq
    LIMIT greatest(1, least(coalesce(transaction_changes_since.max_rows, 500), 10000))
$$;

COMMENT ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) IS 'One page of the change feed of one app user: the changes after the cursor after_seq, in seq order, at most max_rows (default 500, between 1 and 10000). Store the last seq returned as the next cursor; an empty page means up to date.';

REVOKE ALL ON FUNCTION reporting.transaction_changes_since(text, bigint, integer) FROM PUBLIC;

-- The pfm_reader role. Roles belong to the whole cluster and several
-- databases of one cluster may run this migration at once: creating it
-- tolerates a concurrent creation, and the grants are retried if a
-- concurrent down migration dropped the role in between. A migrating user
-- that may not create roles leaves the role to an administrator (see
-- docs/sql.md); the views are created all the same.
DO $$
DECLARE
    attempt integer := 0;
BEGIN
    LOOP
        attempt := attempt + 1;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
                BEGIN
                    CREATE ROLE pfm_reader NOLOGIN;
                    COMMENT ON ROLE pfm_reader IS 'Dashboards: reads the reporting schema only, never the public tables (tokens, consent requests, raw data). NOLOGIN until an operator enables it: ALTER ROLE pfm_reader LOGIN PASSWORD ''...''.';
                EXCEPTION
                    WHEN duplicate_object OR unique_violation THEN
                        NULL; -- created meanwhile by another database's migration
                    WHEN insufficient_privilege THEN
                        RAISE WARNING 'cannot create role pfm_reader (%): an administrator must create it and grant it access to the reporting schema (docs/sql.md)', SQLERRM;
                        RETURN;
                END;
            END IF;
            GRANT USAGE ON SCHEMA reporting TO pfm_reader;
            GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO pfm_reader;
            GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reporting TO pfm_reader;
            ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO pfm_reader;
            ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT EXECUTE ON FUNCTIONS TO pfm_reader;
            EXIT;
        EXCEPTION
            WHEN undefined_object THEN
                -- Dropped by another database's down migration between the
                -- check and the grants: create it again.
                IF attempt >= 5 THEN
                    RAISE;
                END IF;
        END;
    END LOOP;
END
$$;
