package reportbench

// Query is one measured dashboard query.
type Query struct {
	Name string
	// SQL takes the app user as $1 when PerUser; a cross-user query takes
	// no argument.
	SQL     string
	PerUser bool
}

// Queries are the measured queries: one per per-user view of docs/sql.md
// (the queries of its examples), the change-feed page, and the cross-user
// spending by category. Append to extend the benchmark to new views.
var Queries = []Query{
	{Name: "accounts", PerUser: true, SQL: `SELECT institution_name, account_institution_name, name, masked_number, account_subtype,
       current_balance_signed, available, balance_as_of, duplicate_of
FROM reporting.accounts
WHERE app_user_ref = $1 AND NOT inactive AND NOT hidden
ORDER BY is_liability, name`},
	{Name: "transactions (recent 50)", PerUser: true, SQL: `SELECT posted_date, account_name, merchant, category, amount, pending, is_transfer
FROM reporting.transactions
WHERE app_user_ref = $1
  AND posted_at >= now() - interval '30 days'
ORDER BY pending DESC, posted_at DESC, transaction_id DESC
LIMIT 50`},
	{Name: "daily_balances (90 days)", PerUser: true, SQL: `SELECT account_id, day, balance_signed
FROM reporting.daily_balances
WHERE app_user_ref = $1
  AND day >= (now() AT TIME ZONE 'UTC')::date - 90
ORDER BY account_id, day`},
	{Name: "daily_balances (whole history)", PerUser: true, SQL: `SELECT account_id, day, balance_signed, source
FROM reporting.daily_balances
WHERE app_user_ref = $1
ORDER BY account_id, day`},
	{Name: "net_worth_daily (1 year)", PerUser: true, SQL: `SELECT day, assets, debts, net_worth
FROM reporting.net_worth_daily
WHERE app_user_ref = $1
  AND day >= (now() AT TIME ZONE 'UTC')::date - 365
ORDER BY day`},
	{Name: "monthly_cash_flow (12 months)", PerUser: true, SQL: `SELECT month, income, spending, net, pending_count, pending_net
FROM reporting.monthly_cash_flow
WHERE app_user_ref = $1
  AND month >= (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '11 months')::date
ORDER BY month`},
	{Name: "spending_by_category (last month)", PerUser: true, SQL: `SELECT category, amount, refunds, transaction_count
FROM reporting.spending_by_category
WHERE app_user_ref = $1
  AND month = (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date
ORDER BY amount DESC`},
	{Name: "spending_by_merchant (this month, top 10)", PerUser: true, SQL: `SELECT merchant, amount, transaction_count
FROM reporting.spending_by_merchant
WHERE app_user_ref = $1
  AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date
ORDER BY amount DESC
LIMIT 10`},
	{Name: "recurring (active)", PerUser: true, SQL: `SELECT merchant, direction, cadence, typical_amount, next_expected_date
FROM reporting.recurring
WHERE app_user_ref = $1 AND active
ORDER BY next_expected_date`},
	{Name: "link_status", PerUser: true, SQL: `SELECT link_id, status, last_success_at, accounts, transactions, last_run_outcome
FROM reporting.link_status
WHERE app_user_ref = $1`},
	{Name: "transaction_changes_since (500-row page)", PerUser: true, SQL: `SELECT *
FROM reporting.transaction_changes_since($1, 0, 500)`},
	{Name: "cross-user spending by category (last month)", SQL: `SELECT category, sum(amount) AS amount, sum(transaction_count) AS transactions
FROM reporting.spending_by_category
WHERE month = (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date
GROUP BY category
ORDER BY amount DESC`},
}
