package consumerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSessionProfile(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle("GET /users/{userId}", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, testUserID, r.PathValue("userId"))
		require.Equal(t, "Bearer "+testAccess.Reveal(), r.Header.Get("Authorization"))
		writeFixture(t, w, http.StatusOK, "user_profile.json")
	})
	c := bank.newClient(t)

	p, err := c.Session(testUserID, StaticToken(testAccess)).Profile(context.Background())
	require.NoError(t, err)
	require.Equal(t, "Jordan", p.FirstName)
	require.Equal(t, "Reyes", p.LastName)
	require.Equal(t, "jordan.reyes@example.com", p.Email)
	require.Equal(t, "4b1f3a9e-2c6d-4e8a-b0f7-5d9c1e2a3b4c", p.InstitutionID)
	require.JSONEq(t, string(fixture(t, "user_profile.json")), string(p.Raw), "raw JSON kept, unknown fields included")
}

func TestSessionAccounts(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle("GET /users/{userId}/accounts", func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusOK, "accounts.json")
	})
	c := bank.newClient(t)

	list, err := c.Session(testUserID, StaticToken(testAccess)).Accounts(context.Background())
	require.NoError(t, err)
	require.Len(t, list.Accounts, 4)
	require.Equal(t, []string{"5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"}, list.InactivatedAccountIDs)

	checking := list.Accounts[0]
	require.Equal(t, "Everyday Checking", checking.Name, "stray whitespace trimmed")
	require.Equal(t, AccountTypeDeposit, checking.AccountType)
	require.Equal(t, AccountStatusActive, checking.AccountStatus)
	require.Equal(t, "2543.17", checking.Balance.String())
	require.Equal(t, "2493.170", checking.AvailableBalance.String(), "scale kept")
	require.False(t, checking.CreditLimit.Valid(), "absent decimal")
	require.Equal(t, time.Date(2026, 11, 20, 13, 45, 2, 517e6, time.UTC), checking.FetchedDate.UTC())
	require.Equal(t, "Garden Financial", checking.Institution.Name)
	require.True(t, checking.ContributesToAggregateTotals)
	require.Contains(t, string(checking.Raw), `"  Everyday Checking "`, "raw keeps the original")
	require.Contains(t, string(checking.Raw), `"productCode"`, "raw keeps unknown fields")

	card := list.Accounts[1]
	require.Equal(t, AccountTypeLineOfCredit, card.AccountType)
	require.False(t, card.AvailableBalance.Valid(), "null decimal")
	require.Equal(t, "612.4050", card.Balance.String())
	require.Equal(t, Date{2026, time.December, 5}, card.PaymentDueDate)
	require.Equal(t, "21.990", card.InterestRate.String())

	loan := list.Accounts[2]
	require.Equal(t, AccountTypeDebt, loan.AccountType)
	require.Equal(t, "18250.00", loan.Balance.String(), "as the bank sends it: positive is owed")
	require.True(t, loan.Hidden)
	require.Equal(t, time.Date(2026, 11, 20, 13, 45, 2, 0, time.UTC), loan.FetchedDate.UTC(), "offset form")

	other := list.Accounts[3]
	require.Equal(t, AccountType("Retirement Plus"), other.AccountType, "unknown enum values kept")
	require.False(t, other.AccountType.Known())
	require.Equal(t, "10500.004", other.Balance.String(), "sub-cent kept")
	require.Nil(t, other.Institution)
}

func TestSessionAccount(t *testing.T) {
	t.Parallel()
	const id = "1f4d2c8a-9b7e-4e21-a3c5-6d8f0b1a2c03"
	flat := fixture(t, "account.json")
	wrapped, err := json.Marshal(map[string]json.RawMessage{"account": flat})
	require.NoError(t, err)
	listed := fixture(t, "accounts.json")

	tests := []struct {
		name string
		body []byte
	}{
		{"flat object", flat},
		{"account wrapper", wrapped},
		{"accounts list", listed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle("GET /users/{userId}/accounts/{accountId}", func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, id, r.PathValue("accountId"))
				writeJSON(w, http.StatusOK, tt.body)
			})
			c := bank.newClient(t)
			a, err := c.Session(testUserID, StaticToken(testAccess)).Account(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, id, a.ID)
			require.Equal(t, "Rewards Visa", a.Name)
			require.Equal(t, "4387.5950", a.AvailableCredit.String())
		})
	}

	t.Run("other account in body", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.handle("GET /users/{userId}/accounts/{accountId}", func(w http.ResponseWriter, r *http.Request) {
			writeFixture(t, w, http.StatusOK, "account.json")
		})
		c := bank.newClient(t)
		_, err := c.Session(testUserID, StaticToken(testAccess)).Account(context.Background(), testAccount)
		require.ErrorIs(t, err, ErrMalformedBody)
		require.True(t, IsPermanent(err))
	})
}
