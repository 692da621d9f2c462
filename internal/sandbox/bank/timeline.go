package bank

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"
)

// Pending outcomes of a record.
const (
	outNone    uint8 = iota // never pending: posted when it appears
	outPost                 // pending, then posted under the same id
	outReplace              // pending, then inactivated and replaced by a new posted id
	outDrop                 // pending, then inactivated with nothing in its place
)

// Record kinds: what a record is, which decides its memo, type and category.
const (
	kPurchase        uint8 = iota // card or debit-card purchase at a merchant
	kRecurring                    // monthly subscription billed by a merchant
	kBiller                       // utility bill paid by ACH debit
	kPaycheck                     // payroll direct deposit
	kRent                         // rent paid by ACH debit
	kXferOut                      // transfer to another own account
	kXferIn                       // transfer from another own account
	kCardPayOut                   // checking side of a credit-card payment
	kCardPayIn                    // card side of a credit-card payment
	kLoanPayOut                   // checking side of a loan payment
	kLoanPayIn                    // loan side of a loan payment
	kCloseoutOut                  // closing transfer out of an account being closed
	kCloseoutIn                   // closing transfer into checking
	kATM                          // cash withdrawal
	kCheck                        // paper check
	kFee                          // bank fee; aux selects which
	kInterestPaid                 // interest credited to a deposit account
	kInterestCharged              // interest charged on a card or loan
)

// Modifications applied to a posted record at modifiedAt.
const (
	modNone      uint8 = iota
	modRecat           // enrichment re-categorised the transaction
	modCustomCat       // user set a custom expense category
	modRename          // enrichment improved displayName and cleanMemo
	modTag             // user tagged it
	modNote            // user wrote a note
)

// record is one generated transaction on the timeline of one account. It is
// kept compact: strings are built only when a view is materialised.
type record struct {
	appears  int64 // Unix ms when it first exists
	resolves int64 // Unix ms when a pending record posts, is replaced or drops; 0 if never pending
	modified int64 // Unix ms of a later modification; 0 if none
	amount   Money // posted amount (signed as served)
	pending  Money // amount while pending
	pendSeq  uint32
	postSeq  uint32
	aux      uint32 // check number, fee kind, ...
	merchant int16  // index into merchants; -1 for none
	kind     uint8
	outcome  uint8
	mod      uint8
	peer     int8 // index of the counterpart account for transfers; -1 for none
}

// postedAt is when the record posts (meaningless for dropped records).
func (r *record) postedAt() int64 {
	if r.resolves != 0 {
		return r.resolves
	}
	return r.appears
}

// posts reports whether the record ever posts.
func (r *record) posts() bool { return r.outcome != outDrop }

// removedAt reports when the record's pending id is inactivated, if ever.
func (r *record) removedAt() (int64, bool) {
	if r.outcome == outReplace || r.outcome == outDrop {
		return r.resolves, true
	}
	return 0, false
}

// Versions: every record has a pending version (if it is ever pending) and a
// posted version (if it ever posts). The static order of versions, by datePosted
// then sequence, is computed once; a view at `now` is a filtered walk of it.
func verPending(i int) int32 { return int32(i) << 1 }
func verPosted(i int) int32  { return int32(i)<<1 | 1 }

// finishTimeline sorts an account's records by appearance, assigns sequences
// per posted date and builds the static version order.
func (a *account) finishTimeline() {
	a.sortRecords()
	type ver struct {
		t int64
		v int32
	}
	vers := make([]ver, 0, len(a.records)+len(a.records)/2)
	for i := range a.records {
		r := &a.records[i]
		if r.resolves != 0 {
			vers = append(vers, ver{r.appears, verPending(i)})
		}
		if r.posts() {
			vers = append(vers, ver{r.postedAt(), verPosted(i)})
		}
	}
	slices.SortFunc(vers, func(x, y ver) int {
		if c := cmp.Compare(x.t, y.t); c != 0 {
			return c
		}
		return cmp.Compare(x.v, y.v)
	})
	a.order = make([]int32, len(vers))
	day, seq := int64(-1<<62), uint32(0)
	for i, v := range vers {
		a.order[i] = v.v
		if d := dayOf(v.t); d != day {
			day, seq = d, 0
		}
		seq++
		r := &a.records[v.v>>1]
		if v.v&1 == 0 {
			r.pendSeq = seq
		} else {
			r.postSeq = seq
		}
	}
}

// sortRecords orders records by appearance, keeping generation order among
// records that appear at the same instant.
func (a *account) sortRecords() {
	type key struct {
		t int64
		i int32
	}
	keys := make([]key, len(a.records))
	sorted := true
	for i := range a.records {
		keys[i] = key{a.records[i].appears, int32(i)}
		sorted = sorted && (i == 0 || keys[i-1].t <= keys[i].t)
	}
	if sorted {
		return
	}
	slices.SortFunc(keys, func(x, y key) int {
		if c := cmp.Compare(x.t, y.t); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	out := make([]record, len(a.records))
	for j, k := range keys {
		out[j] = a.records[k.i]
	}
	a.records = out
}

// entry is one transaction of a view, in served order.
type entry struct {
	posted  int64 // datePosted, Unix ms
	updated int64 // lastUpdated, Unix ms
	running Money // balance after this entry (posted entries only)
	ver     int32 // record index << 1 | posted bit
}

func (e entry) rec() int       { return int(e.ver >> 1) }
func (e entry) isPosted() bool { return e.ver&1 == 1 }

// view is an account as seen at one instant; immutable once built. Nothing in
// it changes between two consecutive events of the account's timeline, so it
// serves every instant in [from, until).
type view struct {
	from, until int64
	entries     []entry
	balance     Money
	holds       Money    // pending amounts not yet in the balance, signed as served
	removedIDs  []string // ids inactivated at or before now, sorted
	removedAt   []int64  // when each of removedIDs was inactivated
}

// viewCacheSize is how many views are cached per account.
const viewCacheSize = 4

// viewCache is a small per-account cache of views keyed by the span of
// instants they serve.
type viewCache struct {
	mu    sync.Mutex
	views [viewCacheSize]*view
	next  int
}

// viewAt returns the account's view at now, building and caching it if needed.
func (b *Bank) viewAt(u *user, a *account, now int64) *view {
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	for _, v := range a.cache.views {
		if v != nil && v.from <= now && now < v.until {
			return v
		}
	}
	v := b.buildView(u, a, now)
	a.cache.views[a.cache.next] = v
	a.cache.next = (a.cache.next + 1) % viewCacheSize
	return v
}

// buildView derives the account's state at now from its timeline.
func (b *Bank) buildView(u *user, a *account, now int64) *view {
	v := &view{from: math.MinInt64, until: math.MaxInt64}
	// Records are sorted by appearance: only the first n can be visible.
	n := sort.Search(len(a.records), func(i int) bool { return a.records[i].appears > now })
	if n < len(a.records) {
		v.until = a.records[n].appears
	}
	visible := 0
	for i := range n {
		r := &a.records[i]
		if r.resolves == 0 || r.resolves > now || r.posts() {
			visible++
		}
		// The view holds from the latest event at or before now until the
		// next event after it.
		for _, at := range [3]int64{r.appears, r.resolves, r.modified} {
			switch {
			case at == 0:
			case at <= now:
				v.from = max(v.from, at)
			default:
				v.until = min(v.until, at)
			}
		}
	}
	v.entries = make([]entry, 0, visible)
	bal := a.opening
	for _, ver := range a.order {
		r := &a.records[ver>>1]
		if ver&1 == 0 {
			if r.appears > now {
				break
			}
			if now < r.resolves {
				v.entries = append(v.entries, entry{posted: r.appears, updated: r.appears, ver: ver})
				v.holds += r.pending
			}
			continue
		}
		t := r.postedAt()
		if t > now {
			break
		}
		bal += r.amount
		upd := t
		if r.modified != 0 && r.modified <= now && r.modified > upd {
			upd = r.modified
		}
		v.entries = append(v.entries, entry{posted: t, updated: upd, running: bal, ver: ver})
	}
	v.balance = bal

	type gone struct {
		id uuid
		at int64
	}
	var removed []gone
	for i := range n {
		if at, ok := a.records[i].removedAt(); ok && at <= now {
			removed = append(removed, gone{b.txnUUID(u, a, i, false), at})
		}
	}
	// The canonical text form of a UUID sorts like its bytes.
	slices.SortFunc(removed, func(x, y gone) int { return slices.Compare(x.id[:], y.id[:]) })
	v.removedIDs = make([]string, len(removed))
	v.removedAt = make([]int64, len(removed))
	for i, g := range removed {
		v.removedIDs[i] = formatUUID(g.id)
		v.removedAt[i] = g.at
	}
	return v
}
