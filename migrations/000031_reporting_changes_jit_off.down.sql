ALTER FUNCTION reporting.transaction_changes_since(text, bigint, integer) RESET jit;
