package probe

import (
	"slices"
	"strconv"
)

// Values of the findings. Unknown means the probe found no evidence.
const (
	Unknown      = "unknown"
	Yes          = "yes"
	No           = "no"
	Inconsistent = "inconsistent"

	OffsetHonoured = "honoured"
	OffsetIgnored  = "ignored"

	UpdatedSinceInclusive = "inclusive"
	UpdatedSinceExclusive = "exclusive"
	UpdatedSinceSecond    = "second"
	UpdatedSinceDay       = "day"

	OrderStable   = "stable"
	OrderUnstable = "unstable"

	InactivatedEveryPage        = "every-page"
	InactivatedFirstPage        = "first-page"
	InactivatedUpdatedSinceOnly = "updated-since-only"
	InactivatedNone             = "none"

	DatePostedPresent = "present"
	DatePostedNull    = "null"
	DatePostedMissing = "missing"
)

// Findings are what one probe run measured. Every string field holds one
// of the values above; Unknown when there was no evidence.
type Findings struct {
	// AccountType is the type of the account the transaction measurements
	// used; AccountRows the rows of its first page.
	AccountType string `json:"accountType"`
	AccountRows int    `json:"accountRows"`

	// RefreshRotates: a refresh returned a new refresh token.
	RefreshRotates string `json:"refreshRotates"`
	// AccessTokenSeconds is the access token lifetime (expires_in), within
	// [AccessTokenSecondsMin, AccessTokenSecondsMax] given the request's
	// round trip; 0 when the bank did not say.
	AccessTokenSeconds    int `json:"accessTokenSeconds"`
	AccessTokenSecondsMin int `json:"accessTokenSecondsMin"`
	AccessTokenSecondsMax int `json:"accessTokenSecondsMax"`

	// PageCap is the most rows one page holds when limit=500 is asked
	// (500: no cap); 0 when the account had too few rows to tell, then
	// PageCapAtLeast is the most rows seen on a page.
	PageCap        int `json:"pageCap"`
	PageCapAtLeast int `json:"pageCapAtLeast,omitempty"`
	// Offset: honoured or ignored (offset=1 served the offset=0 page).
	Offset string `json:"offset"`
	// UpdatedSince: inclusive or exclusive at millisecond precision, or
	// compared at second or day precision.
	UpdatedSince string `json:"updatedSince"`
	// OrderSince and OrderUpdatedSince: whether a since (resp.
	// updatedSince) query cut in small pages gives the same sequence as
	// one page.
	OrderSince        string `json:"orderSince"`
	OrderUpdatedSince string `json:"orderUpdatedSince"`
	// Inactivated: on which pages inactivatedTransactionIds is filled
	// (none: never seen on any page).
	Inactivated string `json:"inactivatedTransactionIds"`
	// PendingPostMovesLastUpdated and ModificationMovesLastUpdated compare
	// rows with the previous run: a pending row that posted under the same
	// id, a posted row whose content changed.
	PendingPostMovesLastUpdated  string `json:"pendingPostMovesLastUpdated"`
	ModificationMovesLastUpdated string `json:"modificationMovesLastUpdated"`
	// PendingPostsSeen and ModificationsSeen count that evidence;
	// ModificationsStale the modifications whose lastUpdated did not move.
	PendingPostsSeen   int `json:"pendingPostsSeen"`
	ModificationsSeen  int `json:"modificationsSeen"`
	ModificationsStale int `json:"modificationsStale"`
	// PendingDatePosted: how pending rows carry datePosted.
	PendingDatePosted string `json:"pendingDatePosted"`
	// MalformedRecords counts records that did not decode.
	MalformedRecords int `json:"malformedRecords"`
	// ExternalAccounts counts accounts held at another institution.
	ExternalAccounts int `json:"externalAccounts"`
	// NotEnriched counts rows categorised "Not enriched";
	// UnlistedCategories are categories outside the documented list.
	NotEnriched        int      `json:"notEnriched"`
	UnlistedCategories []string `json:"unlistedCategories"`
	// Notes explain findings left unknown.
	Notes []string `json:"notes,omitempty"`
}

// Order combines the two order findings: unstable if either is, stable if
// one is stable and the other not unstable, else unknown.
func (f Findings) Order() string {
	switch {
	case f.OrderSince == OrderUnstable || f.OrderUpdatedSince == OrderUnstable:
		return OrderUnstable
	case f.OrderSince == OrderStable || f.OrderUpdatedSince == OrderStable:
		return OrderStable
	}
	return Unknown
}

// ProfileWire is what a sandbox behaviour profile looks like on the wire,
// in the probe's terms (docs/sandbox.md, "Profiles").
type ProfileWire struct {
	Name              string
	PageCap           int
	Offset            string
	UpdatedSince      string
	Order             string
	Inactivated       string
	PendingDatePosted string
	Malformed         bool
	External          bool
	NotEnriched       bool
	Unlisted          bool
	// ModificationMoves is No when modifications leave lastUpdated alone.
	ModificationMoves string
}

// documented is the wire of the documented ideal.
var documented = ProfileWire{
	Name: "documented", PageCap: 500, Offset: OffsetHonoured, UpdatedSince: UpdatedSinceInclusive, Order: OrderStable,
	Inactivated: InactivatedEveryPage, PendingDatePosted: DatePostedPresent, ModificationMoves: Yes,
}

// with returns documented changed by f, named name.
func with(name string, f func(*ProfileWire)) ProfileWire {
	p := documented
	p.Name = name
	f(&p)
	return p
}

// Profiles are the sandbox's named behaviour profiles as the probe sees
// them. A silently dropped or replaced pending is not visible on the wire:
// silent-pending shows no inactivated ids at all.
var Profiles = []ProfileWire{
	documented,
	with("lazy-inactivation", func(p *ProfileWire) { p.Inactivated = InactivatedFirstPage }),
	with("silent-pending", func(p *ProfileWire) { p.Inactivated = InactivatedNone }),
	with("stale-last-updated", func(p *ProfileWire) { p.UpdatedSince, p.ModificationMoves = UpdatedSinceExclusive, No }),
	with("coarse-updated-since", func(p *ProfileWire) {
		p.UpdatedSince, p.Inactivated = UpdatedSinceDay, InactivatedUpdatedSinceOnly
	}),
	with("unstable-paging", func(p *ProfileWire) { p.Order, p.PageCap = OrderUnstable, 200 }),
	with("broken-offset", func(p *ProfileWire) { p.Offset, p.PageCap = OffsetIgnored, 100 }),
	with("sloppy-records", func(p *ProfileWire) { p.PendingDatePosted, p.Malformed = DatePostedNull, true }),
	with("aggregator", func(p *ProfileWire) { p.External, p.NotEnriched, p.Unlisted = true, true, true }),
	with("worst-case", func(p *ProfileWire) {
		p.Inactivated, p.ModificationMoves, p.UpdatedSince, p.Order, p.PageCap = InactivatedNone, No, UpdatedSinceDay, OrderUnstable, 100
		p.PendingDatePosted, p.Malformed, p.External, p.NotEnriched, p.Unlisted = DatePostedMissing, true, true, true, true
	}),
}

// Mismatches lists the findings that contradict profile p. Unknown
// findings, and signs whose absence proves nothing (malformed records,
// categories), never contradict.
func (f Findings) Mismatches(p ProfileWire) []string {
	var out []string
	differ := func(name, got, want string) {
		if got != Unknown && got != "" && got != want {
			out = append(out, name+": "+got+", profile "+want)
		}
	}
	switch {
	case f.PageCap > 0 && f.PageCap != p.PageCap:
		out = append(out, "page cap: "+strconv.Itoa(f.PageCap)+", profile "+strconv.Itoa(p.PageCap))
	case f.PageCap == 0 && f.PageCapAtLeast > p.PageCap:
		out = append(out, "page cap: at least "+strconv.Itoa(f.PageCapAtLeast)+", profile "+strconv.Itoa(p.PageCap))
	}
	differ("offset", f.Offset, p.Offset)
	differ("updatedSince", f.UpdatedSince, p.UpdatedSince)
	differ("order", f.Order(), p.Order)
	differ("inactivatedTransactionIds", f.Inactivated, p.Inactivated)
	differ("pending datePosted", f.PendingDatePosted, p.PendingDatePosted)
	differ("modification moves lastUpdated", f.ModificationMovesLastUpdated, p.ModificationMoves)
	if f.MalformedRecords > 0 && !p.Malformed {
		out = append(out, "malformed records seen")
	}
	if (f.ExternalAccounts > 0) != p.External {
		out = append(out, "external accounts: "+strconv.Itoa(f.ExternalAccounts))
	}
	if f.NotEnriched > 0 && !p.NotEnriched {
		out = append(out, "\"Not enriched\" history seen")
	}
	if len(f.UnlistedCategories) > 0 && !p.Unlisted {
		out = append(out, "unlisted categories seen")
	}
	return out
}

// Match returns the profiles the findings are consistent with, in the
// order of Profiles; when none is, the closest ones (fewest mismatches)
// and their mismatches.
func (f Findings) Match() (matches []string, closest []string, differences []string) {
	best := -1
	for _, p := range Profiles {
		mm := f.Mismatches(p)
		if len(mm) == 0 {
			matches = append(matches, p.Name)
		}
		switch {
		case best < 0 || len(mm) < best:
			best, closest, differences = len(mm), []string{p.Name}, mm
		case len(mm) == best:
			closest = append(closest, p.Name)
		}
	}
	if len(matches) > 0 {
		return matches, nil, nil
	}
	return nil, closest, differences
}

// Setting is one piece of configuration the findings call for.
type Setting struct {
	// Name is the setting (a jobs.SyncConfig field and its environment
	// variable, when it has one).
	Name string `json:"name"`
	// Value is the value to use.
	Value string `json:"value"`
	// Why names the finding behind it.
	Why string `json:"why"`
}

// Settings returns the sync settings that fit the findings
// (docs/bank-behaviours.md).
func (f Findings) Settings() []Setting {
	var out []Setting
	add := func(name, value, why string) { out = append(out, Setting{name, value, why}) }
	if f.PageCap > 0 && f.PageCap < 500 {
		add("PageSize", strconv.Itoa(f.PageCap), "the bank serves at most "+strconv.Itoa(f.PageCap)+" rows per page")
	}
	if f.Offset == OffsetIgnored {
		add("(none)", "unsupported", "offset is ignored: incremental paging ends with error class repeated_page; only the reconciliation's since/until reads work")
	}
	switch f.UpdatedSince {
	case UpdatedSinceExclusive:
		add("Overlap (PFMSYNC_UPDATED_SINCE_OVERLAP)", "at least 1s", "updatedSince is exclusive: a row updated at the watermark is skipped without overlap")
	case UpdatedSinceSecond:
		add("Overlap (PFMSYNC_UPDATED_SINCE_OVERLAP)", "at least 2s", "updatedSince compares whole seconds")
	case UpdatedSinceDay:
		add("Overlap (PFMSYNC_UPDATED_SINCE_OVERLAP)", "at least 24h", "updatedSince compares days; the reconciliation repairs what the feed still misses")
	}
	if f.Order() == OrderUnstable {
		add("ReconcileEvery", "24h or less (never disabled)", "order is unstable across pages of since/updatedSince queries: rows are skipped or repeated")
	}
	switch f.Inactivated {
	case InactivatedFirstPage, InactivatedUpdatedSinceOnly, InactivatedNone:
		add("ReconcileEvery, StalePendingAge", "24h or less; 14 days", "inactivatedTransactionIds is "+f.Inactivated+": dropped pendings are found by the reconciliation pass and the stale-pending rule")
	}
	if f.ModificationMovesLastUpdated == No {
		add("ReconcileWindow", "45 days or more", "modifications do not move lastUpdated: only the reconciliation's re-read sees them")
	}
	if f.RefreshRotates == Yes {
		add("(none)", "handled", "refresh tokens rotate: each refresh is persisted before any other call (never run two copies of one link's token)")
	}
	return out
}

// documentedCategories are the expense categories Banno documents.
var documentedCategories = []string{
	"clothing", "diningout", "education", "entertainment", "fees", "groceries", "health", "home", "income",
	"payment", "personal", "savings", "transfer", "transportation", "travel", "utilities",
}

// notEnriched is the category of history processed before enrichment.
const notEnriched = "Not enriched"

// listed reports whether c is a documented category (or empty).
func listed(c string) bool { return c == "" || slices.Contains(documentedCategories, c) }
