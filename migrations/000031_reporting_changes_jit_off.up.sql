-- The change-feed page is a short indexed read whose plan looks expensive
-- (every row carries the transfer test of reporting.transactions), so with
-- jit on PostgreSQL compiles it on every call, which costs far more than
-- the read. The function turns JIT off for itself, whatever the caller's
-- setting. (Login roles of dashboards should also run with jit = off:
-- ALTER ROLE <login> SET jit = off, see docs/sql.md.)
ALTER FUNCTION reporting.transaction_changes_since(text, bigint, integer) SET jit = off;
