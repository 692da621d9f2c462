package reporting

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
)

// DB is what a Reader queries: a pgxpool.Pool, a pgx.Conn or a pgx.Tx.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Reader runs the read queries on the reporting views.
type Reader struct {
	db DB
}

// New returns a Reader over db.
func New(db DB) *Reader { return &Reader{db: db} }

// ErrNotFound is returned when a named link or account is not the app
// user's.
var ErrNotFound = errors.New("reporting: not found")

// Ping checks the database answers and the reporting views are readable.
func (r *Reader) Ping(ctx context.Context) error {
	var n int
	if err := r.db.QueryRow(ctx, `SELECT 1 FROM reporting.link_status LIMIT 1`).Scan(&n); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read reporting.link_status: %w", err)
	}
	return nil
}

// Link is one row of reporting.link_status.
type Link struct {
	LinkID          string
	InstitutionSlug string
	InstitutionName string
	Status          string // active, reauth_required, revoked, disabled
	MissingScopes   []string
	LastSuccessAt   *time.Time
	LastErrorClass  string
	Accounts        int64
}

// NeedsReconsent reports whether the user must consent again for the link
// to sync.
func (l Link) NeedsReconsent() bool { return l.Status == "reauth_required" }

// AppUsers returns the app users that have links, sorted (at most limit).
func (r *Reader) AppUsers(ctx context.Context, limit int) ([]string, error) {
	rows, err := r.db.Query(ctx, `
		SELECT DISTINCT app_user_ref FROM reporting.link_status ORDER BY app_user_ref LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list app users: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list app users: %w", err)
	}
	return users, nil
}

// Links returns the app user's links, by institution.
func (r *Reader) Links(ctx context.Context, appUser string) ([]Link, error) {
	rows, err := r.db.Query(ctx, `
		SELECT link_id::text, institution_slug, institution_name, status, coalesce(missing_scopes, '{}'),
		       last_success_at, coalesce(last_error_class, ''), accounts
		FROM reporting.link_status
		WHERE app_user_ref = $1
		ORDER BY institution_name, consented_at, link_id`, appUser)
	if err != nil {
		return nil, fmt.Errorf("read links of app user: %w", err)
	}
	links, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Link, error) {
		var l Link
		err := row.Scan(&l.LinkID, &l.InstitutionSlug, &l.InstitutionName, &l.Status, &l.MissingScopes,
			&l.LastSuccessAt, &l.LastErrorClass, &l.Accounts)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("read links of app user: %w", err)
	}
	return links, nil
}

// Link returns one of the app user's links; ErrNotFound if it is not one
// of theirs.
func (r *Reader) Link(ctx context.Context, appUser, linkID string) (Link, error) {
	links, err := r.Links(ctx, appUser)
	if err != nil {
		return Link{}, err
	}
	for _, l := range links {
		if l.LinkID == linkID {
			return l, nil
		}
	}
	return Link{}, ErrNotFound
}

// Account is one row of reporting.accounts.
type Account struct {
	AccountID       string
	LinkID          string
	LinkStatus      string
	InstitutionName string // the institution that holds the account (an external account: not the linking bank)
	Name            string
	MaskedNumber    string
	Type            string
	Subtype         string
	IsLiability     bool
	Currency        string
	BalanceSigned   *decimal.Decimal // user perspective: debts negative
	Available       *decimal.Decimal
	BalanceAsOf     *time.Time
	Inactive        bool
}

// Accounts returns the app user's visible accounts: assets first, then
// debts, by institution and name. Hidden accounts are left out.
func (r *Reader) Accounts(ctx context.Context, appUser string) ([]Account, error) {
	rows, err := r.db.Query(ctx, `
		SELECT account_id::text, link_id::text, link_status, account_institution_name, name, masked_number,
		       account_type, account_subtype, is_liability, currency,
		       current_balance_signed::text, available::text, balance_as_of, inactive
		FROM reporting.accounts
		WHERE app_user_ref = $1 AND NOT hidden
		ORDER BY inactive, is_liability, account_institution_name, name, account_id`, appUser)
	if err != nil {
		return nil, fmt.Errorf("read accounts of app user: %w", err)
	}
	accounts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Account, error) {
		var a Account
		var bal, avail *string
		if err := row.Scan(&a.AccountID, &a.LinkID, &a.LinkStatus, &a.InstitutionName, &a.Name, &a.MaskedNumber,
			&a.Type, &a.Subtype, &a.IsLiability, &a.Currency, &bal, &avail, &a.BalanceAsOf, &a.Inactive); err != nil {
			return a, err
		}
		var err error
		if a.BalanceSigned, err = decimalPtr(bal); err != nil {
			return a, err
		}
		a.Available, err = decimalPtr(avail)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("read accounts of app user: %w", err)
	}
	return accounts, nil
}

// NetWorthDay is one row of reporting.net_worth_daily.
type NetWorthDay struct {
	Day      time.Time
	Currency string
	Assets   decimal.Decimal
	Debts    decimal.Decimal
	NetWorth decimal.Decimal
	Accounts int64
	Observed bool
}

// NetWorth returns the app user's net worth per day from `from` (a UTC
// date) on, oldest first.
func (r *Reader) NetWorth(ctx context.Context, appUser string, from time.Time) ([]NetWorthDay, error) {
	rows, err := r.db.Query(ctx, `
		SELECT day, currency, assets::text, debts::text, net_worth::text, accounts, observed
		FROM reporting.net_worth_daily
		WHERE app_user_ref = $1 AND day >= $2::date
		ORDER BY day, currency`, appUser, from.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read net worth of app user: %w", err)
	}
	days, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (NetWorthDay, error) {
		var d NetWorthDay
		var assets, debts, net string
		if err := row.Scan(&d.Day, &d.Currency, &assets, &debts, &net, &d.Accounts, &d.Observed); err != nil {
			return d, err
		}
		return d, parseAll([]*decimal.Decimal{&d.Assets, &d.Debts, &d.NetWorth}, assets, debts, net)
	})
	if err != nil {
		return nil, fmt.Errorf("read net worth of app user: %w", err)
	}
	return days, nil
}

// LatestNetWorth returns the app user's net worth on the latest day with
// balances; ErrNotFound if they have none yet.
func (r *Reader) LatestNetWorth(ctx context.Context, appUser string) (NetWorthDay, error) {
	var d NetWorthDay
	var assets, debts, net string
	err := r.db.QueryRow(ctx, `
		SELECT day, currency, assets::text, debts::text, net_worth::text, accounts, observed
		FROM reporting.net_worth_daily
		WHERE app_user_ref = $1
		ORDER BY day DESC, currency
		LIMIT 1`, appUser).Scan(&d.Day, &d.Currency, &assets, &debts, &net, &d.Accounts, &d.Observed)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read latest net worth of app user: %w", err)
	}
	return d, parseAll([]*decimal.Decimal{&d.Assets, &d.Debts, &d.NetWorth}, assets, debts, net)
}

// DailyBalance is one row of reporting.daily_balances.
type DailyBalance struct {
	Day           time.Time
	Balance       decimal.Decimal // the bank's convention
	BalanceSigned decimal.Decimal
	Source        string // snapshot, running_balance, derived
	Observed      bool
}

// DailyBalances returns one of the app user's accounts' closing balance per
// day, oldest first; ErrNotFound if the account is not theirs or has no
// balance yet.
func (r *Reader) DailyBalances(ctx context.Context, appUser, accountID string) ([]DailyBalance, error) {
	rows, err := r.db.Query(ctx, `
		SELECT day, balance::text, balance_signed::text, source, observed
		FROM reporting.daily_balances
		WHERE app_user_ref = $1 AND account_id = $2::uuid
		ORDER BY day`, appUser, accountID)
	if err != nil {
		return nil, fmt.Errorf("read daily balances of account %s: %w", accountID, err)
	}
	days, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DailyBalance, error) {
		var d DailyBalance
		var bal, signed string
		if err := row.Scan(&d.Day, &bal, &signed, &d.Source, &d.Observed); err != nil {
			return d, err
		}
		return d, parseAll([]*decimal.Decimal{&d.Balance, &d.BalanceSigned}, bal, signed)
	})
	if err != nil {
		return nil, fmt.Errorf("read daily balances of account %s: %w", accountID, err)
	}
	if len(days) == 0 {
		return nil, ErrNotFound
	}
	return days, nil
}

// CashFlowMonth is one row of reporting.monthly_cash_flow.
type CashFlowMonth struct {
	Month        time.Time
	Currency     string
	Income       decimal.Decimal
	Spending     decimal.Decimal
	Net          decimal.Decimal
	PendingCount int64
	PendingNet   decimal.Decimal
}

// CashFlow returns the app user's income and spending per month from the
// month of `from` on, oldest first.
func (r *Reader) CashFlow(ctx context.Context, appUser string, from time.Time) ([]CashFlowMonth, error) {
	rows, err := r.db.Query(ctx, `
		SELECT month, currency, income::text, spending::text, net::text, pending_count, pending_net::text
		FROM reporting.monthly_cash_flow
		WHERE app_user_ref = $1 AND month >= date_trunc('month', $2::date)::date
		ORDER BY month, currency`, appUser, from.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read cash flow of app user: %w", err)
	}
	months, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CashFlowMonth, error) {
		var m CashFlowMonth
		var income, spending, net, pendingNet string
		if err := row.Scan(&m.Month, &m.Currency, &income, &spending, &net, &m.PendingCount, &pendingNet); err != nil {
			return m, err
		}
		return m, parseAll([]*decimal.Decimal{&m.Income, &m.Spending, &m.Net, &m.PendingNet}, income, spending, net, pendingNet)
	})
	if err != nil {
		return nil, fmt.Errorf("read cash flow of app user: %w", err)
	}
	return months, nil
}

// CategorySpending is one row of reporting.spending_by_category.
type CategorySpending struct {
	Category     string
	DisplayName  string
	Currency     string
	Amount       decimal.Decimal // spent net of refunds, positive
	Transactions int64
}

// SpendingByCategory returns the app user's spending per category in the
// month of `month`, largest first.
func (r *Reader) SpendingByCategory(ctx context.Context, appUser string, month time.Time) ([]CategorySpending, error) {
	rows, err := r.db.Query(ctx, `
		SELECT category, currency, amount::text, transaction_count
		FROM reporting.spending_by_category
		WHERE app_user_ref = $1 AND month = date_trunc('month', $2::date)::date
		ORDER BY spending_by_category.amount DESC, category`, appUser, month.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read spending by category of app user: %w", err)
	}
	cats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CategorySpending, error) {
		var c CategorySpending
		var amount string
		if err := row.Scan(&c.Category, &c.Currency, &amount, &c.Transactions); err != nil {
			return c, err
		}
		c.DisplayName = CategoryDisplayName(c.Category)
		return c, parseAll([]*decimal.Decimal{&c.Amount}, amount)
	})
	if err != nil {
		return nil, fmt.Errorf("read spending by category of app user: %w", err)
	}
	return cats, nil
}

// Transaction is one row of reporting.transactions.
type Transaction struct {
	TransactionID int64
	AccountName   string
	PostedDate    time.Time
	Pending       bool
	Amount        decimal.Decimal // user perspective: money in positive
	Currency      string
	Merchant      string
	Category      string
	DisplayName   string // the category's display name
	IsTransfer    bool
	Flow          string
}

// RecentTransactions returns the app user's latest transactions (pending
// ones included), newest first.
func (r *Reader) RecentTransactions(ctx context.Context, appUser string, limit int) ([]Transaction, error) {
	rows, err := r.db.Query(ctx, `
		SELECT transaction_id, account_name, posted_date, pending, amount::text, currency, merchant, category,
		       is_transfer, flow
		FROM reporting.transactions
		WHERE app_user_ref = $1
		ORDER BY posted_at DESC, transaction_id DESC
		LIMIT $2`, appUser, limit)
	if err != nil {
		return nil, fmt.Errorf("read recent transactions of app user: %w", err)
	}
	txns, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Transaction, error) {
		var t Transaction
		var amount string
		if err := row.Scan(&t.TransactionID, &t.AccountName, &t.PostedDate, &t.Pending, &amount, &t.Currency,
			&t.Merchant, &t.Category, &t.IsTransfer, &t.Flow); err != nil {
			return t, err
		}
		t.DisplayName = CategoryDisplayName(t.Category)
		return t, parseAll([]*decimal.Decimal{&t.Amount}, amount)
	})
	if err != nil {
		return nil, fmt.Errorf("read recent transactions of app user: %w", err)
	}
	return txns, nil
}

// Recurring is one row of reporting.recurring.
type Recurring struct {
	Merchant         string
	Category         string
	DisplayName      string
	Currency         string
	Direction        string // outflow or inflow
	Cadence          string // weekly, biweekly, monthly, quarterly, annual
	TypicalAmount    decimal.Decimal
	LastDate         time.Time
	NextExpectedDate *time.Time // nil once no longer active
	Occurrences      int64
	Active           bool
	AccountName      string
}

// Recurring returns the app user's recurring payments and income: active
// ones first, by next expected date.
func (r *Reader) Recurring(ctx context.Context, appUser string) ([]Recurring, error) {
	rows, err := r.db.Query(ctx, `
		SELECT merchant, category, currency, direction, cadence, typical_amount::text, last_date,
		       next_expected_date, occurrences, active, account_name
		FROM reporting.recurring
		WHERE app_user_ref = $1
		ORDER BY active DESC, next_expected_date, last_date DESC, merchant`, appUser)
	if err != nil {
		return nil, fmt.Errorf("read recurring payments of app user: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Recurring, error) {
		var c Recurring
		var amount string
		if err := row.Scan(&c.Merchant, &c.Category, &c.Currency, &c.Direction, &c.Cadence, &amount, &c.LastDate,
			&c.NextExpectedDate, &c.Occurrences, &c.Active, &c.AccountName); err != nil {
			return c, err
		}
		c.DisplayName = CategoryDisplayName(c.Category)
		return c, parseAll([]*decimal.Decimal{&c.TypicalAmount}, amount)
	})
	if err != nil {
		return nil, fmt.Errorf("read recurring payments of app user: %w", err)
	}
	return recs, nil
}

func decimalPtr(s *string) (*decimal.Decimal, error) {
	if s == nil {
		return nil, nil
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return nil, fmt.Errorf("parse amount %q: %w", *s, err)
	}
	return &d, nil
}

func parseAll(dst []*decimal.Decimal, src ...string) error {
	for i, s := range src {
		d, err := decimal.NewFromString(s)
		if err != nil {
			return fmt.Errorf("parse amount %q: %w", s, err)
		}
		*dst[i] = d
	}
	return nil
}
