package consumerapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const transactionsRoute = "GET /users/{userId}/accounts/{accountId}/transactions"

func TestSessionTransactions(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, testAccount, r.PathValue("accountId"))
		writeFixture(t, w, http.StatusOK, "transactions_page.json")
	})
	c := bank.newClient(t)

	page, err := c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, TransactionQuery{})
	require.NoError(t, err)
	require.Empty(t, bank.queriesOf(transactionsRoute)[0], "no parameter sent for a zero query")
	require.Len(t, page.Transactions, 5)
	require.Equal(t, []string{"a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a00"}, page.InactivatedTransactionIDs)
	require.Equal(t, 0, page.Offset)
	require.Equal(t, 500, page.Limit)
	require.Equal(t, AccountTypeDeposit, page.Account.AccountType)

	first := page.Transactions[0]
	require.Equal(t, "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01", first.ID)
	require.Equal(t, testAccount, first.AccountID)
	require.Equal(t, "-42.17", first.Amount.String())
	require.Equal(t, "USD", first.Currency)
	require.Equal(t, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), first.DatePosted.UTC())
	require.Equal(t, PendingNoReconciliation, first.PendingStatus)
	require.False(t, first.IsPending())
	require.Equal(t, TransactionTypePOS, first.Type)
	require.Equal(t, TransactionSubtypePinDebit, first.Subtype)
	require.Equal(t, "Green Market #112", first.FilteredMemo)
	require.Equal(t, int64(1), first.Sequence)
	require.Equal(t, []string{"groceries", "weekly"}, first.Tags)
	require.Equal(t, "Green Market", first.Merchant.Name)
	require.Equal(t, "37.2089572", first.Merchant.Location.Lat.String(), "JSON number kept exact")
	require.Equal(t, "-93.2922989", first.Merchant.Location.Long.String())
	require.Equal(t, ExpenseGroceries, first.Enrichments.ExpenseCategory)
	require.Equal(t, time.Date(2026, 11, 2, 7, 12, 55, 481e6, time.UTC), first.LastUpdated.UTC())
	require.Contains(t, string(first.Raw), `"categoryId": 17`, "raw keeps unknown fields")

	interest := page.Transactions[1]
	require.Equal(t, "0.005", interest.Amount.String(), "sub-cent amount exact")
	require.Nil(t, interest.Merchant)
	require.Equal(t, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), interest.DatePosted.UTC(), "no millis")

	payroll := page.Transactions[2]
	require.Equal(t, PendingReconciled, payroll.PendingStatus)
	require.Equal(t, time.Date(2026, 11, 3, 6, 0, 0, 0, time.UTC), payroll.DatePosted.UTC(), "offset -06:00")
	require.Equal(t, time.Date(2026, 11, 3, 12, 0, 1, 5e8, time.UTC), payroll.LastUpdated.UTC())

	pending := page.Transactions[4]
	require.True(t, pending.IsPending())
	require.False(t, pending.RunningBalance.Valid(), "null running balance")
	require.Equal(t, "-18.99", pending.Amount.String())
}

func TestTransactionsCreditCardSign(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusOK, "transactions_credit_card.json")
	})
	c := bank.newClient(t)
	page, err := c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, TransactionQuery{})
	require.NoError(t, err)
	at := page.Account.AccountType
	require.Equal(t, AccountTypeLineOfCredit, at)
	require.Equal(t, "64.2500", page.Transactions[0].Amount.String(), "a purchase raises the amount owed")
	require.Equal(t, "-500.00", page.Transactions[1].Amount.String(), "a payment lowers it")
}

func TestTransactionsEmptyForms(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"transactions_null.json", "transactions_missing.json"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
				writeFixture(t, w, http.StatusOK, name)
			})
			c := bank.newClient(t)
			page, err := c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, TransactionQuery{Offset: 500, Limit: 500})
			require.NoError(t, err)
			require.NotNil(t, page.Transactions)
			require.Empty(t, page.Transactions)
			require.Empty(t, page.InactivatedTransactionIDs)
			require.Equal(t, 500, page.Offset)
			require.Equal(t, 500, page.Limit)
		})
	}
}

func TestTransactionQueryParameters(t *testing.T) {
	t.Parallel()
	since := time.Date(2022, 6, 30, 0, 0, 0, 0, time.UTC)
	until := time.Date(2022, 7, 31, 23, 59, 59, 0, time.FixedZone("CDT", -5*3600))
	updated := time.Date(2026, 11, 1, 12, 30, 0, 250e6, time.UTC)
	tests := []struct {
		name string
		q    TransactionQuery
		want url.Values
	}{
		{"none", TransactionQuery{}, url.Values{}},
		{"limit only sends offset 0", TransactionQuery{Limit: 100}, url.Values{"offset": {"0"}, "limit": {"100"}}},
		{"offset and limit", TransactionQuery{Offset: 1000, Limit: 500}, url.Values{"offset": {"1000"}, "limit": {"500"}}},
		{"since and until in UTC", TransactionQuery{Since: since, Until: until},
			url.Values{"since": {"2022-06-30T00:00:00Z"}, "until": {"2022-08-01T04:59:59Z"}}},
		{"updatedSince with millis", TransactionQuery{UpdatedSince: updated, Limit: 500},
			url.Values{"updatedSince": {"2026-11-01T12:30:00.25Z"}, "offset": {"0"}, "limit": {"500"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
				writeFixture(t, w, http.StatusOK, "transactions_null.json")
			})
			c := bank.newClient(t)
			_, err := c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, tt.q)
			require.NoError(t, err)
			got, err := url.ParseQuery(bank.queriesOf(transactionsRoute)[0])
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTransactionQueryRefusedClientSide(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		q      TransactionQuery
		target error
	}{
		{"since with updatedSince", TransactionQuery{Since: now, UpdatedSince: now}, ErrSinceWithUpdatedSince},
		{"limit above 500", TransactionQuery{Limit: 501}, ErrInvalidQuery},
		{"negative limit", TransactionQuery{Limit: -1}, ErrInvalidQuery},
		{"negative offset", TransactionQuery{Offset: -5}, ErrInvalidQuery},
		{"until before since", TransactionQuery{Since: now, Until: now.Add(-time.Hour)}, ErrInvalidQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
				t.Error("no request may be made")
			})
			c := bank.newClient(t)
			s := c.Session(testUserID, StaticToken(testAccess))

			_, err := s.Transactions(context.Background(), testAccount, tt.q)
			require.ErrorIs(t, err, tt.target)
			require.ErrorIs(t, err, ErrInvalidQuery)
			require.True(t, IsPermanent(err))
			require.Zero(t, bank.totalHits(), "refused before any request")
		})
	}
}

func TestTruncatedPageIsRetriedThenTransient(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		body := transactionsBody(t, offset, 500, 500)
		writeJSON(w, http.StatusOK, body[:len(body)/2]) // valid HTTP, JSON cut short
	})
	c := bank.newClient(t)

	page, err := c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, TransactionQuery{Offset: 500, Limit: 500})
	require.Nil(t, page, "no partial page")
	require.ErrorIs(t, err, ErrTruncatedBody)
	require.True(t, IsTransient(err))
	require.Equal(t, 3, bank.hitCount(transactionsRoute), "the truncated page was tried MaxAttempts times")
}

func TestTransactionPageTooLong(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, transactionsBody(t, 0, 11, 10))
	})
	c := bank.newClient(t)
	_, err := c.Session(testUserID, StaticToken(testAccess)).Transactions(context.Background(), testAccount, TransactionQuery{Limit: 10})
	require.ErrorIs(t, err, ErrMalformedBody)
}

func TestTransactionsAfterReusesARepeatedInactivatedList(t *testing.T) {
	t.Parallel()
	lists := []string{`["a","b"]`, `["a","b"]`, `["a","c"]`, `null`, `["x",1]`}
	call := 0
	bank := newFakeBank(t)
	bank.handle(transactionsRoute, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"transactions":[],"inactivatedTransactionIds":` + lists[call] + `}`))
		call++
	})
	s := bank.newClient(t).Session(testUserID, StaticToken(testAccess))
	ctx := context.Background()

	first, err := s.TransactionsAfter(ctx, testAccount, TransactionQuery{}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, first.InactivatedTransactionIDs)
	require.False(t, first.InactivatedRepeated)
	require.NotZero(t, first.InactivatedDigest)

	// Only the two fields the caller keeps are needed.
	kept := &TransactionPage{InactivatedTransactionIDs: first.InactivatedTransactionIDs, InactivatedDigest: first.InactivatedDigest}
	second, err := s.TransactionsAfter(ctx, testAccount, TransactionQuery{}, kept)
	require.NoError(t, err)
	require.True(t, second.InactivatedRepeated)
	require.Equal(t, []string{"a", "b"}, second.InactivatedTransactionIDs)
	require.Same(t, &first.InactivatedTransactionIDs[0], &second.InactivatedTransactionIDs[0], "the list was not decoded again")

	third, err := s.TransactionsAfter(ctx, testAccount, TransactionQuery{}, second)
	require.NoError(t, err)
	require.False(t, third.InactivatedRepeated)
	require.Equal(t, []string{"a", "c"}, third.InactivatedTransactionIDs)

	fourth, err := s.TransactionsAfter(ctx, testAccount, TransactionQuery{}, third)
	require.NoError(t, err)
	require.False(t, fourth.InactivatedRepeated)
	require.Empty(t, fourth.InactivatedTransactionIDs)
	require.Zero(t, fourth.InactivatedDigest)

	_, err = s.TransactionsAfter(ctx, testAccount, TransactionQuery{}, third)
	require.ErrorIs(t, err, ErrMalformedBody, "an id that is not a string")
}

func TestDecodeTakesTheInactivatedKeyAsEncodingJSONDoes(t *testing.T) {
	t.Parallel()
	// encoding/json matches keys case-insensitively (the last one wins);
	// the one-pass decoder must not pick a different list than it would.
	body := []byte(`{"transactions":[],"inactivatedTransactionIds":["a"],"InactivatedTransactionIDs":["b"]}`)
	page, err := decodeTransactionPage(body)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, page.InactivatedTransactionIDs)
}
