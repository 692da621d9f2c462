package probe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/probe"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// testBundle is a sandbox with one linked user and a prober for it.
type testBundle struct {
	env    *synctest.Env
	link   pfm.Link
	prober *probe.Prober
}

func setup(t *testing.T, b sandbox.Behaviour, adjust func(*sandbox.Options)) *testBundle {
	t.Helper()
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) {
		o.Behaviour = b
		// Busy enough that an account holds more than a 500-row page and a
		// month of recent activity.
		o.Bank.Density = 3
		if adjust != nil {
			adjust(o)
		}
	}})
	link := env.Consent(t, 1)
	return &testBundle{env: env, link: link, prober: &probe.Prober{
		Store: env.Store, Sealer: env.Sealer, Clients: map[string]*consumerapi.Client{synctest.InstitutionSlug: env.Client},
		Logger: synctest.TestLogger(t), Now: env.Sandbox.Clock().Now, Pause: -1,
	}}
}

// wire is what a behaviour must look like to the probe, derived from the
// sandbox's options (docs/sandbox.md), not from the probe's own table.
func wire(b sandbox.Behaviour) probe.Findings {
	w := probe.Findings{
		PageCap: 500, Offset: probe.OffsetHonoured, UpdatedSince: probe.UpdatedSinceInclusive,
		OrderSince: probe.OrderStable, OrderUpdatedSince: probe.OrderStable,
		Inactivated: probe.InactivatedEveryPage, PendingDatePosted: probe.DatePostedPresent,
	}
	if b.MaxPageLimit > 0 {
		w.PageCap = b.MaxPageLimit
	}
	if b.IgnoreOffset {
		w.Offset, w.OrderSince, w.OrderUpdatedSince = probe.OffsetIgnored, probe.Unknown, probe.Unknown
	}
	if b.UnstableOrder {
		w.OrderSince, w.OrderUpdatedSince = probe.OrderUnstable, probe.OrderUnstable
	}
	switch b.UpdatedSince {
	case sandbox.UpdatedSinceExclusive:
		w.UpdatedSince = probe.UpdatedSinceExclusive
	case sandbox.UpdatedSinceDay:
		w.UpdatedSince = probe.UpdatedSinceDay
	}
	switch {
	case b.SilentPendingRemoval == sandbox.RemovalAll, b.InactivatedIDs == sandbox.InactivatedNever:
		w.Inactivated = probe.InactivatedNone
	case b.InactivatedIDs == sandbox.InactivatedFirstPage:
		w.Inactivated = probe.InactivatedFirstPage
	case b.InactivatedIDs == sandbox.InactivatedUpdatedSinceOnly:
		w.Inactivated = probe.InactivatedUpdatedSinceOnly
	}
	switch b.PendingDatePosted {
	case sandbox.DatePostedNull:
		w.PendingDatePosted = probe.DatePostedNull
	case sandbox.DatePostedMissing:
		w.PendingDatePosted = probe.DatePostedMissing
	}
	if b.ExternalAccounts {
		w.ExternalAccounts = 1
	}
	return w
}

func TestProbeIdentifiesEverySandboxProfile(t *testing.T) {
	t.Parallel()
	cases := []sandbox.NamedProfile{{Name: "documented"}} // the default behaviour, no profile set
	cases = append(cases, sandbox.Profiles()...)
	for _, tc := range cases {
		name := tc.Name
		if tc.Behaviour.Profile == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.Behaviour, nil)
			ctx := context.Background()
			res, err := b.prober.Run(ctx, b.link)
			require.NoError(t, err)
			f, want := res.Findings, wire(tc.Behaviour)

			require.LessOrEqual(t, res.Requests, probe.DefaultMaxRequests)
			require.Equal(t, probe.Yes, f.RefreshRotates)
			require.LessOrEqual(t, f.AccessTokenSecondsMin, 600)
			require.GreaterOrEqual(t, f.AccessTokenSecondsMax, 600)
			require.Equal(t, want.PageCap, f.PageCap, "page cap")
			require.Equal(t, want.Offset, f.Offset, "offset")
			require.Equal(t, want.UpdatedSince, f.UpdatedSince, "updatedSince")
			require.Equal(t, want.OrderSince, f.OrderSince, "order of a since query")
			require.Equal(t, want.OrderUpdatedSince, f.OrderUpdatedSince, "order of an updatedSince query")
			require.Equal(t, want.Inactivated, f.Inactivated, "inactivatedTransactionIds")
			require.Equal(t, want.PendingDatePosted, f.PendingDatePosted, "pending datePosted")
			require.Equal(t, want.ExternalAccounts, f.ExternalAccounts, "external accounts")
			require.Equal(t, tc.Behaviour.NotEnrichedDays > 0, f.NotEnriched > 0, "Not enriched history")
			require.Equal(t, tc.Behaviour.UnlistedCategories, len(f.UnlistedCategories) > 0, "unlisted categories %v", f.UnlistedCategories)
			if tc.Behaviour.MalformedRecord == nil {
				require.Zero(t, f.MalformedRecords)
			}
			// Without a previous run there is no evidence on lastUpdated.
			require.Equal(t, probe.Unknown, f.PendingPostMovesLastUpdated)
			require.Equal(t, probe.Unknown, f.ModificationMovesLastUpdated)
			require.Equal(t, []string{tc.Name}, res.Matches, "matching profiles; findings %+v", f)

			// Stored, one row per run, with the matched profile.
			var stored probe.Findings
			var matched []string
			require.NoError(t, b.env.Pool.QueryRow(ctx, `SELECT findings, matched_profiles FROM institution_probes WHERE id = $1`, res.ID).Scan(&stored, &matched))
			require.Equal(t, f, stored)
			require.Equal(t, res.Matches, matched)

			var out bytes.Buffer
			require.NoError(t, probe.WriteReport(&out, res))
			t.Log(out.String())
			require.Contains(t, out.String(), "sandbox profile: "+tc.Name)
		})
	}
}

func TestProbeComparesWithThePreviousRun(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"documented", "stale-last-updated"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bh, err := sandbox.Profile(name)
			require.NoError(t, err)
			// The evidence is the sampled month's rows that change after
			// the first run: 6% of posted rows are modified up to 20 days
			// after they post. The sandbox's data follow its clock, and at
			// the other tests' density (3) some days' month held none; at
			// this density it holds 3-12 (300 rows sampled).
			b := setup(t, bh, func(o *sandbox.Options) { o.Bank.Density = 20 })
			ctx := context.Background()
			first, err := b.prober.Run(ctx, b.link)
			require.NoError(t, err)
			require.Zero(t, first.Previous)

			_, err = b.env.Sandbox.Clock().Advance(20 * 24 * time.Hour)
			require.NoError(t, err)
			second, err := b.prober.Run(ctx, b.link)
			require.NoError(t, err)
			f := second.Findings
			var out bytes.Buffer
			require.NoError(t, probe.WriteReport(&out, second))
			t.Log(out.String())
			require.Equal(t, first.ID, second.Previous)
			require.Positive(t, f.PendingPostsSeen, "pending rows that posted under the same id")
			require.Equal(t, probe.Yes, f.PendingPostMovesLastUpdated)
			require.Positive(t, f.ModificationsSeen, "modified rows")
			if bh.StaleLastUpdated {
				require.Equal(t, probe.No, f.ModificationMovesLastUpdated)
				require.Equal(t, f.ModificationsSeen, f.ModificationsStale)
			} else {
				require.Equal(t, probe.Yes, f.ModificationMovesLastUpdated)
				require.Zero(t, f.ModificationsStale)
			}
			require.Equal(t, []string{name}, second.Matches)
			require.Equal(t, 2, b.env.Count(t, `SELECT count(*) FROM institution_probes WHERE link_id = $1`, b.link.ID))

			// The evidence holds digests, never the bank's ids.
			var evidence string
			require.NoError(t, b.env.Pool.QueryRow(ctx, `SELECT evidence::text FROM institution_probes WHERE id = $1`, second.ID).Scan(&evidence))
			truth, ok := b.env.Sandbox.Bank().Truth(b.env.Sandbox.Bank().UserID(1), b.env.Sandbox.Clock().Now())
			require.True(t, ok)
			for acct, txs := range truth.Transactions {
				require.NotContains(t, evidence, acct)
				for _, tx := range txs {
					require.NotContains(t, evidence, tx.ID)
				}
			}
		})
	}
}

func TestProbeTokens(t *testing.T) {
	t.Parallel()
	never := false
	b := setup(t, sandbox.Behaviour{}, func(o *sandbox.Options) {
		o.RotateRefreshTokens = &never
		o.AccessTokenTTL = 7 * time.Minute
	})
	ctx := context.Background()
	before, err := b.env.Store.LinkToken(ctx, b.link.ID)
	require.NoError(t, err)
	res, err := b.prober.Run(ctx, b.link)
	require.NoError(t, err)
	require.Equal(t, probe.No, res.Findings.RefreshRotates)
	require.LessOrEqual(t, res.Findings.AccessTokenSecondsMin, 420)
	require.GreaterOrEqual(t, res.Findings.AccessTokenSecondsMax, 420)
	after, err := b.env.Store.LinkToken(ctx, b.link.ID)
	require.NoError(t, err)
	require.Equal(t, before.Version, after.Version, "an unrotated token under the current key is not rewritten")
}

func TestProbePersistsARotatedToken(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Behaviour{}, nil)
	ctx := context.Background()
	row, err := b.env.Store.LinkToken(ctx, b.link.ID)
	require.NoError(t, err)
	old, err := linktoken.Open(ctx, b.env.Sealer, row)
	require.NoError(t, err)

	res, err := b.prober.Run(ctx, b.link)
	require.NoError(t, err)
	require.Equal(t, probe.Yes, res.Findings.RefreshRotates)
	row, err = b.env.Store.LinkToken(ctx, b.link.ID)
	require.NoError(t, err)
	rotated, err := linktoken.Open(ctx, b.env.Sealer, row)
	require.NoError(t, err)
	require.NotEqual(t, old, rotated)
	// The stored token is the live one: the bank accepts it.
	_, err = b.env.Client.Refresh(ctx, rotated)
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, probe.WriteReport(&out, res))
	raw, err := json.Marshal(res)
	require.NoError(t, err)
	for _, s := range []string{out.String(), string(raw)} {
		require.NotContains(t, s, old.Reveal())
		require.NotContains(t, s, rotated.Reveal())
	}
}

func TestProbeRefusesAnInactiveLinkAndABudgetTooSmall(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Behaviour{}, nil)
	ctx := context.Background()
	disabled := b.link
	disabled.Status = pfm.LinkDisabled
	_, err := b.prober.Run(ctx, disabled)
	require.ErrorContains(t, err, "is disabled")

	b.prober.MaxRequests = 5
	_, err = b.prober.Run(ctx, b.link)
	require.ErrorIs(t, err, probe.ErrBudget)
	require.Zero(t, b.env.Count(t, `SELECT count(*) FROM institution_probes`))
}
