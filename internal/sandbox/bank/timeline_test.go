package bank

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// invariantConfig is small enough to check exhaustively and long enough to
// cover pending resolutions, modifications and closures.
var invariantConfig = Config{Start: FixedStart, Seed: 7, Users: 300, HistoryDays: 90, FutureDays: 120, Density: 0.5}

// invariantBank is shared by the read-only invariant tests, so that its users
// are generated once.
var invariantBank = sync.OnceValue(func() *Bank {
	b, err := New(invariantConfig)
	if err != nil {
		panic(err)
	}
	return b
})

// invariantNows are the instants at which the invariants are checked, in
// increasing order.
func invariantNows(b *Bank) []time.Time {
	s := b.Config().Start
	return []time.Time{
		s.Add(-days(45)),
		s,
		s.Add(days(1.5) + 17*time.Millisecond),
		s.Add(days(4)),
		s.Add(days(20)),
		s.Add(days(64.25)),
		s.Add(days(130)), // past the generated timeline
	}
}

// invariantUsers are the users checked: a spread, plus every user whose
// accounts close or open inside the timeline.
func invariantUsers(b *Bank) []int {
	var ns []int
	special := 0
	for n := 1; n <= b.UserCount(); n++ {
		u := b.user(n)
		pick := false
		for _, a := range u.accounts {
			pick = pick || a.closed != 0 || a.opened != u.accounts[0].opened
		}
		if pick && special < 12 {
			special++
			ns = append(ns, n)
		} else if n%60 == 1 {
			ns = append(ns, n)
		}
	}
	return ns
}

func TestTimelineInvariants(t *testing.T) {
	t.Parallel()
	b := invariantBank()
	nows := invariantNows(b)
	users := invariantUsers(b)
	require.Greater(t, len(users), 12)
	for _, n := range users {
		var prev *Truth
		var prevNow time.Time
		for _, now := range nows {
			tr := truthAt(t, b, n, now)
			checkTruth(t, b, n, now, tr)
			checkQueries(t, b, n, now, tr)
			if prev != nil {
				checkProgress(t, b, n, prevNow, now, *prev, tr)
			}
			prev, prevNow = &tr, now
		}
	}
}

// checkTruth checks the state of one user at one instant.
func checkTruth(t *testing.T, b *Bank, n int, now time.Time, tr Truth) {
	u := b.user(n)
	ms := now.UnixMilli()
	active := map[string]Account{}
	for _, a := range tr.Accounts {
		active[a.ID] = a
	}
	inactive := map[string]bool{}
	for _, id := range tr.InactivatedAccountIDs {
		inactive[id] = true
	}
	require.True(t, slices.IsSorted(tr.InactivatedAccountIDs))
	live := map[string]bool{}
	removed := map[string]bool{}
	for _, a := range u.accounts {
		txns, visible := tr.Transactions[a.id]
		require.Equal(t, a.opened <= ms, visible, "visibility of account %s", a.id)
		require.Equal(t, a.opened <= ms && (a.closed == 0 || ms < a.closed), active[a.id].ID != "", "active account %s", a.id)
		require.Equal(t, a.closed != 0 && a.closed <= ms, inactive[a.id], "inactivated account %s", a.id)
		if !visible {
			continue
		}
		_, found := b.Account(u.id, a.id, now)
		require.Equal(t, active[a.id].ID != "", found)

		bal := a.opening
		var holds Money
		var last entryKey
		for i, x := range txns {
			key := entryKey{x.DatePosted.UnixMilli(), x.Sequence}
			check(t, i == 0 || last.less(key), "order at %d of %s: %v then %v", i, a.id, last, key)
			last = key
			check(t, x.Sequence >= 1, "sequence %d", x.Sequence)
			check(t, !x.DatePosted.After(now) && !x.LastUpdated.After(now), "future transaction %+v at %s", x, now)
			check(t, !x.LastUpdated.Before(x.DatePosted.Time), "lastUpdated before datePosted: %+v", x)
			check(t, a.closed == 0 || x.DatePosted.UnixMilli() < a.closed, "transaction after closure: %+v", x)
			check(t, !live[x.ID], "duplicate id %s", x.ID)
			live[x.ID] = true
			if x.PendingStatus == StatusInstitutionPending {
				check(t, x.RunningBalance == nil, "pending with running balance")
				holds += x.Amount
				continue
			}
			bal += x.Amount
			check(t, x.RunningBalance != nil && *x.RunningBalance == bal, "running balance of %s: %v want %v", x.ID, x.RunningBalance, bal)
		}
		require.True(t, slices.IsSorted(tr.RemovedTransactionIDs[a.id]))
		for _, id := range tr.RemovedTransactionIDs[a.id] {
			check(t, !live[id], "id %s both live and removed", id)
			removed[id] = true
		}
		acct, isActive := active[a.id]
		if !isActive {
			continue
		}
		require.Equal(t, bal, acct.Balance, "balance of %s", a.id)
		require.Equal(t, instantFromMillis(ms), acct.FetchedDate)
		switch a.kind {
		case akChecking, akSavings:
			require.Equal(t, bal+min(holds, 0), *acct.AvailableBalance)
		case akCard:
			require.Equal(t, a.creditLimit-bal-max(holds, 0), *acct.AvailableCredit)
			require.Equal(t, *acct.AvailableCredit, *acct.AvailableBalance)
			require.GreaterOrEqual(t, bal, Money(-Dollar), "card owes a negative balance")
		case akAutoLoan, akMortgage:
			require.Positive(t, bal, "loan balance")
		}
	}
	for id := range removed {
		require.False(t, live[id])
	}
}

type entryKey struct {
	posted int64
	seq    int
}

func (k entryKey) less(o entryKey) bool {
	return k.posted < o.posted || k.posted == o.posted && k.seq < o.seq
}

// checkQueries checks pagination and filters against the unfiltered list.
func checkQueries(t *testing.T, b *Bank, n int, now time.Time, tr Truth) {
	u := b.user(n)
	for _, a := range u.accounts {
		all, ok := tr.Transactions[a.id]
		if !ok {
			_, err := b.Transactions(u.id, a.id, now, Query{})
			require.ErrorIs(t, err, ErrUnknownAccount)
			continue
		}
		full, err := b.Transactions(u.id, a.id, now, Query{})
		require.NoError(t, err)
		requireSameTxns(t, all, full.Transactions, "unfiltered")
		require.Equal(t, tr.RemovedTransactionIDs[a.id], full.InactivatedTransactionIDs)
		require.Equal(t, len(all), full.Limit)
		require.Equal(t, a.kind.accountType(), full.AccountType)
		require.Equal(t, a.kind.subType(), full.AccountSubType)

		// Pagination walk.
		walked := []Transaction{}
		for off := 0; ; off += 97 {
			p, err := b.Transactions(u.id, a.id, now, Query{Offset: off, Limit: 97, Paginate: true})
			require.NoError(t, err)
			require.Equal(t, off, p.Offset)
			require.Equal(t, 97, p.Limit)
			require.Equal(t, full.InactivatedTransactionIDs, p.InactivatedTransactionIDs)
			walked = append(walked, p.Transactions...)
			if len(p.Transactions) < 97 {
				break
			}
		}
		requireSameTxns(t, all, walked, "paginated walk")
		if len(all) == 0 {
			continue
		}

		// Since/until are inclusive on datePosted.
		since, until := all[len(all)/4].DatePosted.Time, all[len(all)*3/4].DatePosted.Time
		p, err := b.Transactions(u.id, a.id, now, Query{Since: &since, Until: &until})
		require.NoError(t, err)
		var want []Transaction
		for _, x := range all {
			if !x.DatePosted.Before(since) && !x.DatePosted.After(until) {
				want = append(want, x)
			}
		}
		requireSameTxns(t, want, p.Transactions, "since/until")
		require.Equal(t, since, p.Transactions[0].DatePosted.Time)
		require.Equal(t, until, p.Transactions[len(p.Transactions)-1].DatePosted.Time)
		require.Equal(t, full.InactivatedTransactionIDs, p.InactivatedTransactionIDs)

		// Since alone, paginated.
		p, err = b.Transactions(u.id, a.id, now, Query{Since: &since, Limit: 3, Paginate: true})
		require.NoError(t, err)
		requireSameTxns(t, want[:min(3, len(want))], p.Transactions, "since page")

		// updatedSince selects lastUpdated >= it, and removals at or after it.
		upd := all[len(all)/2].LastUpdated.Time
		p, err = b.Transactions(u.id, a.id, now, Query{UpdatedSince: &upd})
		require.NoError(t, err)
		want = want[:0]
		for _, x := range all {
			if !x.LastUpdated.Before(upd) {
				want = append(want, x)
			}
		}
		requireSameTxns(t, want, p.Transactions, "updatedSince")
		var wantRemoved []string
		v := b.viewAt(u, a, now.UnixMilli())
		for i, id := range v.removedIDs {
			if v.removedAt[i] >= upd.UnixMilli() {
				wantRemoved = append(wantRemoved, id)
			}
		}
		require.ElementsMatch(t, wantRemoved, p.InactivatedTransactionIDs)
		require.True(t, slices.IsSorted(p.InactivatedTransactionIDs))

		// updatedSince with until and pagination.
		p2, err := b.Transactions(u.id, a.id, now, Query{UpdatedSince: &upd, Until: &now, Offset: 1, Limit: 2, Paginate: true})
		require.NoError(t, err)
		requireSameTxns(t, want[min(1, len(want)):min(3, len(want))], p2.Transactions, "updatedSince page")

		// Nothing updated after now.
		after := now.Add(time.Millisecond)
		p, err = b.Transactions(u.id, a.id, now, Query{UpdatedSince: &after})
		require.NoError(t, err)
		require.Empty(t, p.Transactions)
		require.Empty(t, p.InactivatedTransactionIDs)
	}
}

// checkProgress checks what changed between two instants.
func checkProgress(t *testing.T, b *Bank, n int, t1, t2 time.Time, a, z Truth) {
	u := b.user(n)
	for _, acct := range u.accounts {
		before, ok := a.Transactions[acct.id]
		if !ok {
			continue
		}
		after := z.Transactions[acct.id]
		afterByID := map[string]Transaction{}
		for _, x := range after {
			afterByID[x.ID] = x
		}
		removedAfter := map[string]bool{}
		for _, id := range z.RemovedTransactionIDs[acct.id] {
			removedAfter[id] = true
		}
		for _, id := range a.RemovedTransactionIDs[acct.id] {
			check(t, removedAfter[id], "removed id %s came back or was forgotten", id)
		}
		beforeByID := map[string]Transaction{}
		for _, x := range before {
			beforeByID[x.ID] = x
			y, still := afterByID[x.ID]
			check(t, still || removedAfter[x.ID], "id %s vanished without inactivation", x.ID)
			if !still {
				continue
			}
			if y.LastUpdated.Equal(x.LastUpdated.Time) {
				check(t, sameTxn(&x, &y), "changed without lastUpdated moving:\n%+v\n%+v", x, y)
			} else {
				check(t, y.LastUpdated.After(t1), "lastUpdated moved into the past: %+v", y)
			}
		}
		// Everything new or changed is found by updatedSince = t1 + 1ms, and
		// every new removal is listed too: an incremental sync is exact.
		since := t1.Add(time.Millisecond)
		p, err := b.Transactions(u.id, acct.id, t2, Query{UpdatedSince: &since})
		require.NoError(t, err)
		got := map[string]bool{}
		for _, x := range p.Transactions {
			got[x.ID] = true
		}
		for _, y := range after {
			x, existed := beforeByID[y.ID]
			if !existed || !sameTxn(&x, &y) {
				check(t, got[y.ID], "new or changed %s missed by updatedSince", y.ID)
			}
		}
		inc := map[string]bool{}
		for _, id := range p.InactivatedTransactionIDs {
			inc[id] = true
		}
		wasRemoved := map[string]bool{}
		for _, id := range a.RemovedTransactionIDs[acct.id] {
			wasRemoved[id] = true
		}
		for _, id := range z.RemovedTransactionIDs[acct.id] {
			check(t, wasRemoved[id] || inc[id], "new removal %s missed by updatedSince", id)
		}
	}
}

func TestPendingLifecycle(t *testing.T) {
	t.Parallel()
	b := invariantBank()
	s := b.Config().Start
	count, total := map[uint8]int{}, map[uint8]int{}
	for n := 1; n <= 60; n++ {
		u := b.user(n)
		for _, a := range u.accounts {
			for i := range a.records {
				r := &a.records[i]
				if r.resolves == 0 {
					continue
				}
				total[r.outcome]++
				if r.appears < s.UnixMilli() || count[r.outcome] >= 30 {
					continue
				}
				count[r.outcome]++
				pendingAt := time.UnixMilli(r.appears + (r.resolves-r.appears)/2).UTC()
				postedAt := time.UnixMilli(r.resolves).UTC()
				justBefore := postedAt.Add(-time.Millisecond)
				id0 := formatUUID(b.txnUUID(u, a, i, false))
				id1 := formatUUID(b.txnUUID(u, a, i, true))
				require.NotEqual(t, id0, id1)

				for _, at := range []time.Time{pendingAt, justBefore} {
					x, removed := findTxn(t, b, u.id, a.id, at, time.UnixMilli(r.appears), id0)
					require.False(t, removed)
					require.NotNil(t, x, "pending %s not visible", id0)
					require.Equal(t, StatusInstitutionPending, x.PendingStatus)
					require.Equal(t, r.pending, x.Amount)
					require.Equal(t, r.appears, x.DatePosted.UnixMilli())
					require.Nil(t, x.RunningBalance)
				}
				x0, removed0 := findTxn(t, b, u.id, a.id, postedAt, postedAt, id0)
				x1, removed1 := findTxn(t, b, u.id, a.id, postedAt, postedAt, id1)
				require.False(t, removed1)
				switch r.outcome {
				case outPost:
					require.False(t, removed0)
					require.NotNil(t, x0)
					require.Nil(t, x1)
					require.Equal(t, StatusReconciled, x0.PendingStatus)
					require.Equal(t, r.amount, x0.Amount)
					require.Equal(t, postedAt, x0.DatePosted.Time)
					require.Equal(t, postedAt, x0.LastUpdated.Time)
					require.NotNil(t, x0.RunningBalance)
				case outReplace:
					require.True(t, removed0)
					require.Nil(t, x0)
					require.NotNil(t, x1)
					require.Equal(t, StatusReconciled, x1.PendingStatus)
					require.Equal(t, r.amount, x1.Amount)
					require.Equal(t, postedAt, x1.DatePosted.Time)
				case outDrop:
					require.True(t, removed0)
					require.Nil(t, x0)
					require.Nil(t, x1)
				}
			}
		}
	}
	for _, o := range []uint8{outPost, outReplace, outDrop} {
		require.Positive(t, count[o], "outcome %d never seen", o)
	}
	// Roughly 60/30/10.
	all := total[outPost] + total[outReplace] + total[outDrop]
	require.InDelta(t, 0.6, float64(total[outPost])/float64(all), 0.05)
	require.InDelta(t, 0.3, float64(total[outReplace])/float64(all), 0.05)
	require.InDelta(t, 0.1, float64(total[outDrop])/float64(all), 0.05)
}

// findTxn looks id up in the account at now among the transactions posted at
// posted: the transaction if live, and whether it is listed as inactivated.
func findTxn(t *testing.T, b *Bank, userID, accountID string, now, posted time.Time, id string) (*Transaction, bool) {
	t.Helper()
	p, err := b.Transactions(userID, accountID, now, Query{Since: &posted, Until: &posted})
	require.NoError(t, err)
	var found *Transaction
	for i := range p.Transactions {
		if p.Transactions[i].ID == id {
			found = &p.Transactions[i]
		}
	}
	_, removed := slices.BinarySearch(p.InactivatedTransactionIDs, id)
	return found, removed
}

func TestModificationsMoveLastUpdated(t *testing.T) {
	t.Parallel()
	b := invariantBank()
	s := b.Config().Start.UnixMilli()
	seen := 0
	for n := 1; n <= 40 && seen < 40; n++ {
		u := b.user(n)
		for _, a := range u.accounts {
			for i := range a.records {
				r := &a.records[i]
				if r.mod == modNone || r.postedAt() < s || seen >= 40 {
					continue
				}
				seen++
				id := formatUUID(b.txnUUID(u, a, i, r.outcome == outReplace))
				posted := time.UnixMilli(r.postedAt())
				before, _ := findTxn(t, b, u.id, a.id, time.UnixMilli(r.modified-1), posted, id)
				after, _ := findTxn(t, b, u.id, a.id, time.UnixMilli(r.modified), posted, id)
				require.NotNil(t, before)
				require.NotNil(t, after)
				require.Less(t, before.LastUpdated.UnixMilli(), r.modified)
				require.Equal(t, r.modified, after.LastUpdated.UnixMilli())
				require.NotEqual(t, *before, *after)
				before.LastUpdated = after.LastUpdated
				require.NotEqual(t, mustJSON(t, before), mustJSON(t, after), "modification %d changed nothing but lastUpdated", r.mod)
			}
		}
	}
	require.Equal(t, 40, seen)
}

func TestAccountClosureAndOpening(t *testing.T) {
	t.Parallel()
	b := invariantBank()
	closed, opened := 0, 0
	for n := 1; n <= b.UserCount(); n++ {
		u := b.user(n)
		for _, a := range u.accounts {
			if a.closed != 0 {
				closed++
				before, at := time.UnixMilli(a.closed-1), time.UnixMilli(a.closed)
				_, ok := b.Account(u.id, a.id, before)
				require.True(t, ok)
				_, ok = b.Account(u.id, a.id, at)
				require.False(t, ok)
				accts, inactive, ok := b.Accounts(u.id, at)
				require.True(t, ok)
				require.Contains(t, inactive, a.id)
				for _, x := range accts {
					require.NotEqual(t, a.id, x.ID)
				}
				// History stays readable and ends before the closure.
				p, err := b.Transactions(u.id, a.id, at.Add(days(30)), Query{})
				require.NoError(t, err)
				for _, x := range p.Transactions {
					require.Less(t, x.DatePosted.UnixMilli(), a.closed)
					require.NotEqual(t, StatusInstitutionPending, x.PendingStatus)
				}
				// A closed deposit account or card was emptied first.
				require.InDelta(t, 0, float64(b.viewAt(u, a, a.closed).balance), float64(Dollar), "balance at closure of %s %s", a.kind.subType(), a.id)
			}
			if a.opened != u.accounts[0].opened {
				opened++
				_, err := b.Transactions(u.id, a.id, time.UnixMilli(a.opened-1), Query{})
				require.ErrorIs(t, err, ErrUnknownAccount)
				accts, _, _ := b.Accounts(u.id, time.UnixMilli(a.opened-1))
				for _, x := range accts {
					require.NotEqual(t, a.id, x.ID)
				}
				_, ok := b.Account(u.id, a.id, time.UnixMilli(a.opened))
				require.True(t, ok)
			}
		}
	}
	require.Positive(t, closed)
	require.Positive(t, opened)
}

func TestOwnTransfersPair(t *testing.T) {
	t.Parallel()
	b := invariantBank()
	now := b.Config().Start
	pairs := 0
	for n := 1; n <= 30; n++ {
		u := b.user(n)
		tr := truthAt(t, b, n, now)
		byNumber := map[string]*account{}
		for _, a := range u.accounts {
			byNumber[a.masked()] = a
		}
		for _, a := range u.accounts {
			for _, x := range tr.Transactions[a.id] {
				if x.Type != TxTransfer && x.Type != TxOnline {
					continue
				}
				i := strings.LastIndex(x.Memo, " *")
				if i < 0 {
					continue
				}
				other := byNumber[x.Memo[i+1:]]
				require.NotNil(t, other, "memo %q names no own account", x.Memo)
				want := -x.Amount
				if a.kind.inverted() != other.kind.inverted() {
					want = x.Amount
				}
				found := false
				for _, y := range tr.Transactions[other.id] {
					if y.DatePosted.Equal(x.DatePosted.Time) && y.Amount == want && strings.HasSuffix(y.Memo, a.masked()) {
						found = true
						break
					}
				}
				require.True(t, found, "no counterpart of %q %s on %s", x.Memo, x.Amount, other.kind.subType())
				pairs++
			}
		}
	}
	require.Greater(t, pairs, 100)
}

func TestSignConventions(t *testing.T) {
	t.Parallel()
	b := invariantBank()
	now := b.Config().Start
	for n := 1; n <= 40; n++ {
		u := b.user(n)
		tr := truthAt(t, b, n, now)
		for _, a := range u.accounts {
			for _, x := range tr.Transactions[a.id] {
				switch {
				case x.Type == TxPOS || x.Type == TxInterest && a.kind.inverted() || x.Type == TxFee:
					if a.kind.inverted() {
						require.Positive(t, x.Amount, "%s on %s", x.Memo, a.kind.subType())
					} else if x.Type != TxInterest {
						require.Negative(t, x.Amount, "%s on %s", x.Memo, a.kind.subType())
					}
				case strings.HasPrefix(x.Memo, "PAYMENT"):
					require.Negative(t, x.Amount, "%s on %s", x.Memo, a.kind.subType())
				case x.Type == TxInterest || strings.HasPrefix(x.Memo, "ACH DEPOSIT"):
					require.Positive(t, x.Amount, x.Memo)
				case x.Type == TxATM || x.Type == TxCheck:
					require.Negative(t, x.Amount, x.Memo)
				}
			}
		}
	}
}

func TestTransactionsErrors(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 1, Users: 3, HistoryDays: 30, FutureDays: 10})
	now := b.Config().Start
	u1, u2 := b.UserID(1), b.UserID(2)
	accts, _, ok := b.Accounts(u1, now)
	require.True(t, ok)
	acct := accts[0].ID
	since, until := now.Add(-days(3)), now.Add(-days(5))
	for name, q := range map[string]Query{
		"since with updatedSince": {Since: &since, UpdatedSince: &since},
		"limit 501":               {Limit: 501, Paginate: true},
		"negative offset":         {Offset: -1, Paginate: true},
		"negative limit":          {Limit: -5, Paginate: true},
		"since after until":       {Since: &since, Until: &until},
	} {
		_, err := b.Transactions(u1, acct, now, q)
		require.ErrorIs(t, err, ErrInvalidQuery, name)
		require.NotEqual(t, ErrInvalidQuery.Error(), err.Error(), "error should say why")
	}
	_, err := b.Transactions(u1, acct, now, Query{Limit: 500, Paginate: true})
	require.NoError(t, err)
	p, err := b.Transactions(u1, acct, now, Query{Offset: 1_000_000, Paginate: true})
	require.NoError(t, err)
	require.Empty(t, p.Transactions)
	require.Equal(t, DefaultLimit, p.Limit)

	for name, c := range map[string][2]string{
		"other user's account": {u2, acct},
		"unknown account":      {u1, "00000000-0000-4000-8000-000000000000"},
		"garbage account":      {u1, "not-an-id"},
		"unknown user":         {"00000000-0000-4000-8000-000000000000", acct},
	} {
		_, err := b.Transactions(c[0], c[1], now, Query{})
		require.ErrorIs(t, err, ErrUnknownAccount, name)
		require.False(t, errors.Is(err, ErrInvalidQuery))
	}
	_, ok = b.Account(u2, acct, now)
	require.False(t, ok)
	_, _, ok = b.Accounts("nope", now)
	require.False(t, ok)
	_, ok = b.Truth("nope", now)
	require.False(t, ok)
	_, ok = b.Profile("nope")
	require.False(t, ok)
}

func TestViewCacheServesSpans(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 8, Users: 1, HistoryDays: 30, FutureDays: 30})
	u := b.user(1)
	a := u.accounts[0]
	start := b.Config().Start.UnixMilli()
	v := b.viewAt(u, a, start)
	require.LessOrEqual(t, v.from, start)
	require.Greater(t, v.until, start)
	// Any instant of the span is served by the same view, and equals a
	// freshly built one.
	for _, at := range []int64{v.from, start, v.until - 1} {
		require.Same(t, v, b.viewAt(u, a, at))
		fresh := b.buildView(u, a, at)
		require.Equal(t, v.entries, fresh.entries)
		require.Equal(t, v.removedIDs, fresh.removedIDs)
		require.Equal(t, v.balance, fresh.balance)
		require.Equal(t, v.holds, fresh.holds)
	}
	require.NotSame(t, v, b.viewAt(u, a, v.until))
	next := b.viewAt(u, a, v.until)
	require.Equal(t, v.until, next.from)
	// Walking the clock through many events keeps the cache bounded.
	for at := start; at < start+10*msDay; at += msHour {
		b.viewAt(u, a, at)
	}
	require.Len(t, a.cache.views, viewCacheSize)
}
