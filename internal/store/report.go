package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AccountReport is one row of reporting.accounts, for summaries.
type AccountReport struct {
	Institution  string
	Name         string
	MaskedNumber string
	Type         string
	Subtype      string
	// Balance is in the user's perspective: assets positive, debts negative.
	Balance  string
	Inactive bool
}

// AccountsReport lists an app user's accounts from the reporting views.
func (s *Store) AccountsReport(ctx context.Context, appUserRef string) ([]AccountReport, error) {
	rows, err := s.db.Query(ctx, `
		SELECT institution_name, name, masked_number, account_type, account_subtype,
			coalesce(current_balance_signed::text, ''), inactive
		FROM reporting.accounts WHERE app_user_ref = $1
		ORDER BY inactive, is_liability, account_type, name`, appUserRef)
	if err != nil {
		return nil, translate(err, "report accounts")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AccountReport, error) {
		var a AccountReport
		err := row.Scan(&a.Institution, &a.Name, &a.MaskedNumber, &a.Type, &a.Subtype, &a.Balance, &a.Inactive)
		return a, err
	})
	return out, translate(err, "report accounts")
}

// CategorySpend is one category's spending in a month.
type CategorySpend struct {
	Category     string
	Amount       string
	Transactions int
}

// SpendingByCategory returns an app user's spending by category in the
// month containing month, largest first.
func (s *Store) SpendingByCategory(ctx context.Context, appUserRef string, month time.Time) ([]CategorySpend, error) {
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := s.db.Query(ctx, `
		SELECT s.category, s.amount::text, s.transaction_count
		FROM reporting.spending_by_category s
		WHERE s.app_user_ref = $1 AND s.month = $2::date AND s.amount > 0
		ORDER BY s.amount DESC, s.category`, appUserRef, first)
	if err != nil {
		return nil, translate(err, "report spending by category")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CategorySpend, error) {
		var c CategorySpend
		err := row.Scan(&c.Category, &c.Amount, &c.Transactions)
		return c, err
	})
	return out, translate(err, "report spending by category")
}

// NetWorth returns an app user's latest net worth (assets, debts, net).
func (s *Store) NetWorth(ctx context.Context, appUserRef string) (assets, debts, net string, err error) {
	err = s.db.QueryRow(ctx, `
		SELECT assets::text, debts::text, net_worth::text FROM reporting.net_worth_daily
		WHERE app_user_ref = $1 ORDER BY day DESC LIMIT 1`, appUserRef).Scan(&assets, &debts, &net)
	return assets, debts, net, translate(err, "report net worth")
}

// EnsureDatabase creates the database name through the administrative
// connection adminURL unless it exists, and reports whether it created it.
func EnsureDatabase(ctx context.Context, adminURL, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, translate(err, "look up database %s", name)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return false, translate(err, "create database %s", name)
	}
	return true, nil
}
