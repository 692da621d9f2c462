-- The synced PFM data: accounts, daily balances, transactions, sync
-- progress, sync runs and the change feed.

CREATE TABLE accounts (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    link_id               uuid NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    provider_account_id   text NOT NULL,
    name                  text NOT NULL DEFAULT '',
    masked_number         text NOT NULL DEFAULT '',
    account_type          text NOT NULL,
    account_subtype       text NOT NULL DEFAULT '',
    account_status        text NOT NULL DEFAULT '',
    is_liability          boolean GENERATED ALWAYS AS (account_type IN ('Debt', 'Line of Credit')) STORED,
    currency              text NOT NULL DEFAULT 'USD',
    balance               numeric,
    available_balance     numeric,
    credit_limit          numeric,
    available_credit      numeric,
    payment_due_amount    numeric,
    payment_due_date      date,
    interest_rate         numeric,
    balance_as_of         timestamptz,
    hidden                boolean NOT NULL DEFAULT false,
    contributes_to_totals boolean NOT NULL DEFAULT true,
    raw                   jsonb NOT NULL,
    inactive_at           timestamptz,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (link_id, provider_account_id)
);

COMMENT ON TABLE accounts IS 'Accounts as the bank reports them. Never deleted while the link exists: an account the bank inactivates gets inactive_at.';
COMMENT ON COLUMN accounts.balance IS 'Current (ledger) balance in the bank''s convention: for liabilities (Debt, Line of Credit) positive means owed.';
COMMENT ON COLUMN accounts.is_liability IS 'Debt and Line of Credit accounts: their amounts and balances are inverted (positive = owed).';
COMMENT ON COLUMN accounts.balance_as_of IS 'When the bank last refreshed the balance (fetchedDate, or a newer task event).';
COMMENT ON COLUMN accounts.raw IS 'The account object exactly as the bank sent it.';

CREATE TABLE balance_snapshots (
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day               date NOT NULL,
    balance           numeric NOT NULL,
    available_balance numeric,
    as_of             timestamptz NOT NULL,
    PRIMARY KEY (account_id, day)
);

COMMENT ON TABLE balance_snapshots IS 'One balance per account per day (the latest of the day wins): the history the bank does not keep.';

CREATE TABLE transactions (
    id                               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id                       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider_transaction_id          text NOT NULL,
    amount                           numeric NOT NULL,
    signed_amount                    numeric NOT NULL,
    currency                         text NOT NULL DEFAULT 'USD',
    posted_at                        timestamptz NOT NULL,
    pending                          boolean NOT NULL,
    pending_status                   text NOT NULL DEFAULT '',
    type                             text NOT NULL DEFAULT '',
    subtype                          text NOT NULL DEFAULT '',
    memo                             text NOT NULL DEFAULT '',
    description                      text NOT NULL DEFAULT '',
    merchant_name                    text NOT NULL DEFAULT '',
    category                         text NOT NULL DEFAULT '',
    check_number                     text NOT NULL DEFAULT '',
    running_balance                  numeric,
    sequence                         bigint,
    provider_updated_at              timestamptz,
    replaces_provider_transaction_id text,
    removed_at                       timestamptz,
    raw                              jsonb NOT NULL,
    first_seen_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, provider_transaction_id)
);

CREATE INDEX transactions_account_posted_idx ON transactions (account_id, posted_at) WHERE removed_at IS NULL;

COMMENT ON TABLE transactions IS 'Transactions as the bank reports them, one row per provider id. Never hard-deleted: a transaction the bank inactivates gets removed_at.';
COMMENT ON COLUMN transactions.amount IS 'The amount as the bank sent it: for liabilities a purchase is positive (it raises what is owed).';
COMMENT ON COLUMN transactions.signed_amount IS 'The user''s perspective for every account type: money in is positive, money out negative.';
COMMENT ON COLUMN transactions.pending IS 'True while the bank reports InstitutionPending.';
COMMENT ON COLUMN transactions.description IS 'A clean description: the bank''s display name or clean memo.';
COMMENT ON COLUMN transactions.category IS 'The expense category (the user''s custom one when set).';
COMMENT ON COLUMN transactions.provider_updated_at IS 'The bank''s lastUpdated.';
COMMENT ON COLUMN transactions.replaces_provider_transaction_id IS 'For a posted transaction that arrived under a new id: the pending transaction it replaced (which is removed).';
COMMENT ON COLUMN transactions.removed_at IS 'Set when the bank inactivated the transaction (a dropped or replaced pending authorisation). Removed rows are history, not spending.';

CREATE TABLE sync_state (
    account_id        uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    watermark         timestamptz,
    backfill_before   timestamptz,
    backfill_complete boolean NOT NULL DEFAULT false,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE sync_state IS 'Per-account sync progress, written in the same transaction as the rows it describes.';
COMMENT ON COLUMN sync_state.watermark IS 'Highest lastUpdated seen; incremental syncs ask for updatedSince = watermark - overlap.';
COMMENT ON COLUMN sync_state.backfill_before IS 'Backfill progress (newest first): everything posted at or after this instant has been read.';

CREATE TABLE sync_runs (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id              uuid NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    job_id               bigint,
    attempt              integer NOT NULL DEFAULT 1,
    trigger              text NOT NULL,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    outcome              text,
    error_class          text,
    error                text,
    accounts             integer NOT NULL DEFAULT 0,
    transactions_added   integer NOT NULL DEFAULT 0,
    transactions_modified integer NOT NULL DEFAULT 0,
    transactions_removed integer NOT NULL DEFAULT 0,
    api_calls            integer NOT NULL DEFAULT 0
);

CREATE INDEX sync_runs_link_idx ON sync_runs (link_id, started_at DESC);
CREATE INDEX sync_runs_started_idx ON sync_runs (started_at DESC);

COMMENT ON TABLE sync_runs IS 'One row per sync attempt: what it did and how it ended.';
COMMENT ON COLUMN sync_runs.outcome IS 'success, partial (some scope refused), snoozed (rate limited), failed, reauth_required; NULL while running or after a crash.';

CREATE TABLE transaction_changes (
    seq                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_user_ref            text NOT NULL,
    link_id                 uuid NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    account_id              uuid NOT NULL,
    transaction_id          bigint NOT NULL,
    provider_transaction_id text NOT NULL,
    change                  text NOT NULL CHECK (change IN ('added', 'modified', 'removed')),
    changed_at              timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX transaction_changes_user_idx ON transaction_changes (app_user_ref, seq);
CREATE INDEX transaction_changes_link_idx ON transaction_changes (link_id, seq);

COMMENT ON TABLE transaction_changes IS 'Change feed: every added, modified or removed transaction, in commit order per app user (writers serialize per app user), so a consumer can keep a cursor (the last seq it read).';
