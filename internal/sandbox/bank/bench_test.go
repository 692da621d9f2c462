package bank

import (
	"testing"
	"time"
)

// bigAccount returns a bank whose user 1 has a checking account with about
// 100,000 transactions, and that account's id.
func bigAccount(b *testing.B) (*Bank, string, string) {
	b.Helper()
	bank := newTestBank(b, Config{Start: FixedStart, Seed: 1, Users: 1, Density: 140})
	uid := bank.UserID(1)
	u := bank.user(1)
	return bank, uid, u.accounts[0].id
}

func BenchmarkGenerateUser(b *testing.B) {
	cfg := Config{Start: FixedStart, Seed: 1, Users: 1000}.withDefaults()
	records := 0
	n := 0
	for b.Loop() {
		n++
		u := generateUser(cfg, 1+n%cfg.Users)
		for _, a := range u.accounts {
			records += len(a.records)
		}
	}
	b.ReportMetric(float64(records)/float64(n), "txns/user")
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "txns/s")
}

func BenchmarkTransactionsPage(b *testing.B) {
	bank, uid, acct := bigAccount(b)
	now := bank.Config().Start
	full, err := bank.Transactions(uid, acct, now, Query{})
	if err != nil {
		b.Fatal(err)
	}
	total := len(full.Transactions)
	rows := 0
	i := 0
	for b.Loop() {
		off := (i * 7919 * 500) % total
		i++
		p, err := bank.Transactions(uid, acct, now, Query{Offset: off, Limit: 500, Paginate: true})
		if err != nil {
			b.Fatal(err)
		}
		rows += len(p.Transactions)
	}
	b.ReportMetric(float64(total), "account-txns")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "txns/s")
}

func BenchmarkTransactionsPageSinceUntil(b *testing.B) {
	bank, uid, acct := bigAccount(b)
	now := bank.Config().Start
	since, until := now.Add(-200*24*time.Hour), now.Add(-100*24*time.Hour)
	rows := 0
	for b.Loop() {
		p, err := bank.Transactions(uid, acct, now, Query{Since: &since, Until: &until, Offset: 500, Limit: 500, Paginate: true})
		if err != nil {
			b.Fatal(err)
		}
		rows += len(p.Transactions)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "txns/s")
}

func BenchmarkTransactionsPageUpdatedSince(b *testing.B) {
	bank, uid, acct := bigAccount(b)
	now := bank.Config().Start
	upd := now.Add(-30 * 24 * time.Hour)
	rows := 0
	for b.Loop() {
		p, err := bank.Transactions(uid, acct, now, Query{UpdatedSince: &upd, Limit: 500, Paginate: true})
		if err != nil {
			b.Fatal(err)
		}
		rows += len(p.Transactions)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "txns/s")
}

// BenchmarkViewBuild measures building the state of a 100,000-transaction
// account at a new instant: what the first page after a clock change costs.
func BenchmarkViewBuild(b *testing.B) {
	bank, _, _ := bigAccount(b)
	u := bank.user(1)
	a := u.accounts[0]
	now := bank.Config().Start.UnixMilli()
	entries := 0
	i := int64(0)
	for b.Loop() {
		i++
		entries += len(bank.buildView(u, a, now+i*msHour).entries)
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "txns/s")
}
