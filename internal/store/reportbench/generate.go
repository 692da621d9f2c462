package reportbench

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// historyDays is how far back each user's transactions go.
const historyDays = 730

type benchAccount struct {
	id        [16]byte
	link      int // index into the user's links
	provider  string
	name      string
	masked    string
	typ       string // account_type
	subtype   string
	liability bool
}

type benchUser struct {
	ref      string
	links    [][16]byte
	inst     []int64
	accounts []benchAccount
}

// role indexes into benchUser.accounts by purpose (-1 when absent).
type roles struct{ checking, savings, card, loan, invest, checking2, card2 int }

func (u *benchUser) roles() roles {
	r := roles{-1, -1, -1, -1, -1, -1, -1}
	for i, a := range u.accounts {
		switch {
		case a.link == 0 && a.subtype == "Checking":
			r.checking = i
		case a.link == 0 && a.subtype == "Savings":
			r.savings = i
		case a.link == 0 && a.subtype == "Credit Card":
			r.card = i
		case a.subtype == "Auto Loan":
			r.loan = i
		case a.typ == "Investment":
			r.invest = i
		case a.link == 1 && a.subtype == "Checking":
			r.checking2 = i
		case a.link == 1 && a.subtype == "Credit Card":
			r.card2 = i
		}
	}
	return r
}

func randomID(rng *rand.Rand) [16]byte {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// users builds the app users, their links and accounts (no transactions).
func users(scale Scale, institutions []int64) []benchUser {
	out := make([]benchUser, scale.Users)
	for u := range out {
		rng := rand.New(rand.NewPCG(uint64(scale.Seed), uint64(u)*2+1))
		bu := benchUser{ref: fmt.Sprintf("bench-user-%06d", u)}
		nLinks := 1
		if rng.IntN(10) < 3 {
			nLinks = 2
		}
		first := rng.IntN(len(institutions))
		for l := range nLinks {
			bu.links = append(bu.links, randomID(rng))
			bu.inst = append(bu.inst, institutions[(first+l)%len(institutions)])
		}
		add := func(link int, name, typ, subtype string) {
			bu.accounts = append(bu.accounts, benchAccount{
				id: randomID(rng), link: link, provider: fmt.Sprintf("acct-%d-%d", u, len(bu.accounts)),
				name: name, masked: fmt.Sprintf("*%04d", rng.IntN(10000)), typ: typ, subtype: subtype,
				liability: typ == "Debt" || typ == "Line of Credit",
			})
		}
		add(0, "Everyday Checking", "Deposit", "Checking")
		add(0, "High Yield Savings", "Deposit", "Savings")
		add(0, "Rewards Visa", "Line of Credit", "Credit Card")
		if rng.IntN(2) == 0 {
			add(0, "Auto Loan", "Debt", "Auto Loan")
		}
		if rng.IntN(10) < 3 {
			add(0, "Brokerage", "Investment", "Brokerage")
		}
		if nLinks == 2 {
			add(1, "Joint Checking", "Deposit", "Checking")
			add(1, "Travel Card", "Line of Credit", "Credit Card")
		}
		out[u] = bu
	}
	return out
}

type category struct {
	name      string
	weight    int
	min, max  int // cents
	merchants []string
	typ       string
}

var categories = []category{
	{"groceries", 22, 800, 22000, []string{"Whole Foods Market", "Trader Joe's", "Kroger", "Safeway", "H-E-B", "Aldi"}, "POS"},
	{"dining", 20, 600, 9000, []string{"Chipotle", "Starbucks", "Panera Bread", "Local Diner", "Sushi House", "Pizza Place", "Taco Truck"}, "POS"},
	{"gas", 8, 2000, 8000, []string{"Shell", "Chevron", "Exxon", "BP"}, "POS"},
	{"shopping", 14, 500, 30000, []string{"Amazon", "Target", "Walmart", "Best Buy", "Home Depot", "IKEA"}, "POS"},
	{"entertainment", 5, 800, 12000, []string{"AMC Theatres", "Steam", "Ticketmaster"}, "POS"},
	{"subscriptions", 5, 999, 1999, []string{"Netflix", "Spotify", "Apple", "Hulu"}, "ACH"},
	{"utilities", 4, 4000, 25000, []string{"City Power & Light", "Water Utility", "Comcast", "Verizon"}, "ACH"},
	{"health", 4, 1000, 20000, []string{"CVS Pharmacy", "Walgreens", "Dental Care"}, "POS"},
	{"travel", 3, 5000, 90000, []string{"Delta Air Lines", "Marriott", "Uber", "Lyft"}, "POS"},
	{"fees", 2, 300, 3500, []string{""}, "FEE"},
	{"", 5, 500, 15000, []string{"POS PURCHASE", "CHECKCARD", "DEBIT CARD PURCHASE"}, "POS"},
	{"uncategorized", 2, 500, 15000, []string{"MISC PURCHASE"}, "POS"},
	{"transfer", 2, 1000, 30000, []string{"Venmo", "Zelle"}, "TRANSFER"},
	{"income", 1, 1000, 20000, []string{"Interest Paid"}, "DEPOSIT"},
}

var categoryTotal = func() int {
	t := 0
	for _, c := range categories {
		t += c.weight
	}
	return t
}()

func pickCategory(rng *rand.Rand) category {
	n := rng.IntN(categoryTotal)
	for _, c := range categories {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return categories[0]
}

// roundAmounts are the amounts people move between their own accounts:
// shared by many users, which is what makes an amount-first transfer
// lookup slow.
var roundAmounts = []int64{5000, 10000, 20000, 25000, 30000, 50000, 75000, 100000, 150000, 200000}

type txRow struct {
	account   int
	pid       string
	signed    int64 // cents, user perspective
	posted    time.Time
	pending   bool
	typ       string
	memo      string
	desc      string
	merchant  string
	category  string
	replaces  string
	removedAt *time.Time
	firstSeen time.Time
}

// transactionsOf generates one user's transactions.
func transactionsOf(scale Scale, u int, bu *benchUser, today time.Time) []txRow {
	rng := rand.New(rand.NewPCG(uint64(scale.Seed), uint64(u)*2+2))
	r := bu.roles()
	start := today.AddDate(0, 0, -historyDays)
	rows := make([]txRow, 0, scale.TxPerUser+scale.TxPerUser/50)
	n := 0
	at := func(day time.Time) time.Time { return day.Add(5 * time.Hour) } // a US local midnight
	add := func(acct int, signed int64, day time.Time, typ, cat, merchant, memo string) *txRow {
		if day.After(today) {
			return nil
		}
		n++
		rows = append(rows, txRow{
			account: acct, pid: fmt.Sprintf("tx-%d-%d", u, n), signed: signed, posted: at(day),
			typ: typ, memo: memo, desc: merchant, merchant: merchant, category: cat,
			firstSeen: at(day).Add(time.Duration(6+rng.IntN(30)) * time.Hour),
		})
		return &rows[len(rows)-1]
	}
	pair := func(from, to int, cents int64, day time.Time, lag int, catFrom, catTo, typTo, memo string) {
		if from < 0 || to < 0 {
			return
		}
		add(from, -cents, day, "TRANSFER", catFrom, "", memo)
		add(to, cents, day.AddDate(0, 0, lag), typTo, catTo, "", memo)
	}
	salary := int64(150000 + rng.IntN(250000))
	for month := start; !month.After(today); month = month.AddDate(0, 1, 0) {
		m := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
		add(r.checking, salary, m, "DEPOSIT", "income", "ACME PAYROLL", "PAYROLL DIRECT DEP")
		add(r.checking, salary, m.AddDate(0, 0, 14), "DEPOSIT", "income", "ACME PAYROLL", "PAYROLL DIRECT DEP")
		// Card payment: the checking side says payment, the card books it uncategorized.
		pay := roundAmounts[rng.IntN(len(roundAmounts))]
		if rng.IntN(2) == 0 {
			pay = int64(5000 + rng.IntN(200000))
		}
		pair(r.checking, r.card, pay, m.AddDate(0, 0, 19), rng.IntN(3), "payment", "", "PAYMENT",
			"ONLINE PAYMENT TO CARD "+bu.accounts[r.card].masked)
		pair(r.checking, r.savings, roundAmounts[rng.IntN(5)], m.AddDate(0, 0, 4), 0, "transfer", "transfer", "TRANSFER", "ONLINE TRANSFER TO SAVINGS")
		if r.loan >= 0 {
			pair(r.checking, r.loan, 35000+int64(u%50)*100, m.AddDate(0, 0, 9), 1, "payment", "payment", "PAYMENT", "LOAN PAYMENT")
		}
		if r.invest >= 0 && rng.IntN(2) == 0 {
			pair(r.checking, r.invest, roundAmounts[rng.IntN(len(roundAmounts))], m.AddDate(0, 0, 11), 1, "transfer", "transfer", "TRANSFER", "BROKERAGE CONTRIBUTION")
		}
		if r.checking2 >= 0 {
			pair(r.checking, r.checking2, roundAmounts[rng.IntN(len(roundAmounts))], m.AddDate(0, 0, 24), 1, "transfer", "", "DEPOSIT", "EXTERNAL TRANSFER")
			pair(r.checking2, r.card2, int64(2000+rng.IntN(60000)), m.AddDate(0, 0, 21), 2, "payment", "payment", "PAYMENT", "CARD PAYMENT")
		}
		if rng.IntN(2) == 0 { // to a friend's account that is not linked
			add(r.checking, -roundAmounts[rng.IntN(4)]/2, m.AddDate(0, 0, 7+rng.IntN(14)), "TRANSFER", "transfer", "Zelle", "ZELLE TO FRIEND")
		}
	}
	spendAccounts := []int{r.card, r.card, r.card, r.checking}
	if r.card2 >= 0 {
		spendAccounts = append(spendAccounts, r.card2, r.checking2)
	}
	for n < scale.TxPerUser {
		c := pickCategory(rng)
		acct := spendAccounts[rng.IntN(len(spendAccounts))]
		day := start.AddDate(0, 0, rng.IntN(historyDays+1))
		cents := int64(c.min + rng.IntN(c.max-c.min+1))
		if rng.IntN(5) == 0 {
			cents -= cents % 100 // round amounts are common
		}
		signed := -cents
		if c.name == "income" || rng.IntN(40) == 0 { // interest, refunds
			signed = cents
		}
		merchant := c.merchants[rng.IntN(len(c.merchants))]
		memo := "POS PURCHASE " + merchant
		if rng.IntN(100) == 0 && scale.TxPerUser-n > 2 {
			// A pending authorisation the bank replaced by its posted
			// version under a new id: a tombstone and its replacement.
			p := add(acct, signed, day, c.typ, c.name, merchant, memo)
			if p == nil {
				continue
			}
			p.pending = true
			p.pid += "-pending"
			removed := p.posted.Add(30 * time.Hour)
			p.removedAt = &removed
			pid := p.pid
			q := add(acct, signed, day.AddDate(0, 0, 1), c.typ, c.name, merchant, memo)
			if q != nil {
				q.replaces = pid
			}
			continue
		}
		add(acct, signed, day, c.typ, c.name, merchant, memo)
	}
	pendingFrom := today.AddDate(0, 0, -3)
	for i := range rows {
		if rows[i].removedAt == nil && !rows[i].posted.Before(pendingFrom) {
			rows[i].pending = true
		}
	}
	return rows
}

func cents(c int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(c), Exp: -2, Valid: true}
}

// generate fills an empty, migrated datastore.
func generate(ctx context.Context, pool *pgxpool.Pool, scale Scale, logger *slog.Logger) (int64, error) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var institutions []int64
	for i := range 5 {
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
			VALUES ($1, $2, 'https://bank.example/oidc', 'https://bank.example/api', 'pfmsync')
			ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id`,
			fmt.Sprintf("bench-bank-%d", i+1), fmt.Sprintf("Bench Bank %d", i+1)).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("insert institution: %w", err)
		}
		institutions = append(institutions, id)
	}
	all := users(scale, institutions)

	var linkRows, accountRows, snapshotRows, runRows [][]any
	for _, bu := range all {
		for l, id := range bu.links {
			consented := today.AddDate(0, 0, -historyDays-10)
			last := today.Add(-2 * time.Hour)
			linkRows = append(linkRows, []any{id, bu.inst[l], bu.ref, "banno-" + bu.ref, consented, today.Add(4 * time.Hour), last, last})
			for k := range 5 {
				s := last.Add(-time.Duration(k*6) * time.Hour)
				runRows = append(runRows, []any{id, "schedule", s, s.Add(40 * time.Second), "success", int32(5), int32(3 + k)})
			}
		}
		for i, a := range bu.accounts {
			bal := int64(100000 + (i * 7919 % 900000))
			var limit, availCredit any
			if a.liability {
				bal = int64(50000 + (i * 104729 % 1500000))
				if a.subtype == "Credit Card" {
					limit, availCredit = cents(1500000), cents(1500000-bal)
				}
			}
			accountRows = append(accountRows, []any{a.id, bu.links[a.link], a.provider, a.name, a.masked, a.typ, a.subtype, "Open",
				cents(bal), cents(bal), limit, availCredit, today.Add(-2 * time.Hour), `{"source":"bench"}`})
			for d := historyDays; d >= 0; d -= 7 {
				day := today.AddDate(0, 0, -d)
				b := bal + int64((d*31+i*17)%20000) - 10000
				snapshotRows = append(snapshotRows, []any{a.id, day, cents(b), cents(b), day.Add(12 * time.Hour)})
			}
		}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"links", []string{"id", "institution_id", "app_user_ref", "banno_user_id", "consented_at", "next_sync_at", "last_attempt_at", "last_success_at"}, linkRows},
		{"accounts", []string{"id", "link_id", "provider_account_id", "name", "masked_number", "account_type", "account_subtype", "account_status",
			"balance", "available_balance", "credit_limit", "available_credit", "balance_as_of", "raw"}, accountRows},
		{"balance_snapshots", []string{"account_id", "day", "balance", "available_balance", "as_of"}, snapshotRows},
		{"sync_runs", []string{"link_id", "trigger", "started_at", "finished_at", "outcome", "accounts", "transactions_added"}, runRows},
	}
	for _, c := range copies {
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return 0, fmt.Errorf("copy %s: %w", c.table, err)
		}
		logger.Info("copied", "table", c.table, "rows", len(c.rows))
	}
	if _, err := pool.Exec(ctx, `UPDATE links SET status = 'reauth_required', next_sync_at = NULL, consecutive_failures = 1,
		last_error_class = 'consent_revoked' WHERE app_user_ref LIKE '%7'`); err != nil {
		return 0, fmt.Errorf("mark some links for reauthorization: %w", err)
	}

	// Transactions, streamed user by user in batches of users.
	cols := []string{"account_id", "provider_transaction_id", "amount", "signed_amount", "currency", "posted_at", "pending", "pending_status",
		"type", "subtype", "memo", "description", "merchant_name", "category", "provider_updated_at", "replaces_provider_transaction_id",
		"removed_at", "raw", "first_seen_at", "updated_at"}
	var total int64
	const batch = 250
	for from := 0; from < len(all); from += batch {
		src := &txSource{scale: scale, users: all, next: from, end: min(from+batch, len(all)), today: today}
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"transactions"}, cols, src)
		if err != nil {
			return total, fmt.Errorf("copy transactions: %w", err)
		}
		total += n
		logger.Info("copied transactions", "users", min(from+batch, len(all)), "rows", total)
	}

	// The change feed: every transaction added once, then tombstones
	// removed, as pages of up to 500 changes of one account, with seqs
	// drawn in app user, account and row order so that an app user's
	// pages never interleave (as the sync's order lock keeps them).
	for _, step := range []struct{ change, where, at string }{
		{"a", "true", "t.first_seen_at"},
		{"r", "t.removed_at IS NOT NULL", "t.removed_at"},
	} {
		if _, err := pool.Exec(ctx, `
			INSERT INTO transaction_change_pages (app_user_ref, link_id, account_id, first_seq, last_seq, entries,
				seqs, transaction_ids, changes, changed_at)
			SELECT app_user_ref, link_id, account_id, min(seq), max(seq), count(*),
				array_agg(seq ORDER BY seq), array_agg(id ORDER BY seq), array_agg($1::"char" ORDER BY seq), max(at)
			FROM (
				SELECT c.*, nextval('transaction_change_seq') AS seq
				FROM (
					SELECT l.app_user_ref, a.link_id, t.account_id, t.id, `+step.at+` AS at,
						(row_number() OVER (PARTITION BY t.account_id ORDER BY t.id) - 1) / 500 AS page
					FROM transactions t JOIN accounts a ON a.id = t.account_id JOIN links l ON l.id = a.link_id
					WHERE `+step.where+`
					ORDER BY l.app_user_ref, t.account_id, t.id
				) c
			) c
			GROUP BY app_user_ref, link_id, account_id, page`, step.change); err != nil {
			return total, fmt.Errorf("fill the change feed: %w", err)
		}
	}
	logger.Info("change feed filled")
	return total, nil
}

// txSource streams the transactions of users[next:end] to COPY.
type txSource struct {
	scale     Scale
	users     []benchUser
	next, end int
	today     time.Time
	buf       []txRow
	pos       int
	cur       *benchUser
	row       []any
}

func (s *txSource) Next() bool {
	for s.pos >= len(s.buf) {
		if s.next >= s.end {
			return false
		}
		s.cur = &s.users[s.next]
		s.buf = transactionsOf(s.scale, s.next, s.cur, s.today)
		s.pos = 0
		s.next++
	}
	t := s.buf[s.pos]
	s.pos++
	a := s.cur.accounts[t.account]
	raw := t.signed
	if a.liability {
		raw = -raw
	}
	status := "NoReconciliation"
	if t.pending {
		status = "InstitutionPending"
	}
	var replaces, removed any
	if t.replaces != "" {
		replaces = t.replaces
	}
	if t.removedAt != nil {
		removed = *t.removedAt
	}
	updated := t.firstSeen
	if t.removedAt != nil {
		updated = *t.removedAt
	}
	s.row = []any{a.id, t.pid, cents(raw), cents(t.signed), "USD", t.posted, t.pending, status,
		t.typ, "", t.memo, t.desc, t.merchant, t.category, t.firstSeen, replaces, removed,
		fmt.Sprintf(`{"id":%q,"memo":%q,"displayName":%q,"expenseCategory":%q}`, t.pid, t.memo, t.desc, t.category),
		t.firstSeen, updated}
	return true
}

func (s *txSource) Values() ([]any, error) { return s.row, nil }
func (s *txSource) Err() error             { return nil }
