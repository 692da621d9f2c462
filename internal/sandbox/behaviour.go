package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Behaviour selects how the institution answers where Banno's documentation
// leaves a gap (the "[gap]" facts of the API notes). The zero value is the
// sandbox's default: the documented ideal, byte-identical to a sandbox built
// without it. Every option is described on the wire in docs/sandbox.md.
//
// Feed options change only what the Consumer API serves, never the ground
// truth ([Server.Truth]): a perfect sync must still end up holding the
// truth. Data options (ExternalAccounts, NotEnrichedDays,
// UnlistedCategories) change what the bank holds, so the truth shows them.
type Behaviour struct {
	// Profile names the bundle this behaviour started from (informational).
	Profile string `json:"profile,omitempty"`

	// SilentPendingRemoval leaves pending authorisations out of
	// inactivatedTransactionIds: "dropped" (those that dropped), "replaced"
	// (those replaced by a new posted id) or "all". They simply stop being
	// returned. Empty: every one is listed.
	SilentPendingRemoval string `json:"silentPendingRemoval,omitempty"`
	// StaleLastUpdated: later modifications (category, name, tags, notes)
	// change the served values but not lastUpdated, which stays at the
	// posting instant; updatedSince compares that stale value.
	StaleLastUpdated bool `json:"staleLastUpdated,omitempty"`
	// InactivatedIDs says on which pages inactivatedTransactionIds is
	// filled: "every-page" (empty: the default), "first-page" (only when the
	// request's offset is 0 or absent), "updated-since-only" (only for
	// updatedSince queries) or "never" (always []).
	InactivatedIDs string `json:"inactivatedIds,omitempty"`
	// UpdatedSince is how updatedSince compares lastUpdated (and
	// inactivation instants): "inclusive" (empty: at or after the bound),
	// "exclusive" (strictly after) or "day" (the bound's time of day is
	// ignored: anything on or after the bound's UTC date).
	UpdatedSince string `json:"updatedSince,omitempty"`
	// UnstableOrder shuffles the matches of a since or updatedSince query
	// before paging, with a permutation derived from the seed and the whole
	// request (offset included): each page is cut from a different order,
	// so rows are skipped or repeated across pages.
	UnstableOrder bool `json:"unstableOrder,omitempty"`
	// MaxPageLimit caps limit below the documented 500; the page echoes the
	// limit it used. Zero: Options.MaxPageLimit, if any.
	MaxPageLimit int `json:"maxPageLimit,omitempty"`
	// IgnoreOffset serves every paginated request from offset 0 (the same
	// page again) while echoing the offset asked for.
	IgnoreOffset bool `json:"ignoreOffset,omitempty"`
	// PendingDatePosted is how InstitutionPending rows carry datePosted:
	// "null" or "missing" (the key is left out); empty: the instant. The
	// date field keeps the instant.
	PendingDatePosted string `json:"pendingDatePosted,omitempty"`
	// MalformedRecord, when set, corrupts one record of some pages.
	MalformedRecord *MalformedRecord `json:"malformedRecord,omitempty"`

	// ExternalAccounts adds to every user's account list an account held at
	// another institution (its own institution id and name), shared by the
	// pair of users 2k-1 and 2k (same id, same data); its transaction list
	// is empty.
	ExternalAccounts bool `json:"externalAccounts,omitempty"`
	// NotEnrichedDays, when positive, marks history posted more than this
	// many days before the bank's start as processed before enrichment:
	// expenseCategory "Not enriched", displayName and cleanMemo the core
	// memo, no merchant, filteredMemo, display city/state, merchantId or logo.
	NotEnrichedDays int `json:"notEnrichedDays,omitempty"`
	// UnlistedCategories moves about one in four transactions categorised
	// entertainment, personal, home or health to a category outside the
	// documented list: "subscriptions", "gifts & donations", "kids", "pets".
	UnlistedCategories bool `json:"unlistedCategories,omitempty"`
}

// MalformedRecord describes the one bad record of an otherwise good page.
type MalformedRecord struct {
	// Kind is "amount" (amount "NaN", a string that is not a decimal),
	// "amount-number" (amount a JSON number) or "missing-id" (no id key).
	Kind string `json:"kind"`
	// Rate is the share of non-empty pages carrying one (0-1; 0 = every
	// page), chosen deterministically from the seed and the request.
	Rate float64 `json:"rate,omitempty"`
	// Position is the record's index in the page (clamped to the page);
	// negative counts from the end (-1 is the last record).
	Position int `json:"position,omitempty"`
}

// Values of the Behaviour's string options.
const (
	RemovalDropped  = "dropped"
	RemovalReplaced = "replaced"
	RemovalAll      = "all"

	InactivatedEveryPage        = "every-page"
	InactivatedFirstPage        = "first-page"
	InactivatedUpdatedSinceOnly = "updated-since-only"
	InactivatedNever            = "never"

	UpdatedSinceInclusive = "inclusive"
	UpdatedSinceExclusive = "exclusive"
	UpdatedSinceDay       = "day"

	DatePostedNull    = "null"
	DatePostedMissing = "missing"

	MalformedAmount       = "amount"
	MalformedAmountNumber = "amount-number"
	MalformedMissingID    = "missing-id"
)

// Validate reports the first invalid option.
func (b Behaviour) Validate() error {
	check := func(name, v string, allowed ...string) error {
		if v == "" || slices.Contains(allowed, v) {
			return nil
		}
		return fmt.Errorf("%s %q: want one of %v", name, v, allowed)
	}
	errs := []error{
		check("silentPendingRemoval", b.SilentPendingRemoval, RemovalDropped, RemovalReplaced, RemovalAll),
		check("inactivatedIds", b.InactivatedIDs, InactivatedEveryPage, InactivatedFirstPage, InactivatedUpdatedSinceOnly, InactivatedNever),
		check("updatedSince", b.UpdatedSince, UpdatedSinceInclusive, UpdatedSinceExclusive, UpdatedSinceDay),
		check("pendingDatePosted", b.PendingDatePosted, DatePostedNull, DatePostedMissing),
	}
	if b.MaxPageLimit < 0 || b.MaxPageLimit > maxLimit {
		errs = append(errs, fmt.Errorf("maxPageLimit must be in 0..%d, got %d", maxLimit, b.MaxPageLimit))
	}
	if b.NotEnrichedDays < 0 {
		errs = append(errs, fmt.Errorf("notEnrichedDays must not be negative, got %d", b.NotEnrichedDays))
	}
	if m := b.MalformedRecord; m != nil {
		if m.Kind == "" {
			errs = append(errs, errors.New("malformedRecord.kind is required"))
		}
		errs = append(errs, check("malformedRecord.kind", m.Kind, MalformedAmount, MalformedAmountNumber, MalformedMissingID))
		if !(m.Rate >= 0 && m.Rate <= 1) {
			errs = append(errs, fmt.Errorf("malformedRecord.rate must be in 0..1, got %g", m.Rate))
		}
	}
	return errors.Join(errs...)
}

// IsZero reports whether b is the default behaviour (Profile aside).
func (b Behaviour) IsZero() bool {
	b.Profile = ""
	return b == Behaviour{}
}

// ActiveOption is one option that departs from the default.
type ActiveOption struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Active lists the options that depart from the default, in a fixed order.
func (b Behaviour) Active() []ActiveOption {
	out := []ActiveOption{}
	add := func(on bool, name string, v any) {
		if on {
			out = append(out, ActiveOption{Name: name, Value: v})
		}
	}
	add(b.SilentPendingRemoval != "", "silentPendingRemoval", b.SilentPendingRemoval)
	add(b.StaleLastUpdated, "staleLastUpdated", true)
	add(b.InactivatedIDs != "" && b.InactivatedIDs != InactivatedEveryPage, "inactivatedIds", b.InactivatedIDs)
	add(b.UpdatedSince != "" && b.UpdatedSince != UpdatedSinceInclusive, "updatedSince", b.UpdatedSince)
	add(b.UnstableOrder, "unstableOrder", true)
	add(b.MaxPageLimit > 0, "maxPageLimit", b.MaxPageLimit)
	add(b.IgnoreOffset, "ignoreOffset", true)
	add(b.PendingDatePosted != "", "pendingDatePosted", b.PendingDatePosted)
	if b.MalformedRecord != nil {
		add(true, "malformedRecord", *b.MalformedRecord)
	}
	add(b.ExternalAccounts, "externalAccounts", true)
	add(b.NotEnrichedDays > 0, "notEnrichedDays", b.NotEnrichedDays)
	add(b.UnlistedCategories, "unlistedCategories", true)
	return out
}

// clone returns a copy of b that shares no pointer with it.
func (b Behaviour) clone() Behaviour {
	if b.MalformedRecord != nil {
		m := *b.MalformedRecord
		b.MalformedRecord = &m
	}
	return b
}

// NamedProfile is a named bundle of options.
type NamedProfile struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Behaviour   Behaviour `json:"behaviour"`
}

// profiles are the named bundles, each a plausible Banno institution.
var profiles = []NamedProfile{
	{Name: "documented", Description: "the default: every gap filled the friendliest documented way",
		Behaviour: Behaviour{}},
	{Name: "lazy-inactivation", Description: "dropped pendings vanish silently; inactivated ids only on the first page",
		Behaviour: Behaviour{SilentPendingRemoval: RemovalDropped, InactivatedIDs: InactivatedFirstPage}},
	{Name: "silent-pending", Description: "no pending removal is ever announced: dropped and replaced pendings just stop being returned",
		Behaviour: Behaviour{SilentPendingRemoval: RemovalAll}},
	{Name: "stale-last-updated", Description: "modifications keep lastUpdated; updatedSince is exclusive",
		Behaviour: Behaviour{StaleLastUpdated: true, UpdatedSince: UpdatedSinceExclusive}},
	{Name: "coarse-updated-since", Description: "updatedSince at day precision; inactivated ids only for updatedSince queries",
		Behaviour: Behaviour{UpdatedSince: UpdatedSinceDay, InactivatedIDs: InactivatedUpdatedSinceOnly}},
	{Name: "unstable-paging", Description: "since/updatedSince matches in a different order on every page; pages of at most 200",
		Behaviour: Behaviour{UnstableOrder: true, MaxPageLimit: 200}},
	{Name: "broken-offset", Description: "offset ignored (the same page again); pages of at most 100",
		Behaviour: Behaviour{IgnoreOffset: true, MaxPageLimit: 100}},
	{Name: "sloppy-records", Description: "pending rows with a null datePosted; one in ten pages has a record whose amount is not a decimal",
		Behaviour: Behaviour{PendingDatePosted: DatePostedNull, MalformedRecord: &MalformedRecord{Kind: MalformedAmount, Rate: 0.1, Position: -1}}},
	{Name: "aggregator", Description: "external accounts from another institution, history older than 60 days not enriched, categories outside the list",
		Behaviour: Behaviour{ExternalAccounts: true, NotEnrichedDays: 60, UnlistedCategories: true}},
	{Name: "worst-case", Description: "every gap at its least helpful, except the ignored offset",
		Behaviour: Behaviour{SilentPendingRemoval: RemovalAll, StaleLastUpdated: true, InactivatedIDs: InactivatedNever,
			UpdatedSince: UpdatedSinceDay, UnstableOrder: true, MaxPageLimit: 100, PendingDatePosted: DatePostedMissing,
			MalformedRecord:  &MalformedRecord{Kind: MalformedMissingID, Rate: 0.05},
			ExternalAccounts: true, NotEnrichedDays: 60, UnlistedCategories: true}},
}

// Profiles returns the named profiles.
func Profiles() []NamedProfile {
	out := make([]NamedProfile, len(profiles))
	for i, p := range profiles {
		out[i] = p
		out[i].Behaviour = p.Behaviour.clone()
		out[i].Behaviour.Profile = p.Name
	}
	return out
}

// Profile returns the behaviour of the named profile.
func Profile(name string) (Behaviour, error) {
	names := make([]string, 0, len(profiles))
	for _, p := range Profiles() {
		if p.Name == name {
			return p.Behaviour, nil
		}
		names = append(names, p.Name)
	}
	return Behaviour{}, fmt.Errorf("unknown profile %q: want one of %v", name, names)
}

// behaviourBox holds the current behaviour, replaceable at run time.
type behaviourBox struct {
	mu sync.RWMutex
	b  Behaviour
}

func (x *behaviourBox) get() Behaviour {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.b.clone()
}

func (x *behaviourBox) set(b Behaviour) error {
	if err := b.Validate(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.b = b.clone()
	return nil
}

// ParseMalformedRecord reads the command-line form of a MalformedRecord:
// kind=amount,rate=0.1,position=-1.
func ParseMalformedRecord(s string) (*MalformedRecord, error) {
	m := &MalformedRecord{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want key=value", part)
		}
		var err error
		switch k {
		case "kind":
			m.Kind = v
		case "rate":
			m.Rate, err = strconv.ParseFloat(v, 64)
		case "position":
			m.Position, err = strconv.Atoi(v)
		default:
			return nil, fmt.Errorf("unknown key %q (want kind, rate, position)", k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %w", k, v, err)
		}
	}
	if err := (Behaviour{MalformedRecord: m}).Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
