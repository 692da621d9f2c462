package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// bodyFixture is a sandbox with every user authorised.
type bodyFixture struct {
	*testBundle
	toks map[string]*oauth2.Token
}

func newBodyFixture(t *testing.T) *bodyFixture {
	t.Helper()
	b := setup(t, func(o *Options) {
		o.Bank = bank.Config{Start: bank.FixedStart, Seed: 7, Users: 3, HistoryDays: 200, FutureDays: 60, Density: 2}
	})
	f := &bodyFixture{testBundle: b, toks: map[string]*oauth2.Token{}}
	for n := 1; n <= 3; n++ {
		f.toks[b.srv.Bank().UserID(n)] = b.authorize(t, n)
	}
	return f
}

// transactionQueries are the query strings each account is read with.
func transactionQueries(now time.Time) []string {
	since := url.QueryEscape(now.Add(-20 * 24 * time.Hour).Format(time.RFC3339))
	return []string{"", "?offset=0&limit=500", "?offset=500&limit=500", "?offset=3&limit=7",
		"?offset=100000&limit=10", "?since=" + since, "?updatedSince=" + since + "&limit=50"}
}

// each calls fn with the user, account, path and body of every transactions request the
// queries make, over real HTTP, for every account of every user.
func (f *bodyFixture) each(t *testing.T, fn func(user, account, path string, body []byte)) {
	t.Helper()
	now := f.srv.Clock().Now()
	for user, tok := range f.toks {
		accounts, _, ok := f.srv.Bank().Accounts(user, now)
		require.True(t, ok)
		for _, a := range accounts {
			for _, q := range transactionQueries(now) {
				path := "/users/" + user + "/accounts/" + a.ID + "/transactions" + q
				status, body, header := f.get(t, tok, http.MethodGet, path)
				require.Equal(t, http.StatusOK, status, string(body))
				require.Equal(t, "application/json", header.Get("Content-Type"))
				fn(user, a.ID, path, body)
			}
		}
	}
}

// transactionsResponse is the transactions endpoint's body as a struct
// for encoding/json, its records as R: what bank.Page.AppendJSON must
// match byte for byte.
type transactionsResponse[R any] struct {
	Transactions              []R         `json:"transactions"`
	InactivatedTransactionIDs []string    `json:"inactivatedTransactionIds"`
	Offset                    int         `json:"offset"`
	Limit                     int         `json:"limit"`
	Account                   accountKind `json:"account"`
}

type accountKind struct {
	AccountType    string `json:"accountType"`
	AccountSubType string `json:"accountSubType"`
}

// TestTransactionsBodyMatchesEncodingJSON checks that the default
// transactions endpoint serves, byte for byte, json.Marshal of the response
// struct built from the bank's page, before and after the clock reveals
// later changes (tags, notes, recategorisations).
func TestTransactionsBodyMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	f := newBodyFixture(t)
	served := 0
	check := func(user, account, path string, body []byte) {
		q, err := parseTransactionsQuery(httptest.NewRequest(http.MethodGet, path, nil))
		require.NoError(t, err)
		page, err := f.srv.Bank().Transactions(user, account, f.srv.Clock().Now(), q)
		require.NoError(t, err)
		resp := transactionsResponse[bank.Transaction]{
			Transactions:              page.Transactions,
			InactivatedTransactionIDs: page.InactivatedTransactionIDs,
			Offset:                    page.Offset,
			Limit:                     page.Limit,
			Account:                   accountKind{AccountType: page.AccountType, AccountSubType: page.AccountSubType},
		}
		if resp.Transactions == nil {
			resp.Transactions = []bank.Transaction{}
		}
		if resp.InactivatedTransactionIDs == nil {
			resp.InactivatedTransactionIDs = []string{}
		}
		want, err := json.Marshal(resp)
		require.NoError(t, err)
		require.Equal(t, string(want), string(body), path)
		served += len(page.Transactions)
	}
	f.each(t, check)
	_, err := f.srv.Clock().Advance(45 * 24 * time.Hour)
	require.NoError(t, err)
	f.each(t, check)
	require.Greater(t, served, 1000)
}

// TestTransactionsBodyUnderProfilesMatchesEncodingJSON checks the body
// served under every named profile against encoding/json: the page is
// json.Marshal of its parts, each record left alone is json.Marshal of the
// transaction it decodes to, and each altered record is json.Marshal of its
// fields.
func TestTransactionsBodyUnderProfilesMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	f := newBodyFixture(t)
	_, err := f.srv.Clock().Advance(45 * 24 * time.Hour)
	require.NoError(t, err)
	plain, altered := 0, 0
	for _, p := range Profiles() {
		require.NoError(t, f.srv.SetBehaviour(p.Behaviour))
		f.each(t, func(_, _, path string, body []byte) {
			var page transactionsResponse[json.RawMessage]
			require.NoError(t, json.Unmarshal(body, &page), path)
			want, err := json.Marshal(page)
			require.NoError(t, err)
			require.Equal(t, string(want), string(body), "%s %s", p.Name, path)
			for _, raw := range page.Transactions {
				var fields map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(raw, &fields))
				amount := string(fields["amount"])
				date, hasDate := fields["datePosted"]
				_, hasID := fields["id"]
				if !hasID || !hasDate || string(date) == "null" || amount == `"NaN"` || amount[0] != '"' {
					want, err := json.Marshal(fields)
					require.NoError(t, err)
					require.Equal(t, string(want), string(raw), "%s %s", p.Name, path)
					altered++
					continue
				}
				var x bank.Transaction
				require.NoError(t, json.Unmarshal(raw, &x))
				want, err := json.Marshal(x)
				require.NoError(t, err)
				require.Equal(t, string(want), string(raw), "%s %s", p.Name, path)
				plain++
			}
		})
	}
	require.Greater(t, plain, 1000)
	require.Positive(t, altered)
}
