package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

func TestSummaryReports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	acct := accountFixture(t, s, link.ID, "acc-1", "Deposit")
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
	day := time.Date(2025, 12, 10, 12, 0, 0, 0, time.UTC)
	spend := func(id, amount, category string) store.TransactionInput {
		tx := txn(id, amount, day, false)
		tx.Category = category
		return tx
	}
	require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.UpsertTransactions(ctx, scope, []store.TransactionInput{
			spend("a", "-9.50", "diningout"), spend("b", "-120.00", "groceries"), spend("c", "-30.25", "groceries"), spend("d", "-100.00", "home"),
		})
		return err
	}))
	got, err := s.SpendingByCategory(ctx, "u1", day)
	require.NoError(t, err)
	require.Equal(t, []store.CategorySpend{{"groceries", "150.25", 2}, {"home", "100.00", 1}, {"diningout", "9.50", 1}}, got, "largest first, numerically")

	accounts, err := s.AccountsReport(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, accounts, 1)
	require.Equal(t, "100.00", accounts[0].Balance)

	_, err = s.SpendingByCategory(ctx, "nobody", day)
	require.NoError(t, err)

	created, err := store.EnsureDatabase(ctx, "postgres://invalid host", "x")
	require.Error(t, err)
	require.False(t, created)
}
