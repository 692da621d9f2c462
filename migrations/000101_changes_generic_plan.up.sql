-- The change-feed page plans its query once per connection. Its query
-- reads reporting.transactions, whose plan is large (the transfer test's
-- searches): planning it took about as long as running a 500-row page
-- (6-9 ms of 12-15 ms at 5,000 app users), and PL/pgSQL plans it afresh
-- for the first five calls of every connection before it settles on the
-- generic plan. The generic plan is the same as the per-user ones (one
-- app user's feed through its (app_user_ref, seq) index), so use it from
-- the first call.
ALTER FUNCTION reporting.transaction_changes_since(text, bigint, integer) SET plan_cache_mode = force_generic_plan;
