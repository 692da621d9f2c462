package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// behaviourFixture is a sandbox with one authorised user and that user's
// checking account.
type behaviourFixture struct {
	*testBundle
	tok     *oauth2.Token
	user    string
	account string
}

func newBehaviourFixture(t *testing.T) *behaviourFixture {
	t.Helper()
	b := setup(t)
	f := &behaviourFixture{testBundle: b, tok: b.authorize(t, 1), user: b.srv.Bank().UserID(1)}
	var accounts wireAccounts
	b.getJSON(t, f.tok, "/users/"+f.user+"/accounts", &accounts)
	f.account = accounts.Accounts[0].ID
	return f
}

func (f *behaviourFixture) path(query string) string {
	return "/users/" + f.user + "/accounts/" + f.account + "/transactions" + query
}

func (f *behaviourFixture) raw(t *testing.T, query string) []byte {
	t.Helper()
	status, body, _ := f.get(t, f.tok, http.MethodGet, f.path(query))
	require.Equal(t, http.StatusOK, status, string(body))
	return body
}

func (f *behaviourFixture) page(t *testing.T, query string) wirePage {
	t.Helper()
	var p wirePage
	require.NoError(t, json.Unmarshal(f.raw(t, query), &p))
	return p
}

// rawRows decodes the transactions of a page key by key.
func (f *behaviourFixture) rawRows(t *testing.T, query string) []map[string]json.RawMessage {
	t.Helper()
	var p struct {
		Transactions []map[string]json.RawMessage `json:"transactions"`
	}
	require.NoError(t, json.Unmarshal(f.raw(t, query), &p))
	return p.Transactions
}

func (f *behaviourFixture) set(t *testing.T, b Behaviour) {
	t.Helper()
	require.NoError(t, f.srv.SetBehaviour(b))
}

func (f *behaviourFixture) truth(t *testing.T) []byte {
	t.Helper()
	status, body := 0, []byte(nil)
	req, err := http.NewRequest(http.MethodGet, f.srv.URL()+AdminPrefix+"/users/"+f.user+"/truth", nil)
	require.NoError(t, err)
	resp, err := f.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	status = resp.StatusCode
	var v any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	body, err = json.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	return body
}

func ids(txns []wireTxn) []string {
	out := make([]string, len(txns))
	for i, x := range txns {
		out[i] = x.ID
	}
	return out
}

func q(v string) string { return url.QueryEscape(v) }

func TestBehaviourNeutralOptionServesDefaultBytes(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	all := f.page(t, "")
	require.NotEmpty(t, all.InactivatedTransactionIDs)
	mid := all.Transactions[len(all.Transactions)/2]
	queries := []string{
		"",
		"?offset=0&limit=25",
		"?offset=25&limit=25",
		"?since=" + q(mid.DatePosted) + "&limit=40&offset=3",
		"?updatedSince=" + q(mid.LastUpdated),
		"?updatedSince=" + q(mid.LastUpdated) + "&offset=5&limit=10",
		"?until=" + q(mid.DatePosted),
	}
	want := map[string][]byte{}
	for _, query := range queries {
		want[query] = f.raw(t, query)
	}
	// A cap at the documented maximum changes nothing but takes the
	// behaviour path: it must serve the very same bytes.
	f.set(t, Behaviour{MaxPageLimit: maxLimit})
	for _, query := range queries {
		require.Equal(t, string(want[query]), string(f.raw(t, query)), "query %q", query)
	}
	f.set(t, Behaviour{})
	require.True(t, f.srv.Behaviour().IsZero())
	require.Empty(t, f.srv.Behaviour().Active())
}

func TestIgnoredOffsetServesTheSamePage(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	second := f.page(t, "?offset=10&limit=10")
	f.set(t, Behaviour{IgnoreOffset: true})
	first := f.page(t, "?offset=0&limit=10")
	again := f.page(t, "?offset=10&limit=10")
	require.Len(t, again.Transactions, 10)
	require.Equal(t, ids(first.Transactions), ids(again.Transactions))
	require.NotEqual(t, ids(second.Transactions), ids(again.Transactions))
	require.Equal(t, 10, again.Offset, "the offset asked for is echoed")
}

func TestPageCapBelowTheDocumentedMaximum(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	f.set(t, Behaviour{MaxPageLimit: 30})
	p := f.page(t, "?offset=0&limit=500")
	require.Equal(t, 30, p.Limit)
	require.Len(t, p.Transactions, 30)
}

func TestUpdatedSinceComparisons(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	all := f.page(t, "")
	bound := all.Transactions[len(all.Transactions)/2].LastUpdated
	query := "?updatedSince=" + q(bound)
	inclusive := f.page(t, query)
	require.Contains(t, lastUpdatedOf(inclusive.Transactions), bound)

	f.set(t, Behaviour{UpdatedSince: UpdatedSinceExclusive})
	exclusive := f.page(t, query)
	require.NotContains(t, lastUpdatedOf(exclusive.Transactions), bound)
	var want []string
	for _, x := range inclusive.Transactions {
		if x.LastUpdated != bound {
			want = append(want, x.ID)
		}
	}
	require.Equal(t, want, ids(exclusive.Transactions))

	// Day precision: the bound's time of day is ignored.
	b, err := time.Parse(time.RFC3339Nano, bound)
	require.NoError(t, err)
	late := b.Truncate(24 * time.Hour).Add(23*time.Hour + 59*time.Minute)
	f.set(t, Behaviour{})
	midnight := f.page(t, "?updatedSince="+q(b.Truncate(24*time.Hour).Format(time.RFC3339)))
	strict := f.page(t, "?updatedSince="+q(late.Format(time.RFC3339)))
	f.set(t, Behaviour{UpdatedSince: UpdatedSinceDay})
	day := f.page(t, "?updatedSince="+q(late.Format(time.RFC3339)))
	require.Equal(t, ids(midnight.Transactions), ids(day.Transactions))
	require.Greater(t, len(day.Transactions), len(strict.Transactions))
}

func lastUpdatedOf(txns []wireTxn) []string {
	out := make([]string, len(txns))
	for i, x := range txns {
		out[i] = x.LastUpdated
	}
	return out
}

func TestInactivatedIDsPerPage(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	all := f.page(t, "")
	removed := all.InactivatedTransactionIDs
	require.NotEmpty(t, removed)
	since := "?updatedSince=" + q(all.Transactions[0].LastUpdated)

	// Today's behaviour: the same list on every page.
	require.Equal(t, removed, f.page(t, "?offset=0&limit=10").InactivatedTransactionIDs)
	require.Equal(t, removed, f.page(t, "?offset=10&limit=10").InactivatedTransactionIDs)

	f.set(t, Behaviour{InactivatedIDs: InactivatedFirstPage})
	require.Equal(t, removed, f.page(t, "?offset=0&limit=10").InactivatedTransactionIDs)
	require.Equal(t, removed, f.page(t, "?limit=10").InactivatedTransactionIDs)
	require.Empty(t, f.page(t, "?offset=10&limit=10").InactivatedTransactionIDs)

	f.set(t, Behaviour{InactivatedIDs: InactivatedUpdatedSinceOnly})
	require.Empty(t, f.page(t, "?offset=0&limit=10").InactivatedTransactionIDs)
	require.Equal(t, removed, f.page(t, since).InactivatedTransactionIDs)

	f.set(t, Behaviour{InactivatedIDs: InactivatedNever})
	require.Empty(t, f.page(t, "").InactivatedTransactionIDs)
	require.Empty(t, f.page(t, since).InactivatedTransactionIDs)
}

func TestSilentPendingRemoval(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	defaultTruth := f.truth(t)
	inact, err := f.srv.Bank().Inactivations(f.user, f.account, f.srv.Clock().Now())
	require.NoError(t, err)
	var dropped, replaced []string
	for _, in := range inact {
		if in.Replaced {
			replaced = append(replaced, in.ID)
		} else {
			dropped = append(dropped, in.ID)
		}
	}
	require.NotEmpty(t, dropped)
	require.NotEmpty(t, replaced)
	require.Equal(t, sorted(append(slices.Clone(dropped), replaced...)), (f.page(t, "").InactivatedTransactionIDs))

	f.set(t, Behaviour{SilentPendingRemoval: RemovalDropped})
	p := f.page(t, "")
	require.Equal(t, replaced, p.InactivatedTransactionIDs)
	for _, id := range dropped {
		require.NotContains(t, ids(p.Transactions), id, "a dropped pending is no longer returned")
	}
	f.set(t, Behaviour{SilentPendingRemoval: RemovalReplaced})
	require.Equal(t, dropped, f.page(t, "").InactivatedTransactionIDs)
	f.set(t, Behaviour{SilentPendingRemoval: RemovalAll})
	require.Empty(t, f.page(t, "").InactivatedTransactionIDs)

	// The truth still says the dropped pendings are gone.
	require.Equal(t, string(defaultTruth), string(f.truth(t)))
	var truth struct {
		Transactions map[string][]wireTxn `json:"transactions"`
		Removed      map[string][]string  `json:"removedTransactionIds"`
	}
	require.NoError(t, json.Unmarshal(f.truth(t), &truth))
	require.Subset(t, truth.Removed[f.account], dropped)
	for _, id := range dropped {
		require.NotContains(t, ids(truth.Transactions[f.account]), id)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestStaleLastUpdated(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	tr, ok := f.srv.Truth(f.user)
	require.True(t, ok)
	var modified bank.Transaction
	for _, x := range tr.Transactions[f.account] {
		if x.LastUpdated.After(x.DatePosted.Time) && x.PendingStatus != bank.StatusInstitutionPending {
			modified = x
			break
		}
	}
	require.NotEmpty(t, modified.ID, "a modified transaction exists")
	bound := "?updatedSince=" + q(modified.LastUpdated.String())
	require.Contains(t, ids(f.page(t, bound).Transactions), modified.ID)

	f.set(t, Behaviour{StaleLastUpdated: true})
	require.NotContains(t, ids(f.page(t, bound).Transactions), modified.ID, "the modification is invisible to updatedSince")
	for _, row := range f.rawRows(t, "") {
		require.Equal(t, string(row["datePosted"]), string(row["lastUpdated"]))
		var id string
		require.NoError(t, json.Unmarshal(row["id"], &id))
		if id == modified.ID {
			// Served with its new values.
			want, err := json.Marshal(modified.Enrichments)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(row["enrichments"]))
		}
	}
	tr2, _ := f.srv.Truth(f.user)
	require.Equal(t, tr, tr2, "the truth keeps the modification and its lastUpdated")
}

func TestUnstableOrderAcrossPages(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	all := f.page(t, "")
	since := "&since=" + q(all.Transactions[0].DatePosted)
	stable, _ := f.walk(t, f.tok, f.user, f.account, 20, since)
	require.Equal(t, ids(all.Transactions), ids(stable))

	f.set(t, Behaviour{UnstableOrder: true})
	first := f.raw(t, "?offset=0&limit=20"+since)
	require.Equal(t, string(first), string(f.raw(t, "?offset=0&limit=20"+since)), "deterministic for the same request")
	walked, _ := f.walk(t, f.tok, f.user, f.account, 20, since)
	require.Len(t, walked, len(all.Transactions))
	seen := map[string]int{}
	for _, x := range walked {
		seen[x.ID]++
	}
	require.Less(t, len(seen), len(all.Transactions), "rows are repeated and others skipped across pages")
	// Plain offset/limit paging keeps the documented order.
	plain, _ := f.walk(t, f.tok, f.user, f.account, 20, "")
	require.Equal(t, ids(all.Transactions), ids(plain))
}

func TestPendingDatePosted(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	for _, mode := range []string{DatePostedNull, DatePostedMissing} {
		f.set(t, Behaviour{PendingDatePosted: mode})
		pending := 0
		for _, row := range f.rawRows(t, "") {
			dp, has := row["datePosted"]
			if string(row["pendingStatus"]) != `"InstitutionPending"` {
				require.True(t, has)
				require.NotEqual(t, "null", string(dp))
				continue
			}
			pending++
			require.NotEqual(t, "null", string(row["date"]))
			if mode == DatePostedNull {
				require.Equal(t, "null", string(dp))
			} else {
				require.False(t, has)
			}
		}
		require.Positive(t, pending, mode)
	}
}

func TestMalformedRecord(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	check := func(m MalformedRecord, bad int) {
		t.Helper()
		f.set(t, Behaviour{MalformedRecord: &m})
		rows := f.rawRows(t, "?offset=0&limit=10")
		require.Len(t, rows, 10)
		for i, row := range rows {
			var amount string
			amountIsString := json.Unmarshal(row["amount"], &amount) == nil
			_, hasID := row["id"]
			if i != bad {
				require.True(t, hasID)
				_, err := bank.ParseMoney(amount)
				require.NoError(t, err, "row %d", i)
				continue
			}
			switch m.Kind {
			case MalformedAmount:
				require.True(t, amountIsString)
				_, err := bank.ParseMoney(amount)
				require.Error(t, err)
			case MalformedAmountNumber:
				require.False(t, amountIsString)
			case MalformedMissingID:
				require.False(t, hasID)
			}
		}
	}
	check(MalformedRecord{Kind: MalformedAmount, Position: 2}, 2)
	check(MalformedRecord{Kind: MalformedAmountNumber, Position: -1}, 9)
	check(MalformedRecord{Kind: MalformedMissingID, Position: 50}, 9)

	// At a rate, some pages are hit and the others are clean.
	f.set(t, Behaviour{MalformedRecord: &MalformedRecord{Kind: MalformedMissingID, Rate: 0.5}})
	hit := 0
	for offset := range 20 {
		if _, ok := f.rawRows(t, fmt.Sprintf("?offset=%d&limit=5", offset))[0]["id"]; !ok {
			hit++
		}
	}
	require.Positive(t, hit)
	require.Less(t, hit, 20)
}

func TestExternalAccounts(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	f.set(t, Behaviour{ExternalAccounts: true})
	type acct struct {
		ID          string           `json:"id"`
		Institution bank.Institution `json:"institution"`
	}
	list := func(tok *oauth2.Token, user string) []acct {
		var body struct {
			Accounts []acct `json:"accounts"`
		}
		f.getJSON(t, tok, "/users/"+user+"/accounts", &body)
		return body.Accounts
	}
	external := func(accounts []acct) acct {
		var out []acct
		for _, a := range accounts {
			if a.Institution.ID != f.srv.Bank().Institution().ID {
				out = append(out, a)
			}
		}
		require.Len(t, out, 1)
		return out[0]
	}
	tok2, tok3 := f.authorize(t, 2), f.authorize(t, 3)
	user2, user3 := f.srv.Bank().UserID(2), f.srv.Bank().UserID(3)
	e1, e2, e3 := external(list(f.tok, f.user)), external(list(tok2, user2)), external(list(tok3, user3))
	require.Equal(t, e1, e2, "users 1 and 2 share the external account")
	require.NotEqual(t, e1.ID, e3.ID)
	require.NotEqual(t, f.srv.Bank().Institution().Name, e1.Institution.Name)

	var p wirePage
	f.getJSON(t, f.tok, "/users/"+f.user+"/accounts/"+e1.ID+"/transactions?offset=0&limit=10", &p)
	require.Empty(t, p.Transactions)
	require.Equal(t, "Deposit", p.Account.AccountType)
	status, _, _ := f.get(t, tok3, http.MethodGet, "/users/"+user3+"/accounts/"+e1.ID+"/transactions")
	require.Equal(t, http.StatusNotFound, status)

	tr, _ := f.srv.Truth(f.user)
	require.Contains(t, tr.Transactions, e1.ID)
	require.Equal(t, e1.ID, tr.Accounts[len(tr.Accounts)-1].ID)
}

func TestCategoriesOutsideTheList(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	f.set(t, Behaviour{NotEnrichedDays: 60, UnlistedCategories: true})
	cutoff := f.srv.Bank().Config().Start.AddDate(0, 0, -60)
	var full struct {
		Transactions []bank.Transaction `json:"transactions"`
	}
	require.NoError(t, json.Unmarshal(f.raw(t, ""), &full))
	notEnriched, unlisted := 0, 0
	for _, x := range full.Transactions {
		if x.DatePosted.Before(cutoff) {
			notEnriched++
			require.Equal(t, NotEnriched, x.Enrichments.ExpenseCategory)
			require.Equal(t, x.Memo, x.DisplayName)
			require.Nil(t, x.Merchant)
			continue
		}
		require.NotEqual(t, NotEnriched, x.Enrichments.ExpenseCategory)
		for _, c := range unlistedCategories {
			if x.Enrichments.ExpenseCategory == c {
				unlisted++
			}
		}
	}
	require.Positive(t, notEnriched)
	require.Positive(t, unlisted)
	tr, _ := f.srv.Truth(f.user)
	want, err := json.Marshal(tr.Transactions[f.account])
	require.NoError(t, err)
	got, err := json.Marshal(full.Transactions)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "the truth holds what the bank serves")
}

func TestFeedProfilesLeaveTheTruthAlone(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	want := f.truth(t)
	for _, p := range Profiles() {
		require.NoError(t, p.Behaviour.Validate(), p.Name)
		if p.Behaviour.ExternalAccounts || p.Behaviour.NotEnrichedDays > 0 || p.Behaviour.UnlistedCategories {
			continue
		}
		f.set(t, p.Behaviour)
		require.Equal(t, string(want), string(f.truth(t)), "profile %s", p.Name)
		f.raw(t, "?offset=0&limit=50") // it serves
	}
}

func TestBehaviourAdminAPI(t *testing.T) {
	t.Parallel()
	f := newBehaviourFixture(t)
	var got behaviourBody
	require.Equal(t, http.StatusOK, f.admin(t, http.MethodGet, "/behaviour", nil, &got))
	require.Empty(t, got.Active)

	require.Equal(t, http.StatusOK, f.admin(t, http.MethodPut, "/behaviour",
		map[string]any{"profile": "lazy-inactivation", "maxPageLimit": 7}, &got))
	require.Equal(t, "lazy-inactivation", got.Profile)
	require.Equal(t, RemovalDropped, got.SilentPendingRemoval)
	require.Equal(t, InactivatedFirstPage, got.InactivatedIDs)
	require.Equal(t, 7, got.MaxPageLimit)
	var names []string
	for _, o := range got.Active {
		names = append(names, o.Name)
	}
	require.Equal(t, []string{"silentPendingRemoval", "inactivatedIds", "maxPageLimit"}, names)
	require.Equal(t, 7, f.page(t, "?limit=100").Limit, "applies at once")

	for _, bad := range []map[string]any{
		{"profile": "nope"},
		{"updatedSince": "sometimes"},
		{"maxPageLimit": 501},
		{"malformedRecord": map[string]any{"kind": "amount", "rate": 2}},
		{"surprise": true},
	} {
		require.Equal(t, http.StatusBadRequest, f.admin(t, http.MethodPut, "/behaviour", bad, nil), "%v", bad)
	}
	require.Equal(t, 7, f.srv.Behaviour().MaxPageLimit, "a rejected update changes nothing")

	var profiles struct {
		Profiles []NamedProfile `json:"profiles"`
	}
	require.Equal(t, http.StatusOK, f.admin(t, http.MethodGet, "/profiles", nil, &profiles))
	require.Equal(t, Profiles(), profiles.Profiles)
	require.Equal(t, http.StatusOK, f.admin(t, http.MethodPut, "/behaviour", map[string]any{}, &got))
	require.Empty(t, got.Active)
}

func TestProfilesAndParsing(t *testing.T) {
	t.Parallel()
	b, err := Profile("broken-offset")
	require.NoError(t, err)
	require.True(t, b.IgnoreOffset)
	require.Equal(t, "broken-offset", b.Profile)
	_, err = Profile("nope")
	require.ErrorContains(t, err, "lazy-inactivation")

	m, err := ParseMalformedRecord("kind=missing-id,rate=0.25,position=-1")
	require.NoError(t, err)
	require.Equal(t, MalformedRecord{Kind: MalformedMissingID, Rate: 0.25, Position: -1}, *m)
	for _, bad := range []string{"", "kind=odd", "kind=amount,rate=x", "kind=amount,size=3", "rate=0.1"} {
		_, err := ParseMalformedRecord(bad)
		require.Error(t, err, bad)
	}
	_, err = New(Options{BaseURL: "http://127.0.0.1:1", Bank: bank.Config{Users: 1}, Behaviour: Behaviour{InactivatedIDs: "sometimes"}})
	require.ErrorContains(t, err, "inactivatedIds")
}
