-- Undo the reporting schema. The pfm_reader role belongs to the whole
-- cluster: it is dropped only while it still cannot log in and nothing else
-- (another database's reporting schema, an operator's grant) depends on it.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
        ALTER DEFAULT PRIVILEGES IN SCHEMA reporting REVOKE ALL ON TABLES FROM pfm_reader;
        ALTER DEFAULT PRIVILEGES IN SCHEMA reporting REVOKE ALL ON FUNCTIONS FROM pfm_reader;
    END IF;
END
$$;

DROP FUNCTION reporting.transaction_changes_since(text, bigint, integer);
DROP VIEW reporting.transaction_changes;
DROP VIEW reporting.link_status;
DROP VIEW reporting.spending_by_merchant;
DROP VIEW reporting.spending_by_category;
DROP VIEW reporting.monthly_cash_flow;
DROP VIEW reporting.net_worth_daily;
DROP VIEW reporting.daily_balances;
DROP VIEW reporting.transactions;
DROP VIEW reporting.accounts;
DROP SCHEMA reporting;

DROP INDEX transactions_reporting_replaces_idx;
DROP INDEX transactions_reporting_transfer_idx;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader' AND NOT rolcanlogin) THEN
        BEGIN
            DROP ROLE pfm_reader;
        EXCEPTION
            WHEN dependent_objects_still_exist OR insufficient_privilege OR undefined_object THEN
                NULL; -- still in use elsewhere, not ours to drop, or already gone
        END;
    END IF;
END
$$;
