package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// TestReportingTransferNeedsATransferLikeCounterpart: a friend's transfer in
// and an unrelated purchase of the same amount on the user's card are not
// an own-account transfer; a card payment booked uncategorized on the card
// side still is.
func TestReportingTransferNeedsATransferLikeCounterpart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	link := linkFixture(t, s, "u1")
	checking := accountFixture(t, s, link.ID, "checking", "Deposit")
	card := accountFixture(t, s, link.ID, "card", "Line of Credit")
	day := time.Date(2025, 9, 10, 12, 0, 0, 0, time.UTC)
	write := func(acct store.StoredAccount, id, signed, category, typ string, posted time.Time) {
		tx := txn(id, signed, posted, false)
		tx.Category, tx.Type = category, typ
		require.NoError(t, s.Transact(ctx, func(st *store.Store) error {
			_, err := st.UpsertTransactions(ctx, store.FeedScope{AppUserRef: "u1", LinkID: link.ID, AccountID: acct.ID}, []store.TransactionInput{tx})
			return err
		}))
	}
	write(checking, "zelle-in", "25.00", "transfer", "TRANSFER", day)
	write(card, "groceries", "-25.00", "groceries", "POS", day.Add(48*time.Hour))
	write(checking, "card-payment-out", "-300.00", "payment", "TRANSFER", day)
	write(card, "card-payment-in", "300.00", "", "ONLINE", day.Add(24*time.Hour))

	got := queryMap[string, bool](t, s.Pool(), `SELECT provider_transaction_id, is_transfer FROM reporting.transactions`)
	require.Equal(t, map[string]bool{
		"zelle-in": false, "groceries": false,
		"card-payment-out": true, "card-payment-in": true,
	}, got)
}
