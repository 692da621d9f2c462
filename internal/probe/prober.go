package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Defaults of a Prober.
const (
	DefaultMaxRequests = 60
	DefaultPause       = 250 * time.Millisecond
)

// ErrBudget reports a probe that would exceed its request budget.
var ErrBudget = errors.New("the probe's request budget is spent")

// Prober probes institutions through links' consent.
type Prober struct {
	// Store holds the links, their tokens and the findings.
	Store *store.Store
	// Sealer opens and seals the links' refresh tokens.
	Sealer *tokenseal.Sealer
	// Clients are the institutions' clients by slug.
	Clients map[string]*consumerapi.Client
	// Logger (default: discard).
	Logger *slog.Logger
	// Now is the bank's clock (default time.Now).
	Now func() time.Time
	// Pause is the wait before every request but the first (default
	// DefaultPause; negative: none).
	Pause time.Duration
	// MaxRequests bounds the requests of one run, the token refresh
	// included (default DefaultMaxRequests).
	MaxRequests int
}

// Result is one probe run.
type Result struct {
	ID          int64     `json:"id"`
	Institution string    `json:"institution"`
	LinkID      string    `json:"link_id"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Requests    int       `json:"requests"`
	// Previous is the id of the run this one compared against (0: none).
	Previous int64    `json:"previous_probe_id,omitempty"`
	Findings Findings `json:"findings"`
	// Matches are the sandbox profiles consistent with the findings; when
	// none is, Closest and Differences say which come nearest and why not.
	Matches     []string  `json:"matching_profiles"`
	Closest     []string  `json:"closest_profiles,omitempty"`
	Differences []string  `json:"differences,omitempty"`
	Settings    []Setting `json:"settings"`
}

// Run probes the institution of a link with its consent, stores the
// findings and returns them. The link must be active.
func (p *Prober) Run(ctx context.Context, link pfm.Link) (*Result, error) {
	if link.Status != pfm.LinkActive {
		return nil, fmt.Errorf("link %s is %s: only an active link's consent can be used", link.ID, link.Status)
	}
	client := p.Clients[link.InstitutionSlug]
	if client == nil {
		return nil, fmt.Errorf("institution %q of link %s is not configured", link.InstitutionSlug, link.ID)
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var prev *store.InstitutionProbe
	switch last, err := p.Store.LatestInstitutionProbe(ctx, link.InstitutionID, link.ID); {
	case err == nil:
		prev = &last
	case !errors.Is(err, pfm.ErrNotFound):
		return nil, err
	}

	started := time.Now().UTC()
	r := &run{
		prober: p, ctx: ctx, now: now(), logger: logger,
		tokens:  linktoken.NewSource(p.Store, p.Sealer, client, link.ID, nil),
		max:     p.MaxRequests,
		pause:   p.Pause,
		f:       Findings{},
		prevRun: prev,
	}
	if r.max <= 0 {
		r.max = DefaultMaxRequests
	}
	if r.pause == 0 {
		r.pause = DefaultPause
	}
	r.session = client.Session(link.BannoUserID, r.tokens)
	if err := r.measure(); err != nil {
		return nil, fmt.Errorf("probe institution %s with link %s: %w", link.InstitutionSlug, link.ID, err)
	}
	res := &Result{
		Institution: link.InstitutionSlug, LinkID: link.ID, StartedAt: started, FinishedAt: time.Now().UTC(),
		Requests: r.requests, Findings: r.f, Settings: r.f.Settings(),
	}
	if res.Findings.UnlistedCategories == nil {
		res.Findings.UnlistedCategories = []string{}
	}
	if prev != nil {
		res.Previous = prev.ID
	}
	res.Matches, res.Closest, res.Differences = res.Findings.Match()
	findings, err := json.Marshal(res.Findings)
	if err != nil {
		return nil, fmt.Errorf("encode the findings: %w", err)
	}
	evidence, err := json.Marshal(r.evidence)
	if err != nil {
		return nil, fmt.Errorf("encode the evidence: %w", err)
	}
	// The findings are kept even when the caller gives up now.
	id, err := p.Store.InsertInstitutionProbe(context.WithoutCancel(ctx), store.InstitutionProbe{
		InstitutionID: link.InstitutionID, LinkID: link.ID, StartedAt: res.StartedAt, FinishedAt: res.FinishedAt,
		Requests: res.Requests, MatchedProfiles: res.Matches, Findings: findings, Evidence: evidence,
	})
	if err != nil {
		return nil, err
	}
	res.ID = id
	logger.Info("institution probed", "institution", link.InstitutionSlug, "link_id", link.ID, "probe_id", id,
		"requests", res.Requests, "matching_profiles", res.Matches)
	return res, nil
}
