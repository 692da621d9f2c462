package probe

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Shape of the measurements.
const (
	// maxLimit is the documented page limit.
	maxLimit = 500
	// candidates is how many accounts' first pages are read to choose one.
	candidates = 3
	// offsetProbeRows is the size of the offset=1 page.
	offsetProbeRows = 10
	// recentWindow is the span of posted dates sampled as evidence.
	recentWindow = 30 * 24 * time.Hour
	// maxSample bounds the rows kept as evidence.
	maxSample = 300
	// maxSplits bounds how often a window is halved to fit a page.
	maxSplits = 2
	// postingSlack is how long after its date a sampled pending may post.
	postingSlack = 5 * 24 * time.Hour
	// minOrderRows is the fewest rows an order comparison needs.
	minOrderRows = 4
)

// Evidence is what a run keeps for the next one: digests only.
type Evidence struct {
	// Account is the digest of the sampled account's id.
	Account string `json:"account,omitempty"`
	// Rows are the sampled rows.
	Rows []SampleRow `json:"rows,omitempty"`
}

// SampleRow is one sampled transaction.
type SampleRow struct {
	// ID is the digest of the transaction id.
	ID          string    `json:"id"`
	LastUpdated time.Time `json:"lastUpdated"`
	Pending     bool      `json:"pending,omitempty"`
	// At is datePosted (or date, when datePosted is absent).
	At time.Time `json:"at"`
	// Content is the digest of the record without lastUpdated and
	// runningBalance.
	Content string `json:"content"`
}

// digest is a short SHA-256 digest that stands for an identifier or a
// record without revealing it.
func digest(b []byte) string {
	sum := sha256.Sum256(append([]byte("pfmsync-probe:"), b...))
	return hex.EncodeToString(sum[:16])
}

// rec is one record of a page, decoded or not.
type rec struct {
	id      string
	alt     string // lastUpdated|date as sent: identifies a record without id
	decoded bool
	tx      consumerapi.Transaction
	fields  map[string]json.RawMessage
}

// same reports whether two records are the same transaction.
func same(a, b rec) bool {
	if a.id != "" && b.id != "" {
		return a.id == b.id
	}
	return a.alt == b.alt && a.alt != "|"
}

func sameSequence(a, b []rec) bool { return slices.EqualFunc(a, b, same) }

func contains(recs []rec, r rec) bool {
	return slices.ContainsFunc(recs, func(x rec) bool { return same(x, r) })
}

// page is one response.
type page struct {
	recs  []rec
	inact []string
	limit int
}

func (p *page) full(limit int) bool { return len(p.recs) >= limit }

// run is the state of one probe run.
type run struct {
	prober   *Prober
	ctx      context.Context
	now      time.Time
	logger   *slog.Logger
	tokens   *linktoken.Source
	session  *consumerapi.Session
	max      int
	requests int
	pause    time.Duration
	limit    int

	f        Findings
	prevRun  *store.InstitutionProbe
	evidence Evidence

	datePosted map[string]int
	unlisted   map[string]bool
}

func (r *run) note(format string, args ...any) {
	r.f.Notes = append(r.f.Notes, fmt.Sprintf(format, args...))
}

// tick takes one request from the budget, pausing between requests.
func (r *run) tick() error {
	if r.requests >= r.max {
		return fmt.Errorf("%w (%d requests)", ErrBudget, r.max)
	}
	if r.requests > 0 && r.pause > 0 {
		t := time.NewTimer(r.pause)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return r.ctx.Err()
		case <-t.C:
		}
	}
	r.requests++
	return nil
}

// get reads one page and records what every record shows.
func (r *run) get(accountID string, q consumerapi.TransactionQuery) (*page, error) {
	if err := r.tick(); err != nil {
		return nil, err
	}
	p, rejected, err := r.session.TransactionsTolerant(r.ctx, accountID, q)
	if err != nil {
		return nil, err
	}
	out := &page{inact: p.InactivatedTransactionIDs, limit: p.Limit}
	r.f.MalformedRecords += len(rejected)
	for _, t := range p.Transactions {
		x := rec{id: t.ID, decoded: true, tx: t}
		_ = json.Unmarshal(t.Raw, &x.fields)
		x.alt = rawString(x.fields["lastUpdated"]) + "|" + rawString(x.fields["date"])
		r.observe(x)
		out.recs = append(out.recs, x)
	}
	for _, rj := range rejected {
		x := rec{id: rj.ID}
		_ = json.Unmarshal(rj.Raw, &x.fields)
		x.alt = rawString(x.fields["lastUpdated"]) + "|" + rawString(x.fields["date"])
		out.recs = append(out.recs, x)
	}
	return out, nil
}

// observe records the shape of one decoded record.
func (r *run) observe(x rec) {
	if x.tx.IsPending() {
		v, ok := x.fields["datePosted"]
		switch {
		case !ok:
			r.datePosted[DatePostedMissing]++
		case string(bytes.TrimSpace(v)) == "null":
			r.datePosted[DatePostedNull]++
		default:
			r.datePosted[DatePostedPresent]++
		}
	}
	if e := x.tx.Enrichments; e != nil {
		switch c := string(e.ExpenseCategory); {
		case c == notEnriched:
			r.f.NotEnriched++
		case !listed(c):
			r.unlisted[c] = true
		}
	}
}

func rawString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// measure runs every measurement in turn.
func (r *run) measure() error {
	r.datePosted, r.unlisted = map[string]int{}, map[string]bool{}
	r.f = Findings{
		RefreshRotates: Unknown, Offset: Unknown, UpdatedSince: Unknown, OrderSince: Unknown, OrderUpdatedSince: Unknown,
		Inactivated: Unknown, PendingPostMovesLastUpdated: Unknown, ModificationMovesLastUpdated: Unknown, PendingDatePosted: Unknown,
	}
	if err := r.measureTokens(); err != nil {
		return err
	}
	if err := r.tick(); err != nil {
		return err
	}
	list, err := r.session.Accounts(r.ctx)
	if err != nil {
		return err
	}
	accounts := r.ownAccounts(list.Accounts)
	if len(accounts) == 0 {
		r.note("the user has no account of the institution's own: nothing to measure")
		r.finish()
		return nil
	}
	if err := r.measureTransactions(accounts); err != nil {
		return err
	}
	r.finish()
	return nil
}

// finish turns the tallies into findings.
func (r *run) finish() {
	switch kinds := len(r.datePosted); {
	case kinds == 1:
		for k := range r.datePosted {
			r.f.PendingDatePosted = k
		}
	case kinds > 1:
		r.f.PendingDatePosted = Inconsistent
	}
	r.f.UnlistedCategories = []string{}
	for c := range r.unlisted {
		r.f.UnlistedCategories = append(r.f.UnlistedCategories, c)
	}
	slices.Sort(r.f.UnlistedCategories)
}

// measureTokens refreshes once (persisting a rotated token) and measures
// the access token's lifetime.
func (r *run) measureTokens() error {
	if err := r.tick(); err != nil {
		return err
	}
	before := time.Now()
	if _, err := r.tokens.AccessToken(r.ctx); err != nil {
		return err
	}
	after := time.Now()
	info, ok := r.tokens.LastRefresh()
	if !ok {
		return errors.New("the token source did not refresh")
	}
	r.f.RefreshRotates = No
	if info.Rotated {
		r.f.RefreshRotates = Yes
	}
	if info.Expiry.IsZero() {
		r.note("the token response carried no expires_in")
		return nil
	}
	r.f.AccessTokenSecondsMin = int(math.Floor(info.Expiry.Sub(after).Seconds()))
	r.f.AccessTokenSecondsMax = int(math.Ceil(info.Expiry.Sub(before).Seconds()))
	mid := before.Add(after.Sub(before) / 2)
	r.f.AccessTokenSeconds = int(math.Round(info.Expiry.Sub(mid).Seconds()))
	return nil
}

// ownAccounts counts the external accounts and returns up to candidates
// accounts of the institution itself, cards and deposits first.
func (r *run) ownAccounts(all []consumerapi.Account) []consumerapi.Account {
	seen := map[string]int{}
	for _, a := range all {
		if a.Institution != nil && a.Institution.ID != "" {
			seen[a.Institution.ID]++
		}
	}
	home, most := "", 0
	for id, n := range seen {
		if n > most || (n == most && id < home) {
			home, most = id, n
		}
	}
	var own []consumerapi.Account
	for _, a := range all {
		if a.Institution != nil && a.Institution.ID != "" && a.Institution.ID != home {
			r.f.ExternalAccounts++
			continue
		}
		own = append(own, a)
	}
	rank := func(t consumerapi.AccountType) int {
		switch t {
		case consumerapi.AccountTypeLineOfCredit:
			return 0
		case consumerapi.AccountTypeDeposit:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(own, func(a, b consumerapi.Account) int { return cmp.Compare(rank(a.AccountType), rank(b.AccountType)) })
	return own[:min(len(own), candidates)]
}

// measureTransactions runs the page, offset, updatedSince, order and
// inactivation measurements on the busiest candidate account.
func (r *run) measureTransactions(accounts []consumerapi.Account) error {
	var (
		acct  consumerapi.Account
		first *page
	)
	for _, a := range accounts {
		p, err := r.get(a.ID, consumerapi.TransactionQuery{Limit: maxLimit})
		if err != nil {
			return err
		}
		better := first == nil ||
			(len(p.inact) > 0) != (len(first.inact) > 0) && len(p.inact) > 0 ||
			(len(p.inact) > 0) == (len(first.inact) > 0) && len(p.recs) > len(first.recs)
		if better {
			acct, first = a, p
		}
	}
	r.f.AccountType, r.f.AccountRows = string(acct.AccountType), len(first.recs)
	r.evidence.Account = digest([]byte(acct.ID))
	n := len(first.recs)
	switch {
	case first.limit > 0 && first.limit < maxLimit:
		r.f.PageCap = first.limit
	case n >= maxLimit:
		r.f.PageCap = maxLimit
	}

	// offset: the offset=1 page must be the offset=0 page shifted by one.
	plainLater := Unknown
	if n >= 3 {
		k := min(offsetProbeRows, n-1)
		p, err := r.get(acct.ID, consumerapi.TransactionQuery{Offset: 1, Limit: k})
		if err != nil {
			return err
		}
		switch {
		case sameSequence(p.recs, first.recs[1:1+k]):
			r.f.Offset = OffsetHonoured
		case sameSequence(p.recs, first.recs[:k]):
			r.f.Offset = OffsetIgnored
		default:
			r.f.Offset = Inconsistent
		}
		plainLater = yesNo(len(p.inact) > 0)
	} else {
		r.note("too few transactions (%d) to test offset", n)
	}
	if r.f.PageCap == 0 && n > 0 {
		r.f.PageCapAtLeast = n
		if r.f.Offset == OffsetHonoured {
			// The bank did not say which limit it used: are there rows
			// after the first page?
			p, err := r.get(acct.ID, consumerapi.TransactionQuery{Offset: n, Limit: maxLimit})
			if err != nil {
				return err
			}
			if len(p.recs) > 0 {
				r.f.PageCap, r.f.PageCapAtLeast = n, 0
			}
		}
	}
	r.limit = maxLimit
	if r.f.PageCap > 0 {
		r.limit = r.f.PageCap
	}

	// The recent window: evidence for the next run and the since order.
	recent, leaves, err := r.window(acct.ID, r.now.Add(-recentWindow), r.now, 0)
	if err != nil {
		return err
	}
	r.sample(recent)
	if err := r.measureSinceOrder(acct.ID, leaves); err != nil {
		return err
	}
	if err := r.measureUpdatedSince(acct.ID); err != nil {
		return err
	}
	if err := r.measureInactivated(acct.ID, first, plainLater); err != nil {
		return err
	}
	return r.compareWithPrevious(accounts)
}

// leaf is one since/until query whose page held every match.
type leaf struct {
	q    consumerapi.TransactionQuery
	recs []rec
}

// window reads every row posted in [from, to] with since/until only,
// halving a window whose page is full.
func (r *run) window(accountID string, from, to time.Time, depth int) ([]rec, []leaf, error) {
	q := consumerapi.TransactionQuery{Since: from, Until: to, Limit: r.limit}
	p, err := r.get(accountID, q)
	if err != nil {
		return nil, nil, err
	}
	if !p.full(r.limit) {
		return p.recs, []leaf{{q, p.recs}}, nil
	}
	if depth >= maxSplits || to.Sub(from) < 2*time.Millisecond {
		r.note("the window %s to %s holds more than a page", from.Format(time.RFC3339), to.Format(time.RFC3339))
		return p.recs, nil, nil
	}
	mid := from.Add(to.Sub(from) / 2).Truncate(time.Millisecond)
	a, la, err := r.window(accountID, from, mid, depth+1)
	if err != nil {
		return nil, nil, err
	}
	b, lb, err := r.window(accountID, mid, to, depth+1)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range b {
		if !contains(a, x) {
			a = append(a, x)
		}
	}
	return a, append(la, lb...), nil
}

// sample keeps the evidence of the recent rows.
func (r *run) sample(recs []rec) {
	for _, x := range recs {
		if !x.decoded || x.id == "" {
			continue
		}
		r.evidence.Rows = append(r.evidence.Rows, sampleRow(x))
	}
	slices.SortFunc(r.evidence.Rows, func(a, b SampleRow) int { return b.At.Compare(a.At) })
	r.evidence.Rows = r.evidence.Rows[:min(len(r.evidence.Rows), maxSample)]
}

func sampleRow(x rec) SampleRow {
	at := x.tx.DatePosted.Time
	if at.IsZero() {
		at = x.tx.Date.Time
	}
	content := map[string]json.RawMessage{}
	for k, v := range x.fields {
		if k != "lastUpdated" && k != "runningBalance" {
			content[k] = v
		}
	}
	b, _ := json.Marshal(content) // sorted keys
	return SampleRow{ID: digest([]byte(x.id)), LastUpdated: x.tx.LastUpdated.Time.UTC(), Pending: x.tx.IsPending(), At: at.UTC(), Content: digest(b)}
}

// orderStable reads the query's matches (want, from one page) again in
// small pages and compares the sequences.
func (r *run) orderStable(accountID string, q consumerapi.TransactionQuery, want []rec) (string, error) {
	k := (len(want) + 2) / 3
	var got []rec
	for off := 0; off < len(want); off += k {
		q.Offset, q.Limit = off, k
		p, err := r.get(accountID, q)
		if err != nil {
			return "", err
		}
		got = append(got, p.recs...)
	}
	if sameSequence(got, want) {
		return OrderStable, nil
	}
	return OrderUnstable, nil
}

func (r *run) measureSinceOrder(accountID string, leaves []leaf) error {
	if r.f.Offset != OffsetHonoured {
		r.note("order across pages not tested: offset is %s", r.f.Offset)
		return nil
	}
	var best *leaf
	for i := range leaves {
		if best == nil || len(leaves[i].recs) > len(best.recs) {
			best = &leaves[i]
		}
	}
	if best == nil || len(best.recs) < minOrderRows {
		r.note("too few recent transactions to test the order of a since query")
		return nil
	}
	v, err := r.orderStable(accountID, best.q, best.recs)
	r.f.OrderSince = v
	return err
}

// measureUpdatedSince finds a small updatedSince result, tests its order
// across pages, and how the bound compares with a known row's lastUpdated.
func (r *run) measureUpdatedSince(accountID string) error {
	var (
		set   *page
		bound time.Time
	)
	try := func(days time.Duration) (bool, error) {
		b := r.now.Add(-days * 24 * time.Hour)
		p, err := r.get(accountID, consumerapi.TransactionQuery{UpdatedSince: b, Limit: r.limit})
		if err != nil || p.full(r.limit) {
			return false, err
		}
		set, bound = p, b
		return true, nil
	}
	// Three days back; ten when that is too few rows; one when too many.
	fits, err := try(3)
	switch {
	case err != nil:
		return err
	case fits && len(set.recs) < minOrderRows:
		_, err = try(10)
	case !fits:
		_, err = try(1)
	}
	if err != nil {
		return err
	}
	if set == nil {
		r.note("every updatedSince query filled a page: updatedSince not measured")
		return nil
	}
	if r.f.Offset == OffsetHonoured && len(set.recs) >= minOrderRows {
		v, err := r.orderStable(accountID, consumerapi.TransactionQuery{UpdatedSince: bound}, set.recs)
		if err != nil {
			return err
		}
		r.f.OrderUpdatedSince = v
	}

	var known *rec
	for i, x := range set.recs {
		if x.decoded && x.id != "" && !x.tx.LastUpdated.IsZero() && (known == nil || x.tx.LastUpdated.After(known.tx.LastUpdated.Time)) {
			known = &set.recs[i]
		}
	}
	if known == nil {
		r.note("no recently updated transaction: updatedSince not measured")
		return nil
	}
	lu := known.tx.LastUpdated.UTC()
	in := func(b time.Time) (string, *page, error) {
		p, err := r.get(accountID, consumerapi.TransactionQuery{UpdatedSince: b, Limit: r.limit})
		if err != nil {
			return "", nil, err
		}
		switch {
		case contains(p.recs, *known):
			return Yes, p, nil
		case p.full(r.limit):
			return Unknown, p, nil
		}
		return No, p, nil
	}
	atBound, _, err := in(lu)
	if err != nil {
		return err
	}
	afterBound, after, err := in(lu.Add(time.Millisecond))
	if err != nil {
		return err
	}
	dayStart := lu.Truncate(24 * time.Hour)
	_, day, err := in(dayStart)
	if err != nil {
		return err
	}
	switch {
	case atBound == Unknown || afterBound == Unknown:
		r.f.UpdatedSince = Unknown
	case atBound == Yes && afterBound == No:
		r.f.UpdatedSince = UpdatedSinceInclusive
	case atBound == No && afterBound == No:
		r.f.UpdatedSince = UpdatedSinceExclusive
	case atBound == Yes && afterBound == Yes && sameSet(after.recs, day.recs):
		r.f.UpdatedSince = UpdatedSinceDay
	case atBound == Yes && afterBound == Yes:
		r.f.UpdatedSince = UpdatedSinceSecond
	default:
		r.f.UpdatedSince = Inconsistent
	}
	return nil
}

func sameSet(a, b []rec) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

// measureInactivated reads an updatedSince query reaching far back in
// pages of one row, and compares with the plain pages already read.
func (r *run) measureInactivated(accountID string, first *page, plainLater string) error {
	old := r.now.Add(-2 * 365 * 24 * time.Hour)
	for _, x := range first.recs {
		if x.decoded && !x.tx.LastUpdated.IsZero() && x.tx.LastUpdated.Before(old) {
			old = x.tx.LastUpdated.Time
		}
	}
	var upd [2]bool
	for i := range upd {
		p, err := r.get(accountID, consumerapi.TransactionQuery{UpdatedSince: old, Offset: i, Limit: 1})
		if err != nil {
			return err
		}
		upd[i] = len(p.inact) > 0
	}
	plain0 := len(first.inact) > 0
	if plainLater == Unknown {
		r.note("inactivatedTransactionIds: later plain pages not read")
		return nil
	}
	later := plainLater == Yes
	switch {
	case !plain0 && !later && !upd[0] && !upd[1]:
		r.f.Inactivated = InactivatedNone
	case plain0 && later && upd[0] && upd[1]:
		r.f.Inactivated = InactivatedEveryPage
	case plain0 && !later && upd[0] && !upd[1]:
		r.f.Inactivated = InactivatedFirstPage
	case !plain0 && !later && upd[0] && upd[1]:
		r.f.Inactivated = InactivatedUpdatedSinceOnly
	default:
		r.f.Inactivated = Inconsistent
	}
	return nil
}

// compareWithPrevious re-reads the rows the previous run sampled and
// checks whether their changes moved lastUpdated.
func (r *run) compareWithPrevious(accounts []consumerapi.Account) error {
	if r.prevRun == nil {
		r.note("no previous probe of this link: whether changes move lastUpdated is unknown until the next run")
		return nil
	}
	var prev Evidence
	if err := json.Unmarshal(r.prevRun.Evidence, &prev); err != nil || len(prev.Rows) == 0 {
		r.note("the previous probe kept no evidence")
		return nil
	}
	idx := slices.IndexFunc(accounts, func(a consumerapi.Account) bool { return digest([]byte(a.ID)) == prev.Account })
	if idx < 0 {
		r.note("the account of the previous probe is gone")
		return nil
	}
	from, to := prev.Rows[0].At, prev.Rows[0].At
	for _, s := range prev.Rows {
		from, to = minTime(from, s.At), maxTime(to, s.At)
	}
	to = minTime(to.Add(postingSlack), r.now)
	if !to.After(from) {
		return nil
	}
	recs, _, err := r.window(accounts[idx].ID, from.Add(-time.Second), to, 0)
	if err != nil {
		return err
	}
	now := map[string]SampleRow{}
	for _, x := range recs {
		if x.decoded && x.id != "" {
			s := sampleRow(x)
			now[s.ID] = s
		}
	}
	movedPosts := 0
	for _, old := range prev.Rows {
		cur, ok := now[old.ID]
		if !ok || cur.Pending {
			continue
		}
		moved := !cur.LastUpdated.Equal(old.LastUpdated)
		switch {
		case old.Pending:
			r.f.PendingPostsSeen++
			if moved {
				movedPosts++
			}
		case cur.Content != old.Content:
			r.f.ModificationsSeen++
			if !moved {
				r.f.ModificationsStale++
			}
		}
	}
	r.f.PendingPostMovesLastUpdated = verdict(r.f.PendingPostsSeen, r.f.PendingPostsSeen-movedPosts)
	r.f.ModificationMovesLastUpdated = verdict(r.f.ModificationsSeen, r.f.ModificationsStale)
	return nil
}

// verdict is Unknown without evidence, No when any change left
// lastUpdated alone, else Yes.
func verdict(seen, stale int) string {
	switch {
	case seen == 0:
		return Unknown
	case stale > 0:
		return No
	}
	return Yes
}

func yesNo(b bool) string {
	if b {
		return Yes
	}
	return No
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
