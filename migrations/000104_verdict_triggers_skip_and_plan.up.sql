-- The transfer-verdict triggers (000100) run on every write to
-- transactions, accounts and links.
--
-- A statement on transactions searched for the verdicts it could change
-- even when its app users had none stored: during an app user's first
-- sync (its fill is queued when the sync ends) every page of transfer-like
-- or uncategorized rows probed the user's other accounts for counterparts
-- whose verdicts did not exist. The trigger now looks first, under the
-- app users' verdict locks, whether any of their accounts holds a
-- verdict, and stops when none does.
--
-- PL/pgSQL planned the triggers' statements afresh for the first five
-- calls of every connection, and for as long as a custom plan looked
-- cheaper than the generic one. Their plans are fixed by their shape (the
-- transition tables, one app user's accounts through their indexes, the
-- fences of the pair search), so they use the generic plan from the
-- first call, planned once per connection.

CREATE OR REPLACE FUNCTION transfer_verdicts_forget_transactions() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    -- One entry per touched side of a row: its account, its provider id
    -- when its own verdict goes (NULL for an inserted row), its amount and
    -- posted instant, and whether it can pair.
    t_account uuid[];
    t_id text[];
    t_amount numeric[];
    t_posted timestamptz[];
    t_pairs boolean[];
    users text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.account_id), array_agg(NULL::text), array_agg(n.signed_amount), array_agg(n.posted_at), array_agg(true)
        INTO t_account, t_id, t_amount, t_posted, t_pairs
        FROM new_rows n
        WHERE transfer_can_pair(n.category, n.type, n.signed_amount, n.removed_at);
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(s.account_id), array_agg(s.provider_transaction_id), array_agg(s.signed_amount), array_agg(s.posted_at), array_agg(s.pairs)
        INTO t_account, t_id, t_amount, t_posted, t_pairs
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES
            (o.account_id, o.provider_transaction_id, o.signed_amount, o.posted_at, transfer_can_pair(o.category, o.type, o.signed_amount, o.removed_at)),
            (n.account_id, n.provider_transaction_id, n.signed_amount, n.posted_at, transfer_can_pair(n.category, n.type, n.signed_amount, n.removed_at))
        ) s (account_id, provider_transaction_id, signed_amount, posted_at, pairs)
        WHERE (o.account_id, o.provider_transaction_id, o.signed_amount, o.posted_at, o.category, o.type, o.memo, o.removed_at)
              IS DISTINCT FROM (n.account_id, n.provider_transaction_id, n.signed_amount, n.posted_at, n.category, n.type, n.memo, n.removed_at);
    ELSE
        SELECT array_agg(o.account_id), array_agg(o.provider_transaction_id), array_agg(o.signed_amount), array_agg(o.posted_at),
               array_agg(transfer_can_pair(o.category, o.type, o.signed_amount, o.removed_at))
        INTO t_account, t_id, t_amount, t_posted, t_pairs
        FROM old_rows o;
    END IF;
    IF t_account IS NULL THEN
        RETURN NULL;
    END IF;
    -- The app users whose verdicts change (none when the accounts are
    -- gone: the deletion of an account or a link forgets its app user's
    -- verdicts itself).
    SELECT array_agg(DISTINCT l.app_user_ref) INTO users
    FROM accounts a
    JOIN links l ON l.id = a.link_id
    WHERE a.id = ANY (t_account);
    IF users IS NOT NULL THEN
        PERFORM transfer_verdicts_lock_shared(users);
        -- Under the lock no fill of these app users runs (a fill takes it
        -- exclusive), and this statement's snapshot follows the last one
        -- that committed: when none of their accounts holds a verdict
        -- (an app user's first sync, before its fill), there is none to
        -- forget, and the searches below would find nothing.
        IF NOT EXISTS (
            SELECT FROM links l
            JOIN accounts a ON a.link_id = l.id
            JOIN transaction_transfer_verdicts v ON v.account_id = a.id
            WHERE l.app_user_ref = ANY (users)
        ) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM transaction_transfer_verdicts v
        USING unnest(t_account, t_id) k (account_id, provider_transaction_id)
        WHERE v.account_id = k.account_id
          AND v.provider_transaction_id = k.provider_transaction_id;
    END IF;
    IF users IS NOT NULL AND true = ANY (t_pairs) THEN
        -- Per pair: the app user's other accounts first, then each one's
        -- slice of transactions_reporting_counterpart_idx (the fences keep
        -- the planner from probing the index without its account).
        DELETE FROM transaction_transfer_verdicts v
        USING (
            SELECT DISTINCT c.account_id, c.provider_transaction_id
            FROM (SELECT DISTINCT p.account_id, p.signed_amount, (p.posted_at AT TIME ZONE 'UTC')::date AS day
                  FROM unnest(t_account, t_amount, t_posted, t_pairs) p (account_id, signed_amount, posted_at, pairs)
                  WHERE p.pairs) p
            CROSS JOIN LATERAL (
                SELECT ca.id
                FROM accounts pa
                JOIN links pl ON pl.id = pa.link_id
                JOIN links cl ON cl.app_user_ref = pl.app_user_ref
                JOIN accounts ca ON ca.link_id = cl.id
                WHERE pa.id = p.account_id
                  AND ca.id <> p.account_id
                OFFSET 0
            ) o
            CROSS JOIN LATERAL (
                SELECT c.account_id, c.provider_transaction_id
                FROM transactions c
                WHERE c.account_id = o.id
                  AND c.removed_at IS NULL
                  AND (lower(btrim(c.category)) IN ('', 'uncategorized', 'transfer', 'payment') OR upper(c.type) = 'TRANSFER')
                  AND c.signed_amount = -p.signed_amount
                  AND c.posted_at >= (p.day - 3)::timestamp AT TIME ZONE 'UTC'
                  AND c.posted_at < (p.day + 4)::timestamp AT TIME ZONE 'UTC'
                OFFSET 0
            ) c
        ) x
        WHERE v.account_id = x.account_id
          AND v.provider_transaction_id = x.provider_transaction_id;
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION transfer_verdicts_forget_transactions() SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION transfer_verdicts_forget_accounts() SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION transfer_verdicts_forget_links() SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION transfer_verdicts_forget_users(text[], boolean) SET plan_cache_mode = force_generic_plan;
