-- Stored transfer verdicts: the own-account transfer test of
-- reporting.transactions (000030, 000087) is computed once per transaction
-- and kept, instead of on every read. A verdict is stored only for the
-- rows whose test searches (transfer-like or uncategorized rows, and rows
-- whose memo carries four digits); the view returns the stored verdict when
-- there is one and computes the test as before when there is none, so the
-- views never depend on the verdicts having been computed.
--
-- Exactness: triggers on transactions, accounts and links delete every
-- verdict a committed write can change (the written rows' own, and those
-- of the rows that could pair with them, before and after the write), in
-- the writer's own transaction. fill_transfer_verdicts computes the
-- missing ones. Writers and the filler of one app user meet on an advisory
-- lock: a writer that may change verdicts takes it shared (until it
-- commits) before deleting them; the filler takes it exclusive, without
-- waiting (it skips a busy app user), and computes from a snapshot taken
-- after it, so a verdict it stores never predates a write that committed
-- or is still open. Writers must run at READ COMMITTED (every writer of
-- the store does).

CREATE TABLE transaction_transfer_verdicts (
    account_id uuid NOT NULL,
    provider_transaction_id text NOT NULL,
    is_transfer boolean NOT NULL,
    -- The key is transactions' own natural key: the month index of 000088
    -- covers it, so the cross-user month still reads transactions from
    -- that index alone; the verdict comes from this index alone too.
    PRIMARY KEY (account_id, provider_transaction_id) INCLUDE (is_transfer)
);

COMMENT ON TABLE transaction_transfer_verdicts IS 'The own-account transfer test of reporting.transactions, stored for the transactions whose test searches (transfer-like, uncategorized, or a memo with four digits). Exact at every commit: writes to transactions, accounts and links delete the verdicts they can change; fill_transfer_verdicts computes missing ones. A missing verdict is computed when read.';

-- A row that can be the searching side or the counterpart of a pair:
-- live, not zero, not income, transfer-like or uncategorized. It matches
-- the predicate of transactions_reporting_counterpart_idx.
CREATE FUNCTION transfer_can_pair(category text, type text, signed_amount numeric, removed_at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN removed_at IS NULL AND signed_amount <> 0 AND lower(btrim(category)) <> 'income'
    AND (lower(btrim(category)) IN ('', 'uncategorized', 'transfer', 'payment') OR upper(type) = 'TRANSFER');

COMMENT ON FUNCTION transfer_can_pair(text, text, numeric, timestamptz) IS 'Whether a transaction can take part in an own-account transfer pair (either side).';

-- Takes the app users' verdict locks shared until the transaction ends.
CREATE FUNCTION transfer_verdicts_lock_shared(app_user_refs text[]) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
    SELECT pg_advisory_xact_lock_shared(hashtextextended('pfmsync.transfer_verdicts:' || r, 0))
    FROM (SELECT DISTINCT r FROM unnest(app_user_refs) r WHERE r IS NOT NULL ORDER BY r) u;
END;

-- Deletes the verdicts of every transaction of the app users (memo_only:
-- those whose memo carries four digits, which an account's masked number
-- can match), under their verdict locks.
CREATE FUNCTION transfer_verdicts_forget_users(app_user_refs text[], memo_only boolean) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF app_user_refs IS NULL OR cardinality(app_user_refs) = 0 THEN
        RETURN;
    END IF;
    PERFORM transfer_verdicts_lock_shared(app_user_refs);
    DELETE FROM transaction_transfer_verdicts v
    USING links l
    JOIN accounts a ON a.link_id = l.id
    JOIN transactions t ON t.account_id = a.id
    WHERE l.app_user_ref = ANY (app_user_refs)
      AND v.account_id = t.account_id
      AND v.provider_transaction_id = t.provider_transaction_id
      AND (NOT memo_only OR t.memo ~ '[0-9]{4}');
END
$$;

-- The statement triggers on transactions. A written row changes verdicts
-- when it could pair (before or after the write): those of the rows it
-- could pair with (same app user, other account, opposite amount, posted
-- within 3 UTC days, themselves able to pair). A modified or deleted row
-- also loses its own verdict when a column the test reads changed. Rows
-- that cannot pair (most purchases) cost only the scan of the transition
-- table.
CREATE FUNCTION transfer_verdicts_forget_transactions() RETURNS trigger
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

COMMENT ON FUNCTION transfer_verdicts_forget_transactions() IS 'Statement trigger on transactions: deletes the transfer verdicts the statement can change.';

CREATE TRIGGER transactions_transfer_verdicts_insert AFTER INSERT ON transactions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_transactions();
CREATE TRIGGER transactions_transfer_verdicts_update AFTER UPDATE ON transactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_transactions();
CREATE TRIGGER transactions_transfer_verdicts_delete AFTER DELETE ON transactions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_transactions();

CREATE FUNCTION transfer_verdicts_truncate() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE transaction_transfer_verdicts;
    RETURN NULL;
END
$$;

CREATE TRIGGER transactions_transfer_verdicts_truncate AFTER TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_truncate();

-- Accounts: a masked number names the account in other accounts' memos;
-- an account moved to another link, or deleted, changes its app user's
-- pairs. Balance updates and the like change nothing and cost a scan.
CREATE FUNCTION transfer_verdicts_forget_accounts() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    memo_users text[];
    all_users text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT l.app_user_ref) INTO memo_users
        FROM new_rows n JOIN links l ON l.id = n.link_id
        WHERE n.masked_number ~ '[0-9]{4}';
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT l.app_user_ref) INTO memo_users
        FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN links l ON l.id = n.link_id
        WHERE o.link_id = n.link_id
          AND o.masked_number IS DISTINCT FROM n.masked_number
          AND (o.masked_number ~ '[0-9]{4}' OR n.masked_number ~ '[0-9]{4}');
        SELECT array_agg(DISTINCT l.app_user_ref) INTO all_users
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        JOIN links l ON l.id IN (o.link_id, n.link_id)
        WHERE o.link_id IS DISTINCT FROM n.link_id;
    ELSE
        SELECT array_agg(DISTINCT l.app_user_ref) INTO all_users
        FROM old_rows o JOIN links l ON l.id = o.link_id;
    END IF;
    PERFORM transfer_verdicts_forget_users(all_users, false);
    PERFORM transfer_verdicts_forget_users(memo_users, true);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION transfer_verdicts_forget_accounts() IS 'Statement trigger on accounts: deletes the transfer verdicts an account''s masked number, link or deletion can change.';

CREATE TRIGGER accounts_transfer_verdicts_insert AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_accounts();
CREATE TRIGGER accounts_transfer_verdicts_update AFTER UPDATE ON accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_accounts();
CREATE TRIGGER accounts_transfer_verdicts_delete AFTER DELETE ON accounts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_accounts();

-- Links: the app user a link belongs to decides whose accounts pair.
CREATE FUNCTION transfer_verdicts_forget_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    users text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT r) INTO users
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.app_user_ref), (n.app_user_ref)) u (r)
        WHERE o.app_user_ref IS DISTINCT FROM n.app_user_ref;
    ELSE
        SELECT array_agg(DISTINCT o.app_user_ref) INTO users FROM old_rows o;
    END IF;
    PERFORM transfer_verdicts_forget_users(users, false);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION transfer_verdicts_forget_links() IS 'Statement trigger on links: deletes the transfer verdicts of the app users whose links moved or went.';

CREATE TRIGGER links_transfer_verdicts_update AFTER UPDATE ON links
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_links();
CREATE TRIGGER links_transfer_verdicts_delete AFTER DELETE ON links
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION transfer_verdicts_forget_links();

-- The filler: computes up to max_rows missing verdicts of one app user,
-- with reporting.transactions itself (so the rules live in one place), and
-- returns how many it stored; -1 when a write that can change the app
-- user's verdicts is under way (try again after it commits). Run it in its
-- own READ COMMITTED transaction: the lock is taken first, and the
-- verdicts are computed from a snapshot taken after it.
CREATE FUNCTION fill_transfer_verdicts(app_user_ref text, max_rows integer) RETURNS integer
LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
    n integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('pfmsync.transfer_verdicts:' || fill_transfer_verdicts.app_user_ref, 0)) THEN
        RETURN -1;
    END IF;
    INSERT INTO transaction_transfer_verdicts (account_id, provider_transaction_id, is_transfer)
    SELECT t.account_id, t.provider_transaction_id, t.is_transfer
    FROM reporting.transactions t
    WHERE t.app_user_ref = fill_transfer_verdicts.app_user_ref
      AND t.amount <> 0
      AND lower(t.category) <> 'income'
      AND (lower(t.category) IN ('uncategorized', 'transfer', 'payment') OR upper(t.type) = 'TRANSFER' OR t.memo ~ '[0-9]{4}')
      AND NOT EXISTS (
          SELECT 1 FROM transaction_transfer_verdicts v
          WHERE v.account_id = t.account_id AND v.provider_transaction_id = t.provider_transaction_id)
    LIMIT greatest(max_rows, 1)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

COMMENT ON FUNCTION fill_transfer_verdicts(text, integer) IS 'Stores up to max_rows missing transfer verdicts of one app user; returns how many, or -1 when a write to the app user''s verdicts is under way. Run in its own READ COMMITTED transaction.';

-- reporting.transactions: the stored verdict first. The rules and the
-- searches are those of 000087, unchanged, and run only for a row that has
-- no stored verdict.
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
        -- Only a transfer-like or uncategorized row, or a memo with four
        -- digits, needs a search; every other row is not a transfer.
        WHEN NOT ((lower(btrim(t.category)) IN ('', 'uncategorized', 'transfer', 'payment') OR upper(t.type) = 'TRANSFER')
                  OR t.memo ~ '[0-9]{4}') THEN false
        -- The stored verdict when there is one (000100): the searches
        -- below then do not run.
        ELSE coalesce((
            SELECT v.is_transfer
            FROM transaction_transfer_verdicts v
            WHERE v.account_id = t.account_id
              AND v.provider_transaction_id = t.provider_transaction_id
        ), CASE
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
    END) END AS is_transfer
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
