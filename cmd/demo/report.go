package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The summary's queries read the reporting views, as any dashboard would.

// accountRow is one row of reporting.accounts.
type accountRow struct {
	Institution, Name, MaskedNumber, Type, Subtype string
	// Balance is in the user's perspective: assets positive, debts negative.
	Balance  string
	Inactive bool
}

// accountsReport lists an app user's accounts.
func accountsReport(ctx context.Context, db *pgxpool.Pool, appUserRef string) ([]accountRow, error) {
	rows, err := db.Query(ctx, `
		SELECT institution_name, name, masked_number, account_type, account_subtype,
			coalesce(current_balance_signed::text, ''), inactive
		FROM reporting.accounts WHERE app_user_ref = $1
		ORDER BY inactive, is_liability, account_type, name`, appUserRef)
	if err != nil {
		return nil, fmt.Errorf("report accounts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (accountRow, error) {
		var a accountRow
		err := row.Scan(&a.Institution, &a.Name, &a.MaskedNumber, &a.Type, &a.Subtype, &a.Balance, &a.Inactive)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("report accounts: %w", err)
	}
	return out, nil
}

// categorySpend is one category's spending in a month.
type categorySpend struct {
	Category     string
	Amount       string
	Transactions int
}

// spendingByCategory returns an app user's spending by category in the
// month containing month, largest first.
func spendingByCategory(ctx context.Context, db *pgxpool.Pool, appUserRef string, month time.Time) ([]categorySpend, error) {
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := db.Query(ctx, `
		SELECT s.category, s.amount::text, s.transaction_count
		FROM reporting.spending_by_category s
		WHERE s.app_user_ref = $1 AND s.month = $2::date AND s.amount > 0
		ORDER BY s.amount DESC, s.category`, appUserRef, first)
	if err != nil {
		return nil, fmt.Errorf("report spending by category: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (categorySpend, error) {
		var c categorySpend
		err := row.Scan(&c.Category, &c.Amount, &c.Transactions)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("report spending by category: %w", err)
	}
	return out, nil
}

// errNoBalances means the user has no net worth yet.
var errNoBalances = errors.New("no balances yet")

// netWorth returns an app user's latest net worth (assets, debts, net).
func netWorth(ctx context.Context, db *pgxpool.Pool, appUserRef string) (assets, debts, net string, err error) {
	err = db.QueryRow(ctx, `
		SELECT assets::text, debts::text, net_worth::text FROM reporting.net_worth_daily
		WHERE app_user_ref = $1 ORDER BY day DESC LIMIT 1`, appUserRef).Scan(&assets, &debts, &net)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", "", errNoBalances
	}
	if err != nil {
		return "", "", "", fmt.Errorf("report net worth: %w", err)
	}
	return assets, debts, net, nil
}
