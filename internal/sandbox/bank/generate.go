package bank

import (
	"math/rand/v2"
	"slices"
	"time"
)

// user is one user's generated data.
type user struct {
	n        int
	id       string
	first    string
	last     string
	metro    int
	street   int
	employer int
	landlord int
	accounts []*account
}

// account finds the user's account by id.
func (u *user) account(id string) *account {
	for _, a := range u.accounts {
		if a.id == id {
			return a
		}
	}
	return nil
}

// gen holds the state of one user's generation.
type gen struct {
	seed   int64
	dm     int64 // density in thousandths
	t0, t1 int64 // timeline bounds, Unix ms
	start  int64
	r      *rand.Rand
	u      *user
	chk    *account
}

// generateUser builds user n's whole timeline. It depends only on cfg and n.
func generateUser(cfg Config, n int) *user {
	start := cfg.Start.UnixMilli()
	g := &gen{
		seed:  cfg.Seed,
		dm:    cfg.densityMilli(),
		start: start,
		t0:    start - int64(cfg.HistoryDays)*msDay,
		t1:    start + int64(cfg.FutureDays)*msDay,
		r: rand.New(rand.NewPCG(
			hash5(uint64(cfg.Seed), saltRNG, uint64(n), 0, 0),
			hash5(uint64(cfg.Seed), saltRNG, uint64(n), 1, 0))),
		u: &user{n: n, id: formatUUID(userUUID(cfg.Seed, n))},
	}
	g.profile()
	g.openAccounts()
	for _, a := range g.u.accounts {
		if a.kind == akCard {
			g.cardPurchases(a)
		}
	}
	g.recurring()
	for _, a := range g.u.accounts {
		if a.kind == akCard {
			g.cardStatements(a)
		}
	}
	for _, a := range g.u.accounts {
		switch a.kind {
		case akAutoLoan, akMortgage:
			g.loan(a)
		case akSavings:
			g.savings(a)
		}
	}
	g.checking()
	g.payroll()
	g.finish()
	return g.u
}

// between returns a value in [lo, hi), or lo when the range is empty.
func (g *gen) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.r.Int64N(hi-lo)
}

// pct returns true with probability p percent.
func (g *gen) pct(p int) bool { return g.r.IntN(100) < p }

// dailyCount draws how many events of a kind happen on one day, for a mean of
// perMonthMilli/1000 a month at density 1.
func (g *gen) dailyCount(perMonthMilli int64) int {
	lambda := perMonthMilli * g.dm / 30_000 // thousandths of an event per day
	return int((g.r.Int64N(2*lambda+1) + g.r.Int64N(1000)) / 1000)
}

// cents converts whole cents to Money.
func cents(c int64) Money { return Money(c) * Cent }

// roundCents rounds m to whole cents, half away from zero.
func roundCents(m Money) Money {
	if m < 0 {
		return -roundCents(-m)
	}
	return (m + 50) / 100 * 100
}

func (g *gen) profile() {
	u := g.u
	u.first = firstNames[g.r.IntN(len(firstNames))]
	u.last = lastNames[g.r.IntN(len(lastNames))]
	u.metro = g.r.IntN(len(metros))
	u.street = g.r.IntN(len(streetNames))*10000 + 100 + g.r.IntN(9800)
	u.employer = g.r.IntN(len(employers))
	u.landlord = g.r.IntN(len(landlords))
}

var (
	checkingNames = [...]string{"Everyday Checking", "Free Checking", "Premier Checking ", " Checking", "CHECKING", "Rewards Checking"}
	savingsNames  = [...]string{"Savings", "High Yield Savings", " Money Market Savings", "Statement Savings ", "Rainy Day Fund"}
	cardNames     = [...]string{"Visa Signature", "Cash Rewards Mastercard", "Platinum Visa ", "Travel Rewards Card", " Visa Classic"}
	autoNames     = [...]string{"Auto Loan", "New Vehicle Loan", "Used Auto Loan ", "AUTO LOAN"}
	mortNames     = [...]string{"Home Mortgage", "30 Year Fixed Mortgage", " 15 Yr Fixed Mortgage", "Home Loan"}
)

// openAccounts decides which accounts the user has and their parameters.
func (g *gen) openAccounts() {
	used := map[int]bool{}
	add := func(kind acctKind, names []string) *account {
		last4 := 0
		for last4 < 1000 || used[last4] {
			last4 = 1000 + g.r.IntN(9000)
		}
		used[last4] = true
		a := &account{
			idx:    len(g.u.accounts),
			kind:   kind,
			name:   names[g.r.IntN(len(names))],
			last4:  last4,
			opened: g.t0,
		}
		a.id = formatUUID(uuidFrom(uint64(g.seed), saltAccount, uint64(g.u.n), uint64(a.idx), 0))
		g.u.accounts = append(g.u.accounts, a)
		return a
	}
	closeWithin := func(a *account, p int) {
		lo, hi := g.t0+90*msDay, g.t1-5*msDay
		if g.pct(p) && hi > lo {
			a.closed = g.between(lo, hi)
		}
	}

	g.chk = add(akChecking, checkingNames[:])
	g.chk.rateBP = 1 + g.r.Int64N(5)
	if g.pct(70) {
		s := add(akSavings, savingsNames[:])
		s.rateBP = 10 + g.r.Int64N(441)
		s.opening = cents(50_000 + g.r.Int64N(2_500_000))
		closeWithin(s, 4)
	}
	cards := 0
	switch x := g.r.IntN(100); {
	case x >= 75:
		cards = 2
	case x >= 30:
		cards = 1
	}
	for range cards {
		c := add(akCard, cardNames[:])
		g.cardTerms(c)
		c.opening = roundCents(c.creditLimit * Money(g.r.Int64N(26)) / 100)
		closeWithin(c, 5)
	}
	if g.pct(40) {
		if g.pct(65) {
			add(akAutoLoan, autoNames[:])
		} else {
			add(akMortgage, mortNames[:])
		}
	}
	// A few users open a new card while the clock runs.
	lo, hi := g.start+msDay, g.t1-45*msDay
	if g.pct(6) && hi > lo {
		c := add(akCard, cardNames[:])
		g.cardTerms(c)
		c.opened = g.between(lo, hi)
	}
}

// cardTerms sets a card's limit and APR.
func (g *gen) cardTerms(c *account) {
	scale := max(g.dm/1000, 1)
	c.creditLimit = cents((4_000 + 500*g.r.Int64N(43)) * 100 * scale)
	c.rateBP = 1499 + g.r.Int64N(1500)
}

// hasMortgage reports whether the user pays a mortgage rather than rent.
func (g *gen) hasMortgage() bool {
	for _, a := range g.u.accounts {
		if a.kind == akMortgage {
			return true
		}
	}
	return false
}

// window returns the span [from, to) in which a can receive new activity,
// stopping quiet before its closure.
func (g *gen) window(a *account, quiet int64) (from, to int64) {
	from, to = max(g.t0, a.opened), g.t1
	if a.closed != 0 {
		to = min(to, a.closed-quiet)
	}
	return from, to
}

// purchaseTime returns a shopping-hours instant on day d (US local daytime).
func (g *gen) purchaseTime(d int64) int64 {
	return d*msDay + 13*msHour + g.r.Int64N(14*msHour)
}

// achTime returns a morning batch instant on day d.
func (g *gen) achTime(d int64) int64 {
	return d*msDay + 9*msHour + g.r.Int64N(3*msHour)
}

// pickMerchant picks a discretionary merchant for the user's metro.
func (g *gen) pickMerchant() int16 {
	x := g.r.IntN(100)
	c := 0
	for ; c < len(purchaseCategories)-1; c++ {
		if x < purchaseCategories[c].weight {
			break
		}
		x -= purchaseCategories[c].weight
	}
	list := merchantIdx.byCategory[g.u.metro][c]
	return list[g.r.IntN(len(list))]
}

// merchantAmount draws a purchase amount at merchant m, skewed to small.
func (g *gen) merchantAmount(m int16) Money {
	mc := &merchants[m]
	u := g.r.Int64N(1001)
	return cents(mc.min + (mc.max-mc.min)*u*u/1_000_000)
}

// purchase adds a purchase on a, possibly pending. sign is -1 on deposit
// accounts and +1 on cards.
func (g *gen) purchase(a *account, t int64, m int16, pendPct int) {
	sign := Money(-1)
	if a.kind.inverted() {
		sign = 1
	}
	amt := g.merchantAmount(m)
	rec := record{appears: t, amount: sign * amt, pending: sign * amt, merchant: m, kind: kPurchase, peer: -1}
	if g.pct(pendPct) {
		mc := &merchants[m]
		switch {
		case mc.flags&mfTip != 0:
			rec.amount = sign * roundCents(amt*Money(115+g.r.IntN(11))/100)
		case mc.flags&mfFuel != 0:
			rec.pending = sign * 100 * Dollar
		}
		rec.resolves = t + msDay + g.r.Int64N(3*msDay)
		switch x := g.r.IntN(100); {
		case x < 60:
			rec.outcome = outPost
		case x < 90:
			rec.outcome = outReplace
		default:
			rec.outcome = outDrop
		}
	}
	a.records = append(a.records, rec)
}

// cardPurchases generates a card's purchases and yearly fee.
func (g *gen) cardPurchases(c *account) {
	from, to := g.window(c, 35*msDay)
	for d := dayOf(from); d <= dayOf(to); d++ {
		for range g.dailyCount(20_000) {
			t := g.purchaseTime(d)
			m := g.pickMerchant()
			if t >= from && t < to {
				g.purchase(c, t, m, 85)
			}
		}
	}
	if g.pct(30) {
		anniversary := from + g.r.Int64N(365*msDay)
		for t := anniversary; t < to; t += 365 * msDay {
			c.records = append(c.records, record{appears: t, amount: 95 * Dollar, pending: 95 * Dollar, kind: kFee, aux: feeAnnual, merchant: -1, peer: -1})
		}
	}
}

// monthDay returns Unix ms of day dom of the month containing ms, at hour h.
func monthDay(ms int64, dom, h int) int64 {
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), t.Month(), dom, h, 0, 0, 0, time.UTC).UnixMilli()
}

// months calls f with the first instant of each month overlapping [from, to).
func months(from, to int64, f func(month int64)) {
	t := time.UnixMilli(from).UTC()
	m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	for ; m.UnixMilli() < to; m = m.AddDate(0, 1, 0) {
		f(m.UnixMilli())
	}
}

// recurring adds the user's monthly subscriptions, billed to a card that
// stays open or else to checking.
func (g *gen) recurring() {
	payer := g.chk
	for _, a := range g.u.accounts {
		if a.kind == akCard && a.closed == 0 && a.opened == g.t0 {
			payer = a
			break
		}
	}
	subs := slices.Clone(merchantIdx.recurring)
	g.r.Shuffle(len(subs), func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })
	subs = subs[:2+g.r.IntN(3)]
	sign := Money(-1)
	if payer.kind.inverted() {
		sign = 1
	}
	from, to := g.window(payer, 0)
	for _, m := range subs {
		amt := g.merchantAmount(m)
		dom := 1 + g.r.IntN(28)
		months(from, to, func(month int64) {
			t := monthDay(month, dom, 8) + g.r.Int64N(4*msHour)
			if t >= from && t < to {
				payer.records = append(payer.records, record{appears: t, amount: sign * amt, pending: sign * amt, merchant: m, kind: kRecurring, peer: -1})
			}
		})
	}
}

// link records a transfer of amt from one own account to another on both
// sides, at the same instant and for the same amount.
func (g *gen) link(from, to *account, t int64, amt Money, kindFrom, kindTo uint8) {
	out := -amt // leaving a deposit account
	if from.kind.inverted() {
		out = amt
	}
	in := amt
	if to.kind.inverted() {
		in = -amt // a payment lowers what is owed
	}
	from.records = append(from.records, record{appears: t, amount: out, pending: out, kind: kindFrom, merchant: -1, peer: int8(to.idx)})
	to.records = append(to.records, record{appears: t, amount: in, pending: in, kind: kindTo, merchant: -1, peer: int8(from.idx)})
}

// cardStatements closes a card's monthly statements: interest on carried
// balances, late fees, and payments from checking; then pays the card off
// before it closes.
func (g *gen) cardStatements(c *account) {
	type posting struct {
		t   int64
		amt Money
	}
	var posts []posting
	for i := range c.records {
		if r := &c.records[i]; r.posts() {
			posts = append(posts, posting{r.postedAt(), r.amount})
		}
	}
	slices.SortStableFunc(posts, func(x, y posting) int {
		switch {
		case x.t < y.t:
			return -1
		case x.t > y.t:
			return 1
		}
		return 0
	})
	from, to := g.window(c, 0)
	payoff := int64(0)
	if c.closed != 0 {
		payoff = c.closed - 3*msDay
		to = payoff
	}
	revolver := g.pct(35)
	dom := 1 + g.r.IntN(28)
	bal, next, paidInFull := c.opening, 0, true
	months(from, to, func(month int64) {
		closeAt := monthDay(month, dom, 5)
		if closeAt <= from || closeAt >= to {
			return
		}
		for next < len(posts) && posts[next].t <= closeAt {
			bal += posts[next].amt
			next++
		}
		if !paidInFull && bal > 0 {
			interest := roundCents(bal * Money(c.rateBP) / 120_000)
			if interest > 0 {
				c.records = append(c.records, record{appears: closeAt, amount: interest, pending: interest, kind: kInterestCharged, merchant: -1, peer: -1})
				bal += interest
			}
		}
		if bal < Dollar {
			paidInFull = true
			return
		}
		pay := bal
		if revolver {
			pay = max(35*Dollar, roundCents(bal*Money(25+g.r.IntN(36))/100))
			pay = min(pay, bal)
		}
		payAt := closeAt + 21*msDay + 9*msHour + g.r.Int64N(6*msHour)
		late := revolver && g.pct(3)
		if late {
			payAt += 2 * msDay
		}
		if payAt >= to {
			return
		}
		if late {
			// Paid late: the card charges a fee the day after the due date.
			fee := feeTable[feeLate].amount
			c.records = append(c.records, record{appears: payAt - msDay, amount: fee, pending: fee, kind: kFee, aux: feeLate, merchant: -1, peer: -1})
			bal += fee
		}
		g.link(g.chk, c, payAt, pay, kCardPayOut, kCardPayIn)
		paidInFull = pay >= bal
		bal -= pay
	})
	if payoff != 0 {
		for ; next < len(posts); next++ {
			bal += posts[next].amt
		}
		if bal > 0 {
			g.link(g.chk, c, payoff, bal, kCardPayOut, kCardPayIn)
		}
	}
}

// loan generates a loan's monthly interest and payments from checking; a loan
// paid off inside the timeline closes a few days later.
func (g *gen) loan(l *account) {
	var pm Money
	var remaining int
	if l.kind == akAutoLoan {
		pm = cents((250 + g.r.Int64N(500)) * 100)
		l.rateBP = 299 + g.r.Int64N(600)
		remaining = 6 + g.r.IntN(79)
	} else {
		pm = cents((900 + g.r.Int64N(2300)) * 100)
		l.rateBP = 275 + g.r.Int64N(450)
		remaining = 120 + g.r.IntN(221)
	}
	// Present value of the remaining payments, computed backwards in integers.
	bal := Money(0)
	for range remaining {
		bal = (bal + pm) * 120_000 / Money(120_000+l.rateBP)
	}
	l.opening = roundCents(bal)
	bal = l.opening
	dom := 1 + g.r.IntN(28)
	from, to := g.window(l, 0)
	done := false
	months(from, to, func(month int64) {
		if done {
			return
		}
		at := monthDay(month, dom, 4)
		if at < from || at >= to {
			return
		}
		interest := roundCents(bal * Money(l.rateBP) / 120_000)
		if interest > 0 {
			l.records = append(l.records, record{appears: at, amount: interest, pending: interest, kind: kInterestCharged, merchant: -1, peer: -1})
			bal += interest
		}
		pay := pm
		if bal <= pm {
			pay, done = bal, true
		}
		payAt := at + 10*msHour + g.r.Int64N(4*msHour)
		g.link(g.chk, l, payAt, pay, kLoanPayOut, kLoanPayIn)
		bal -= pay
		if done {
			l.closed = payAt + 2*msDay + g.r.Int64N(3*msDay)
		}
	})
}

// savings generates monthly transfers from checking, occasional withdrawals,
// monthly interest (sometimes with sub-cent digits) and a closing transfer.
func (g *gen) savings(s *account) {
	monthly := cents((100 + g.r.Int64N(701)) * 100)
	tdom := 2 + g.r.IntN(5)
	from, to := g.window(s, 2*msDay)
	bal := s.opening
	months(from, to, func(month int64) {
		if t := monthDay(month, tdom, 16) + g.r.Int64N(msHour); t >= from && t < to {
			g.link(g.chk, s, t, monthly, kXferOut, kXferIn)
			bal += monthly
		}
		if g.pct(12) && bal > 300*Dollar {
			amt := min(bal/3/Dollar*Dollar, cents((100+g.r.Int64N(1401))*100))
			if t := monthDay(month, 10+g.r.IntN(15), 17); t >= from && t < to {
				g.link(s, g.chk, t, amt, kXferOut, kXferIn)
				bal -= amt
			}
		}
		if t := monthDay(month, 28, 23); t >= from && t < to {
			interest := bal * Money(s.rateBP) / 120_000
			if g.pct(70) {
				interest = roundCents(interest)
			}
			if interest > 0 {
				s.records = append(s.records, record{appears: t, amount: interest, pending: interest, kind: kInterestPaid, merchant: -1, peer: -1})
				bal += interest
			}
		}
	})
	if s.closed != 0 && bal > 0 {
		g.link(s, g.chk, s.closed-msDay, bal, kCloseoutOut, kCloseoutIn)
	}
}

// checking generates the checking account's own activity: debit purchases,
// ATM withdrawals, checks, fees, utility bills and rent.
func (g *gen) checking() {
	c := g.chk
	from, to := g.window(c, 0)
	perMonth := int64(30_000)
	hasCard := false
	for _, a := range g.u.accounts {
		hasCard = hasCard || a.kind == akCard
	}
	if !hasCard {
		perMonth = 45_000
	}
	check := uint32(1001 + g.r.IntN(3000))
	maintenance := g.pct(25)
	for d := dayOf(from); d <= dayOf(to); d++ {
		for range g.dailyCount(perMonth) {
			t := g.purchaseTime(d)
			m := g.pickMerchant()
			if t >= from && t < to {
				g.purchase(c, t, m, 70)
			}
		}
		for range g.dailyCount(1_500) {
			t := g.purchaseTime(d)
			amt := cents(2000 * (1 + g.r.Int64N(15)))
			if t >= from && t < to {
				c.records = append(c.records, record{appears: t, amount: -amt, pending: -amt, kind: kATM, aux: uint32(g.r.IntN(len(atmStreets))), merchant: -1, peer: -1})
				if g.pct(15) {
					c.records = append(c.records, record{appears: t + 1, amount: -3 * Dollar, pending: -3 * Dollar, kind: kFee, aux: feeATM, merchant: -1, peer: -1})
				}
			}
		}
		for range g.dailyCount(600) {
			t := g.achTime(d)
			amt := cents(2500 + g.r.Int64N(117_500))
			if t >= from && t < to {
				c.records = append(c.records, record{appears: t, amount: -amt, pending: -amt, kind: kCheck, aux: check, merchant: -1, peer: -1})
				check++
			}
		}
		for range g.dailyCount(150) {
			t := g.achTime(d)
			kind := randomFees[g.r.IntN(len(randomFees))]
			if t >= from && t < to {
				amt := -feeTable[kind].amount
				c.records = append(c.records, record{appears: t, amount: amt, pending: amt, kind: kFee, aux: kind, merchant: -1, peer: -1})
			}
		}
	}
	biller := merchantIdx.biller[g.u.metro]
	billDom := 10 + g.r.IntN(15)
	rent := cents((900 + g.r.Int64N(1700)) * 100)
	mortgage := g.hasMortgage()
	months(from, to, func(month int64) {
		if t := monthDay(month, billDom, 9) + g.r.Int64N(3*msHour); t >= from && t < to {
			amt := g.merchantAmount(biller)
			c.records = append(c.records, record{appears: t, amount: -amt, pending: -amt, kind: kBiller, merchant: biller, peer: -1})
		}
		if t := monthDay(month, 1, 10) + g.r.Int64N(msHour); !mortgage && t >= from && t < to {
			c.records = append(c.records, record{appears: t, amount: -rent, pending: -rent, kind: kRent, merchant: -1, peer: -1})
		}
		if t := monthDay(month, 28, 6); maintenance && t >= from && t < to {
			amt := -feeTable[feeMaintenance].amount
			c.records = append(c.records, record{appears: t, amount: amt, pending: amt, kind: kFee, aux: feeMaintenance, merchant: -1, peer: -1})
		}
	})
}

// payroll adds biweekly paychecks sized so that checking stays funded.
func (g *gen) payroll() {
	c := g.chk
	from, to := g.window(c, 0)
	var net Money
	for i := range c.records {
		if r := &c.records[i]; r.posts() {
			net += r.amount
		}
	}
	// Epoch day 1 was a Friday.
	d := dayOf(from)
	d += (1 - d%7 + 7) % 7
	d += 7 * int64(g.r.IntN(2))
	var days []int64
	for ; d*msDay < to; d += 14 {
		if t := d*msDay + 10*msHour; t >= from && t < to {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return
	}
	pay := max(800*Dollar, roundCents(-net*Money(100+g.r.IntN(7))/100/Money(len(days))))
	for _, d := range days {
		t := d*msDay + 10*msHour + g.r.Int64N(msHour)
		c.records = append(c.records, record{appears: t, amount: pay, pending: pay, kind: kPaycheck, merchant: -1, peer: -1})
	}
}

// finish sorts every timeline, decides later modifications, sets the
// checking account's opening balance and the payment schedules.
func (g *gen) finish() {
	for _, a := range g.u.accounts {
		for i := range a.records {
			r := &a.records[i]
			if !r.posts() || !g.pct(6) {
				continue
			}
			r.modified = r.postedAt() + msHour + g.r.Int64N(20*msDay)
			if r.merchant >= 0 {
				r.mod = modRecat + uint8(g.r.IntN(5))
			} else {
				r.mod = plainMods[g.r.IntN(len(plainMods))]
			}
		}
		a.finishTimeline()
	}
	// Opening balance: enough that checking never runs dry.
	c := g.chk
	var run, low Money
	for _, v := range c.order {
		if v&1 == 1 {
			run += c.records[v>>1].amount
			low = min(low, run)
		}
	}
	c.opening = max(cents((500+g.r.Int64N(4500))*100), roundCents(-low+cents((200+g.r.Int64N(1300))*100)))
	for _, a := range g.u.accounts {
		if !a.kind.inverted() {
			continue
		}
		for i := range a.records {
			if r := &a.records[i]; r.kind == kCardPayIn || r.kind == kLoanPayIn {
				a.dues = append(a.dues, due{at: r.appears, amount: -r.amount})
			}
		}
	}
}

// Bank fees, by aux value of a kFee record.
const (
	feeMaintenance uint32 = iota
	feeOverdraft
	feeATM
	feeStopPayment
	feePaperStatement
	feeAnnual
	feeLate
)

// randomFees are the checking fees charged at random.
var randomFees = [...]uint32{feeOverdraft, feeStopPayment, feePaperStatement}

// plainMods are the modifications possible on records without a merchant.
var plainMods = [...]uint8{modCustomCat, modTag, modNote}

var feeTable = [...]struct {
	memo, name string
	amount     Money
}{
	feeMaintenance:    {"MONTHLY MAINTENANCE FEE", "Monthly Maintenance Fee", 12 * Dollar},
	feeOverdraft:      {"OVERDRAFT ITEM FEE", "Overdraft Fee", 35 * Dollar},
	feeATM:            {"NON-NETWORK ATM FEE", "ATM Fee", 3 * Dollar},
	feeStopPayment:    {"STOP PAYMENT FEE", "Stop Payment Fee", 30 * Dollar},
	feePaperStatement: {"PAPER STATEMENT FEE", "Paper Statement Fee", 2 * Dollar},
	feeAnnual:         {"ANNUAL MEMBERSHIP FEE", "Annual Fee", 95 * Dollar},
	feeLate:           {"LATE PAYMENT FEE", "Late Payment Fee", 29 * Dollar},
}

var streetNames = [...]string{"Oak St", "Maple Ave", "Cedar Ln", "Elm St", "Park Blvd", "Lakeview Dr", "Hillcrest Rd", "Sunset Ave"}

// titleCase turns "WHOLEFDS MKT" into "Wholefds Mkt", keeping two-letter
// words (state codes) upper case.
func titleCase(s string) string {
	b := []byte(s)
	for start := 0; start < len(b); {
		end := start
		for end < len(b) && b[end] != ' ' {
			end++
		}
		keep := end-start == 2 && isAlpha(b[start]) && isAlpha(b[start+1])
		for i := start; i < end; i++ {
			c := b[i]
			switch {
			case (i == start || keep) && c >= 'a' && c <= 'z':
				b[i] = c - ('a' - 'A')
			case i != start && !keep && c >= 'A' && c <= 'Z':
				b[i] = c + ('a' - 'A')
			}
		}
		start = end + 1
	}
	return string(b)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
