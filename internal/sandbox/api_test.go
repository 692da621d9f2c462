package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

func TestConsumerAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := b.authorize(t, 1)
	user := b.srv.Bank().UserID(1)

	t.Run("Profile", func(t *testing.T) {
		var p struct {
			ID, FirstName, LastName, Email, InstitutionID string
		}
		b.getJSON(t, tok, "/users/"+user, &p)
		require.Equal(t, user, p.ID)
		require.NotEmpty(t, p.FirstName)
		require.Equal(t, b.srv.Info().InstitutionID, p.InstitutionID)
	})

	var accounts wireAccounts
	b.getJSON(t, tok, "/users/"+user+"/accounts", &accounts)
	require.NotEmpty(t, accounts.Accounts)
	require.NotNil(t, accounts.InactivatedAccountIDs)

	t.Run("OneAccount", func(t *testing.T) {
		for _, a := range accounts.Accounts {
			var one struct{ ID, Balance string }
			b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID, &one)
			require.Equal(t, a.ID, one.ID)
			require.Equal(t, a.Balance, one.Balance)
		}
		status, _, _ := b.get(t, tok, http.MethodGet, "/users/"+user+"/accounts/00000000-0000-4000-8000-000000000000")
		require.Equal(t, http.StatusNotFound, status)
	})

	t.Run("PagesEqualUnpaginatedAndAreOrdered", func(t *testing.T) {
		for _, a := range accounts.Accounts {
			var whole wirePage
			b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID+"/transactions", &whole)
			require.Equal(t, a.AccountType, whole.Account.AccountType)
			paged, pages := b.walk(t, tok, user, a.ID, 7, "")
			require.Equal(t, whole.Transactions, paged)
			require.Equal(t, len(whole.Transactions)/7+1, pages)
			for i := 1; i < len(paged); i++ {
				prev, cur := paged[i-1], paged[i]
				require.True(t, prev.DatePosted < cur.DatePosted || prev.DatePosted == cur.DatePosted && prev.Sequence < cur.Sequence,
					"order: %s#%d before %s#%d", prev.DatePosted, prev.Sequence, cur.DatePosted, cur.Sequence)
				require.NotEqual(t, prev.ID, cur.ID)
			}
		}
	})

	t.Run("SinceUntilInclusive", func(t *testing.T) {
		a := accounts.Accounts[0]
		var whole wirePage
		b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID+"/transactions", &whole)
		require.Greater(t, len(whole.Transactions), 10)
		mid := whole.Transactions[len(whole.Transactions)/2]
		var from, to wirePage
		b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID+"/transactions?since="+url.QueryEscape(mid.DatePosted), &from)
		b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID+"/transactions?until="+url.QueryEscape(mid.DatePosted), &to)
		require.Contains(t, from.Transactions, mid)
		require.Contains(t, to.Transactions, mid)
		for _, x := range from.Transactions {
			require.GreaterOrEqual(t, x.DatePosted, mid.DatePosted)
		}
		for _, x := range to.Transactions {
			require.LessOrEqual(t, x.DatePosted, mid.DatePosted)
		}
	})

	t.Run("UpdatedSince", func(t *testing.T) {
		a := accounts.Accounts[0]
		var whole wirePage
		b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID+"/transactions", &whole)
		cut := whole.Transactions[len(whole.Transactions)*3/4].LastUpdated
		var recent wirePage
		b.getJSON(t, tok, "/users/"+user+"/accounts/"+a.ID+"/transactions?updatedSince="+url.QueryEscape(cut), &recent)
		want := 0
		for _, x := range whole.Transactions {
			if x.LastUpdated >= cut {
				want++
			}
		}
		require.Len(t, recent.Transactions, want)
		for _, x := range recent.Transactions {
			require.GreaterOrEqual(t, x.LastUpdated, cut)
		}
	})

	t.Run("BadQueries", func(t *testing.T) {
		a := accounts.Accounts[0]
		base := "/users/" + user + "/accounts/" + a.ID + "/transactions?"
		for _, q := range []string{
			"limit=501", "limit=0", "limit=x", "offset=-1",
			"since=2026-01-01T00:00:00Z&updatedSince=2026-01-01T00:00:00Z",
			"since=2026-01-01", "until=yesterday",
			"since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
			"startDate=2026-01-01",
		} {
			status, body, _ := b.get(t, tok, http.MethodGet, base+q)
			require.Equal(t, http.StatusBadRequest, status, q)
			var e apiError
			require.NoError(t, json.Unmarshal(body, &e), q)
			require.Equal(t, http.StatusBadRequest, e.ErrorCode, q)
			require.NotEmpty(t, e.Messages, q)
		}
		status, _, _ := b.get(t, tok, http.MethodGet, "/users/"+user+"/accounts/00000000-0000-4000-8000-000000000000/transactions")
		require.Equal(t, http.StatusNotFound, status)
	})

	t.Run("FetchTaskLongPollsToTaskEnded", func(t *testing.T) {
		status, body, _ := b.get(t, tok, http.MethodPut, "/users/"+user+"/fetch")
		require.Equal(t, http.StatusOK, status, string(body))
		var f struct{ TaskID string }
		require.NoError(t, json.Unmarshal(body, &f))
		require.NotEmpty(t, f.TaskID)

		var first taskResponse
		b.getJSON(t, tok, "/users/"+user+"/tasks/"+f.TaskID, &first)
		require.Equal(t, 1, first.Version)
		require.Equal(t, EventTaskStarted, first.Events[0].Type)

		// The poll is held until the task progresses, then returns only the
		// newer events (the hold itself is timed in TestLongPollHoldExpires).
		var next taskResponse
		b.getJSON(t, tok, fmt.Sprintf("/users/%s/tasks/%s?sinceVersion=%d", user, f.TaskID, first.Version), &next)
		require.Equal(t, 4, next.Version)
		types := []string{}
		for _, e := range next.Events {
			types = append(types, e.Type)
		}
		require.Equal(t, []string{EventEnrichmentAccountBalances, EventEnrichmentAllAccountBalancesUpdated, EventTaskEnded}, types)
		require.Len(t, next.Events[0].Accounts, len(accounts.Accounts))

		status, _, _ = b.get(t, tok, http.MethodGet, fmt.Sprintf("/users/%s/tasks/%s?sinceVersion=9", user, f.TaskID))
		require.Equal(t, http.StatusBadRequest, status)
		status, _, _ = b.get(t, tok, http.MethodGet, "/users/"+user+"/tasks/nope")
		require.Equal(t, http.StatusNotFound, status)
	})
}

func TestLongPollHoldExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) {
		o.LongPollHold = 200 * time.Millisecond
		o.Faults.TaskDelay = Duration(time.Minute)
	})
	tok := b.authorize(t, 2)
	user := b.srv.Bank().UserID(2)
	_, body, _ := b.get(t, tok, http.MethodPut, "/users/"+user+"/fetch")
	var f struct{ TaskID string }
	require.NoError(t, json.Unmarshal(body, &f))
	start := time.Now()
	var resp taskResponse
	b.getJSON(t, tok, "/users/"+user+"/tasks/"+f.TaskID+"?sinceVersion=1", &resp)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	require.Equal(t, 1, resp.Version)
	require.Empty(t, resp.Events)
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	user1 := b.srv.Bank().UserID(1)
	user2 := b.srv.Bank().UserID(2)

	t.Run("NoOrBadToken", func(t *testing.T) {
		status, _, h := b.get(t, nil, http.MethodGet, "/users/"+user1+"/accounts")
		require.Equal(t, http.StatusUnauthorized, status)
		require.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
		status, _, _ = b.get(t, &oauth2.Token{AccessToken: "forged"}, http.MethodGet, "/users/"+user1+"/accounts")
		require.Equal(t, http.StatusUnauthorized, status)
	})

	t.Run("AnotherUsersData", func(t *testing.T) {
		tok := b.authorize(t, 1)
		status, _, _ := b.get(t, tok, http.MethodGet, "/users/"+user2+"/accounts")
		require.Equal(t, http.StatusForbidden, status)
	})

	t.Run("PartialConsent", func(t *testing.T) {
		tok := b.authorize(t, 1, authserver.ScopeOpenID, authserver.ScopeOfflineAccess, authserver.ScopeAccounts)
		require.Equal(t, authserver.ScopeOpenID+" "+authserver.ScopeOfflineAccess+" "+authserver.ScopeAccounts, tok.Extra("scope"))
		var accounts wireAccounts
		b.getJSON(t, tok, "/users/"+user1+"/accounts", &accounts)
		status, body, _ := b.get(t, tok, http.MethodGet, "/users/"+user1+"/accounts/"+accounts.Accounts[0].ID+"/transactions")
		require.Equal(t, http.StatusForbidden, status)
		require.Contains(t, string(body), "transactions.detail.readonly")
		status, _, _ = b.get(t, tok, http.MethodGet, "/users/"+user1)
		require.Equal(t, http.StatusForbidden, status)
		status, _, _ = b.get(t, tok, http.MethodPut, "/users/"+user1+"/fetch")
		require.Equal(t, http.StatusOK, status, "openid is enough to fetch")
	})

	t.Run("RotationAndReuseDetection", func(t *testing.T) {
		tok := b.authorize(t, 3)
		src := b.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken})
		rotated, err := src.Token()
		require.NoError(t, err)
		require.NotEqual(t, tok.RefreshToken, rotated.RefreshToken)
		require.NotEqual(t, tok.AccessToken, rotated.AccessToken)

		// Replaying the retired refresh token revokes the whole family.
		_, err = b.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, "invalid_grant", re.ErrorCode)
		_, err = b.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rotated.RefreshToken}).Token()
		require.ErrorAs(t, err, &re)
		require.Equal(t, "invalid_grant", re.ErrorCode)
		status, _, _ := b.get(t, rotated, http.MethodGet, "/users/"+b.srv.Bank().UserID(3)+"/accounts")
		require.Equal(t, http.StatusUnauthorized, status)
	})

	t.Run("DisconnectRevokesEverything", func(t *testing.T) {
		tok := b.authorize(t, 4)
		user := b.srv.Bank().UserID(4)
		var out map[string]int
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/users/"+user+"/disconnect", nil, &out))
		require.Equal(t, 1, out["grantsRevoked"])
		_, err := b.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, "invalid_grant", re.ErrorCode)
		status, _, _ := b.get(t, tok, http.MethodGet, "/users/"+user+"/accounts")
		require.Equal(t, http.StatusUnauthorized, status)
	})
}

func TestDeterministicBytes(t *testing.T) {
	t.Parallel()
	a, b := setup(t), setup(t)
	ta, tb := a.authorize(t, 2), b.authorize(t, 2)
	user := a.srv.Bank().UserID(2)
	require.Equal(t, user, b.srv.Bank().UserID(2))

	_, accA, _ := a.get(t, ta, http.MethodGet, "/users/"+user+"/accounts")
	_, accB, _ := b.get(t, tb, http.MethodGet, "/users/"+user+"/accounts")
	require.Equal(t, string(accA), string(accB))

	var accounts wireAccounts
	require.NoError(t, json.Unmarshal(accA, &accounts))
	for _, acc := range accounts.Accounts {
		path := "/users/" + user + "/accounts/" + acc.ID + "/transactions?offset=0&limit=500"
		_, pa, _ := a.get(t, ta, http.MethodGet, path)
		_, pb, _ := b.get(t, tb, http.MethodGet, path)
		require.Equal(t, string(pa), string(pb))
	}

	other := setup(t, func(o *Options) { o.Bank.Seed = 43 })
	require.NotEqual(t, user, other.srv.Bank().UserID(2))
}

func TestGoldenResponses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := b.authorize(t, 1)
	user := b.srv.Bank().UserID(1)

	_, accounts, _ := b.get(t, tok, http.MethodGet, "/users/"+user+"/accounts")
	golden(t, "accounts.golden.json", accounts)

	var parsed wireAccounts
	require.NoError(t, json.Unmarshal(accounts, &parsed))
	_, page, _ := b.get(t, tok, http.MethodGet, "/users/"+user+"/accounts/"+parsed.Accounts[0].ID+"/transactions?offset=0&limit=3")
	golden(t, "transactions_page.golden.json", page)

	_, profile, _ := b.get(t, tok, http.MethodGet, "/users/"+user)
	golden(t, "user.golden.json", profile)
}

func TestClockAndGroundTruth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := b.authorize(t, 1)
	user := b.srv.Bank().UserID(1)

	check := func(t *testing.T) {
		t.Helper()
		var truth struct {
			Clock                 time.Time
			InactivatedAccountIDs []string             `json:"inactivatedAccountIds"`
			Transactions          map[string][]wireTxn `json:"transactions"`
			RemovedTransactionIDs map[string][]string  `json:"removedTransactionIds"`
		}
		require.Equal(t, http.StatusOK, b.admin(t, http.MethodGet, "/users/"+user+"/truth", nil, &truth))
		require.Equal(t, b.srv.Clock().Now(), truth.Clock.UTC())

		var accounts wireAccounts
		b.getJSON(t, tok, "/users/"+user+"/accounts", &accounts)
		require.ElementsMatch(t, accounts.InactivatedAccountIDs, truth.InactivatedAccountIDs)
		for _, a := range accounts.Accounts {
			served, _ := b.walk(t, tok, user, a.ID, 500, "")
			require.Equal(t, truth.Transactions[a.ID], served, "account %s", a.ID)
			live := map[string]bool{}
			for _, x := range served {
				live[x.ID] = true
			}
			for _, removed := range truth.RemovedTransactionIDs[a.ID] {
				require.False(t, live[removed], "removed id %s is served", removed)
			}
		}
	}
	check(t)

	var moved clockBody
	require.Equal(t, http.StatusOK, b.admin(t, http.MethodPost, "/clock", map[string]string{"advance": "720h"}, &moved))
	require.Equal(t, b.srv.Clock().Now(), moved.Now.UTC())
	check(t)

	require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/clock", map[string]string{"advance": "-1h"}, nil))
	require.Equal(t, http.StatusBadRequest, b.admin(t, http.MethodPost, "/clock", map[string]string{"now": "2000-01-01T00:00:00Z"}, nil))
}

func TestAdvancingClockRevealsChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := b.authorize(t, 1)
	user := b.srv.Bank().UserID(1)

	snapshot := func() map[string]wireTxn {
		var accounts wireAccounts
		b.getJSON(t, tok, "/users/"+user+"/accounts", &accounts)
		out := map[string]wireTxn{}
		for _, a := range accounts.Accounts {
			txns, _ := b.walk(t, tok, user, a.ID, 500, "")
			for _, x := range txns {
				out[x.ID] = x
			}
		}
		return out
	}
	before := snapshot()
	_, err := b.srv.Clock().Advance(10 * 24 * time.Hour)
	require.NoError(t, err)
	after := snapshot()

	var added, posted, vanished int
	for id, x := range after {
		old, seen := before[id]
		switch {
		case !seen:
			added++
		case old.PendingStatus == "InstitutionPending" && x.PendingStatus == "Reconciled":
			posted++
			require.Greater(t, x.LastUpdated, old.LastUpdated)
		}
	}
	for id, old := range before {
		if _, ok := after[id]; !ok {
			vanished++
			require.Equal(t, "InstitutionPending", old.PendingStatus, "only pending transactions may vanish")
		}
	}
	require.Positive(t, added, "new transactions arrive")
	require.Positive(t, posted+vanished, "pending authorisations resolve")
}

func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var wg sync.WaitGroup
	for n := 1; n <= 5; n++ {
		wg.Go(func() {
			tok := b.authorize(t, n)
			var accounts wireAccounts
			b.getJSON(t, tok, "/users/"+b.srv.Bank().UserID(n)+"/accounts", &accounts)
			require.NotEmpty(t, accounts.Accounts)
		})
	}
	wg.Wait()
	st := b.srv.Stats()
	require.Equal(t, int64(5), st.Requests["GET /users/{userId}/accounts"])
	ids := []string{}
	for id := range st.Clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	require.Equal(t, []string{testClientID}, ids)
}
