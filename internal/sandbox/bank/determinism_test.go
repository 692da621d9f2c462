package bank

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// snapshotJSON serialises everything the bank serves for user n at now.
func snapshotJSON(t testing.TB, b *Bank, n int, now time.Time) []byte {
	var buf bytes.Buffer
	prof, ok := b.Profile(b.UserID(n))
	require.True(t, ok)
	buf.Write(mustJSON(t, prof))
	tr := truthAt(t, b, n, now)
	buf.Write(mustJSON(t, tr))
	for _, a := range tr.Accounts {
		p, err := b.Transactions(tr.UserID, a.ID, now, Query{Offset: 3, Limit: 50, Paginate: true})
		require.NoError(t, err)
		buf.Write(mustJSON(t, p))
	}
	return buf.Bytes()
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	cfg := Config{Start: FixedStart, Seed: 99, Users: 50, HistoryDays: 60, FutureDays: 40, Density: 0.5}
	b1, b2 := newTestBank(t, cfg), newTestBank(t, cfg)
	s := b1.Config().Start
	nows := []time.Time{s.Add(-days(20)), s.Add(days(2.5)), s.Add(days(33))}
	users := []int{1, 23, 50}

	// b2 generates its users concurrently and in another order.
	var wg sync.WaitGroup
	for i := len(users) - 1; i >= 0; i-- {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			b2.Truth(b2.UserID(n), nows[len(nows)-1])
		}(users[i])
	}
	wg.Wait()

	for _, n := range users {
		require.Equal(t, b1.UserID(n), b2.UserID(n))
		for _, now := range nows {
			j1 := snapshotJSON(t, b1, n, now)
			require.Equal(t, string(j1), string(snapshotJSON(t, b2, n, now)), "user %d at %s", n, now)
			require.Equal(t, string(j1), string(snapshotJSON(t, b1, n, now)), "repeat call, user %d at %s", n, now)
		}
	}

	other := newTestBank(t, Config{Start: FixedStart, Seed: 100, Users: 50, HistoryDays: 60, FutureDays: 40, Density: 0.5})
	require.NotEqual(t, b1.UserID(1), other.UserID(1))
	require.NotEqual(t, b1.Config().InstitutionID, other.Config().InstitutionID)
	require.NotEqual(t, string(snapshotJSON(t, b1, 1, s)), string(snapshotJSON(t, other, 1, s)))
}

func TestSubMillisecondNowIsTruncated(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 4, Users: 2, HistoryDays: 30, FutureDays: 10})
	s := b.Config().Start.Add(days(1.234))
	require.Equal(t, string(snapshotJSON(t, b, 1, s)), string(snapshotJSON(t, b, 1, s.Add(999*time.Microsecond))))
}

// lightSnapshot serialises the accounts and one page of each account.
func lightSnapshot(t testing.TB, b *Bank, n int, now time.Time) []byte {
	var buf bytes.Buffer
	accts, inactive, ok := b.Accounts(b.UserID(n), now)
	require.True(t, ok)
	buf.Write(mustJSON(t, accts))
	buf.Write(mustJSON(t, inactive))
	for _, a := range accts {
		p, err := b.Transactions(b.UserID(n), a.ID, now, Query{Offset: 10, Limit: 40, Paginate: true})
		require.NoError(t, err)
		buf.Write(mustJSON(t, p))
	}
	return buf.Bytes()
}

func TestConcurrentAccess(t *testing.T) {
	t.Parallel()
	cfg := Config{Start: FixedStart, Seed: 11, Users: 6, HistoryDays: 30, FutureDays: 10, Density: 0.5}
	b, ref := newTestBank(t, cfg), newTestBank(t, cfg)
	s := b.Config().Start
	nows := []time.Time{s, s.Add(days(1)), s.Add(days(2)), s.Add(days(3)), s.Add(days(4)), s.Add(days(5))}
	want := map[[2]int][]byte{}
	for n := 1; n <= cfg.Users; n++ {
		for i, now := range nows {
			want[[2]int{n, i}] = lightSnapshot(t, ref, n, now)
		}
	}
	var wg sync.WaitGroup
	mismatches := make(chan [2]int, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 8; k++ {
				n := 1 + (g+k)%cfg.Users
				i := (g*7 + k) % len(nows)
				if got := lightSnapshot(t, b, n, nows[i]); !bytes.Equal(got, want[[2]int{n, i}]) {
					mismatches <- [2]int{n, i}
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(mismatches)
	require.Empty(t, mismatches)
}

func TestUserIdentity(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: -5, Users: 1000})
	seen := map[string]bool{}
	for n := 1; n <= 1000; n++ {
		id := b.UserID(n)
		require.Regexp(t, reUUID, id)
		require.False(t, seen[id])
		seen[id] = true
		got, ok := b.UserNumber(id)
		require.True(t, ok)
		require.Equal(t, n, got)
		got, ok = b.UserNumberByUsername(b.Username(n))
		require.True(t, ok)
		require.Equal(t, n, got)
	}
	require.Empty(t, b.UserID(0))
	require.Empty(t, b.UserID(1001))
	for _, bad := range []string{"", "x", b.UserID(1)[:35], "00000000-0000-4000-8000-000000000000"} {
		_, ok := b.UserNumber(bad)
		require.False(t, ok, bad)
	}
	// Another bank's ids are not ours.
	other := newTestBank(t, Config{Start: FixedStart, Seed: 6, Users: 1000})
	_, ok := b.UserNumber(other.UserID(5))
	require.False(t, ok)
	// A user outside the range, with a well-formed id, is rejected.
	big := newTestBank(t, Config{Start: FixedStart, Seed: -5, Users: 2000})
	_, ok = b.UserNumber(big.UserID(1500))
	require.False(t, ok)
	for _, bad := range []string{"user0", "user", "user01", "user1001", "bob", "user-1", "user1x"} {
		_, ok := b.UserNumberByUsername(bad)
		require.False(t, ok, bad)
	}
	p, ok := b.Profile(b.UserID(3))
	require.True(t, ok)
	require.Equal(t, b.UserID(3), p.ID)
	require.Equal(t, b.Config().InstitutionID, p.InstitutionID)
	require.Equal(t, "user3", p.Username)
	require.Contains(t, p.Email, "@example.com")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"no users":            {},
		"negative users":      {Users: -1},
		"negative history":    {Users: 1, HistoryDays: -1},
		"negative future":     {Users: 1, FutureDays: -3},
		"negative density":    {Users: 1, Density: -1},
		"huge density":        {Users: 1, Density: 1e9},
		"bad institution":     {Users: 1, InstitutionID: "bank"},
		"blank institution":   {Users: 1, InstitutionName: "   "},
		"history before 1971": {Users: 1, Start: time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC), HistoryDays: 5 * 365},
	} {
		_, err := New(cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	before := time.Now().UTC().Truncate(time.Hour)
	b, err := New(Config{Users: 2})
	require.NoError(t, err)
	after := time.Now().UTC().Truncate(time.Hour)
	cfg := b.Config()
	// Zero Start is the wall clock's current hour.
	require.True(t, !cfg.Start.Before(before) && !cfg.Start.After(after), "start %s", cfg.Start)
	require.Equal(t, cfg.Start, cfg.Start.Truncate(time.Hour))
	require.Equal(t, 730, cfg.HistoryDays)
	require.Equal(t, 365, cfg.FutureDays)
	require.Equal(t, 1.0, cfg.Density)
	require.Equal(t, "Sandbox Community Bank", cfg.InstitutionName)
	require.Regexp(t, reUUID, cfg.InstitutionID)
	require.Equal(t, 2, b.UserCount())
	require.Regexp(t, `^\d{9}$`, b.RoutingNumber())
}

func TestSameTxnDetectsChanges(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 1, Users: 1, HistoryDays: 30, FutureDays: 10})
	tr := truthAt(t, b, 1, b.Config().Start)
	var x Transaction
	for _, list := range tr.Transactions {
		for _, y := range list {
			if y.Merchant != nil && y.RunningBalance != nil {
				x = y
			}
		}
	}
	require.NotEmpty(t, x.ID)
	mutations := []func(*Transaction){
		func(t *Transaction) { t.Amount++ },
		func(t *Transaction) { t.Tags = []string{"x"} },
		func(t *Transaction) { t.RunningBalance = moneyPtr(*t.RunningBalance + 1) },
		func(t *Transaction) { t.Enrichments = &Enrichments{CleanMemo: "x"} },
		func(t *Transaction) { m := *t.Merchant; m.Location = &Location{}; t.Merchant = &m },
		func(t *Transaction) { t.LastUpdated = Instant{t.LastUpdated.Add(time.Millisecond)} },
	}
	for i, mutate := range mutations {
		y := x
		mutate(&y)
		require.False(t, sameTxn(&x, &y), "mutation %d", i)
		require.True(t, sameTxn(&x, &x))
	}
}
