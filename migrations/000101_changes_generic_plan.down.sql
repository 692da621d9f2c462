ALTER FUNCTION reporting.transaction_changes_since(text, bigint, integer) RESET plan_cache_mode;
