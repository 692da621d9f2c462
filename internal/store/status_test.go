package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// statusNow is the instant the status fixture is described from.
var statusNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// statusAgo returns the instant d before statusNow.
func statusAgo(d time.Duration) time.Time { return statusNow.Add(-d) }

// statusFixture is a hand-made data set with known counts: institutions
// garden (four links), river-cu (two) and idle (none); sync runs inside and
// outside the last hour and day; River jobs in every state.
type statusFixture struct {
	links map[string]string // fixture key -> links.id
}

// insertStatusFixture writes the fixture with plain SQL.
func insertStatusFixture(t *testing.T, pool *pgxpool.Pool) statusFixture {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	insts := map[string]int64{}
	for _, in := range []struct{ slug, name string }{
		{"garden", "Garden Financial"}, {"river-cu", "River Credit Union"}, {"idle", "Idle Bank"},
	} {
		var id int64
		err := pool.QueryRow(ctx, `
			INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
			VALUES ($1, $2, 'https://bank.example/oidc', 'https://bank.example/api', 'client') RETURNING id`,
			in.slug, in.name).Scan(&id)
		require.NoError(t, err)
		insts[in.slug] = id
	}

	f := statusFixture{links: map[string]string{}}
	type link struct {
		key, inst, status                           string
		lastAttempt, lastSuccess, nextSync, created any
	}
	for _, l := range []link{
		{"g-active", "garden", "active", statusAgo(time.Minute), statusAgo(5 * time.Minute), statusAgo(-time.Hour), statusAgo(100 * time.Hour)},
		{"g-new", "garden", "active", statusAgo(3 * time.Hour), nil, statusAgo(30 * time.Minute), statusAgo(99 * time.Hour)},
		{"g-reauth", "garden", "reauth_required", statusAgo(2 * time.Hour), statusAgo(48 * time.Hour), nil, statusAgo(98 * time.Hour)},
		// A disabled link whose next_sync_at was left behind is never overdue.
		{"g-disabled", "garden", "disabled", nil, nil, statusAgo(2 * time.Hour), statusAgo(97 * time.Hour)},
		{"r-active", "river-cu", "active", statusAgo(10 * time.Minute), statusAgo(3 * time.Hour), statusAgo(time.Minute), statusAgo(96 * time.Hour)},
		{"r-revoked", "river-cu", "revoked", statusAgo(20 * time.Minute), statusAgo(time.Hour), nil, statusAgo(95 * time.Hour)},
	} {
		var id string
		err := pool.QueryRow(ctx, `
			INSERT INTO links (institution_id, app_user_ref, banno_user_id, status, last_attempt_at, last_success_at,
				next_sync_at, created_at, consented_at, last_error_class, consecutive_failures)
			VALUES ($1, $2, 'banno-' || $2, $3::link_status, $4, $5, $6, $7, $7, 'transient', 2) RETURNING id`,
			insts[l.inst], "user-"+l.key, l.status, l.lastAttempt, l.lastSuccess, l.nextSync, l.created).Scan(&id)
		require.NoError(t, err)
		f.links[l.key] = id
	}

	type run struct {
		link           string
		startedAgo     time.Duration
		outcome, class any
	}
	for _, r := range []run{
		{"g-active", time.Minute, nil, nil}, // running
		{"g-active", 5 * time.Minute, "success", nil},
		{"g-active", 30 * time.Minute, "failed", "transient"},
		{"g-active", 40 * time.Minute, "snoozed", "rate_limited"},
		{"g-reauth", 2 * time.Hour, "reauth_required", "consent_revoked"},
		{"g-new", 3 * time.Hour, "failed", "permanent"},
		{"g-new", 5 * time.Hour, "failed", "transient"},
		{"g-active", 6 * time.Hour, "partial", "forbidden"},
		{"g-active", 25 * time.Hour, "failed", "transient"}, // before the day
		{"g-active", 30 * time.Hour, "success", nil},        // before the day
		{"r-active", 10 * time.Minute, "failed", nil},       // no class
		{"r-revoked", 20 * time.Minute, "skipped", "link_gone"},
		{"r-active", time.Hour, "success", nil}, // exactly an hour before
		{"r-active", 3 * time.Hour, "success", nil},
	} {
		started := statusAgo(r.startedAgo)
		var finished any
		if r.outcome != nil {
			finished = started.Add(time.Minute)
		}
		exec(`
			INSERT INTO sync_runs (link_id, job_id, trigger, started_at, finished_at, outcome, error_class, error,
				accounts, transactions_added, transactions_modified, transactions_removed, api_calls)
			VALUES ($1, 7, 'scheduled', $2, $3, $4, $5, CASE WHEN $5::text IS NULL THEN NULL ELSE 'error: ' || $5 END,
				2, 10, 1, 0, 7)`,
			f.links[r.link], started, finished, r.outcome, r.class)
	}

	type job struct {
		queue, state string
		scheduledAgo time.Duration
		finalizedAgo any
	}
	for _, j := range []job{
		{"sync", "available", 2 * time.Minute, nil},
		{"sync", "available", 7 * time.Minute, nil},
		{"sync", "available", time.Minute, nil},
		{"sync", "scheduled", -5 * time.Minute, nil},
		{"sync", "scheduled", -10 * time.Minute, nil},
		{"sync", "running", 3 * time.Minute, nil},
		{"sync", "retryable", -time.Minute, nil},
		{"sync", "completed", 2 * time.Hour, statusAgo(time.Hour)},
		{"sync", "completed", 2 * time.Hour, statusAgo(90 * time.Minute)},
		{"sync", "completed", 26 * time.Hour, statusAgo(25 * time.Hour)},
		{"sync", "discarded", 3 * time.Hour, statusAgo(2 * time.Hour)},
		{"sync", "discarded", 31 * time.Hour, statusAgo(30 * time.Hour)},
		{"sync", "cancelled", 4 * time.Hour, statusAgo(3 * time.Hour)},
		{"default", "running", time.Minute, nil},
		{"maintenance", "completed", 49 * time.Hour, statusAgo(48 * time.Hour)},
	} {
		scheduled := statusAgo(j.scheduledAgo)
		exec(`
			INSERT INTO river_job (kind, queue, state, args, max_attempts, priority, scheduled_at, created_at, finalized_at)
			VALUES ('sync_link', $1, $2::river_job_state, '{}', 25, 3, $3, $4, $5)`,
			j.queue, j.state, scheduled, scheduled.Add(-time.Hour), j.finalizedAgo)
	}
	return f
}

func TestStatusLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	f := insertStatusFixture(t, b.pool)

	t.Run("CountsByStatus", func(t *testing.T) {
		t.Parallel()
		got, err := s.LinkStatusCounts(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int{"active": 3, "reauth_required": 1, "disabled": 1, "revoked": 1}, got)
	})

	ids := func(links []pfm.Link) []string {
		out := make([]string, len(links))
		for i, l := range links {
			out[i] = l.ID
		}
		return out
	}

	t.Run("ListNewestAttemptFirst", func(t *testing.T) {
		t.Parallel()
		got, err := s.ListLinks(ctx, "", 0, 100)
		require.NoError(t, err)
		require.Equal(t, []string{
			f.links["g-active"], f.links["r-active"], f.links["r-revoked"],
			f.links["g-reauth"], f.links["g-new"], f.links["g-disabled"],
		}, ids(got))
		require.Equal(t, "garden", got[0].InstitutionSlug)
		require.Equal(t, "user-g-active", got[0].AppUserRef)
		require.Equal(t, pfm.LinkActive, got[0].Status)
		require.Equal(t, 2, got[0].ConsecutiveFailures)
		require.Equal(t, pfm.ClassTransient, got[0].LastErrorClass)
	})

	t.Run("ListPages", func(t *testing.T) {
		t.Parallel()
		got, err := s.ListLinks(ctx, "", 2, 2)
		require.NoError(t, err)
		require.Equal(t, []string{f.links["r-revoked"], f.links["g-reauth"]}, ids(got))
		got, err = s.ListLinks(ctx, "", 6, 2)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ListByStatus", func(t *testing.T) {
		t.Parallel()
		got, err := s.ListLinks(ctx, "active", 0, 100)
		require.NoError(t, err)
		require.Equal(t, []string{f.links["g-active"], f.links["r-active"], f.links["g-new"]}, ids(got))
		got, err = s.ListLinks(ctx, "reauth_required", 0, 100)
		require.NoError(t, err)
		require.Equal(t, []string{f.links["g-reauth"]}, ids(got))
	})

	t.Run("ListRefusesUnknownStatus", func(t *testing.T) {
		t.Parallel()
		_, err := s.ListLinks(ctx, "bogus", 0, 100)
		require.ErrorIs(t, err, pfm.ErrInvalid)
		_, err = s.ListLinks(ctx, "", -1, 100)
		require.ErrorIs(t, err, pfm.ErrInvalid)
	})
}

func TestStatusLinksEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	counts, err := s.LinkStatusCounts(ctx)
	require.NoError(t, err)
	require.Empty(t, counts)
	links, err := s.ListLinks(ctx, "", 0, 100)
	require.NoError(t, err)
	require.Empty(t, links)
	runs, err := s.RecentSyncRuns(ctx, 20, "")
	require.NoError(t, err)
	require.Empty(t, runs)
	queues, err := s.QueueStats(ctx, statusNow)
	require.NoError(t, err)
	require.Empty(t, queues)
	health, err := s.InstitutionHealth(ctx, statusAgo(24*time.Hour))
	require.NoError(t, err)
	require.Empty(t, health)
	fresh, err := s.SyncFreshness(ctx, statusNow)
	require.NoError(t, err)
	require.Equal(t, store.SyncFreshness{}, fresh)
}

func TestStatusRecentSyncRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	f := insertStatusFixture(t, b.pool)

	t.Run("AcrossLinks", func(t *testing.T) {
		t.Parallel()
		got, err := s.RecentSyncRuns(ctx, 3, "")
		require.NoError(t, err)
		require.Len(t, got, 3)

		running := got[0]
		require.Equal(t, f.links["g-active"], running.LinkID)
		require.Equal(t, statusAgo(time.Minute), running.StartedAt.UTC())
		require.Nil(t, running.FinishedAt)
		require.Empty(t, running.Outcome)
		require.Zero(t, running.Duration())

		ok := got[1]
		require.Equal(t, pfm.OutcomeSuccess, ok.Outcome)
		require.Equal(t, "garden", ok.InstitutionSlug)
		require.Equal(t, "Garden Financial", ok.InstitutionName)
		require.Equal(t, "user-g-active", ok.AppUserRef)
		require.Equal(t, "scheduled", ok.Trigger)
		require.Equal(t, int64(7), ok.JobID)
		require.Equal(t, []int{2, 10, 1, 0, 7}, []int{ok.Accounts, ok.Added, ok.Modified, ok.Removed, ok.APICalls})
		require.Equal(t, time.Minute, ok.Duration())

		failed := got[2]
		require.Equal(t, f.links["r-active"], failed.LinkID)
		require.Equal(t, pfm.OutcomeFailed, failed.Outcome)
		require.Empty(t, failed.ErrorClass)
		require.Equal(t, "River Credit Union", failed.InstitutionName)
	})

	t.Run("OneLink", func(t *testing.T) {
		t.Parallel()
		got, err := s.RecentSyncRuns(ctx, 50, f.links["r-active"])
		require.NoError(t, err)
		require.Len(t, got, 3)
		for i, ago := range []time.Duration{10 * time.Minute, time.Hour, 3 * time.Hour} {
			require.Equal(t, f.links["r-active"], got[i].LinkID)
			require.Equal(t, statusAgo(ago), got[i].StartedAt.UTC())
		}
		got, err = s.RecentSyncRuns(ctx, 50, pfm.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestStatusQueueStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	insertStatusFixture(t, b.pool)

	got, err := s.QueueStats(ctx, statusNow)
	require.NoError(t, err)
	require.Len(t, got, 2, "the maintenance queue has nothing waiting and nothing ended in the last day")

	require.Equal(t, store.QueueStat{Queue: "default", Running: 1}, got[0])

	sync := got[1]
	require.NotNil(t, sync.OldestAvailableAt)
	require.Equal(t, statusAgo(7*time.Minute), sync.OldestAvailableAt.UTC())
	sync.OldestAvailableAt = nil
	require.Equal(t, store.QueueStat{
		Queue:        "sync",
		Available:    3,
		Scheduled:    2,
		Running:      1,
		Retryable:    1,
		Lag:          7 * time.Minute,
		Completed24h: 2,
		Discarded24h: 1,
		Cancelled24h: 1,
	}, sync)
}

func TestStatusInstitutionHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	insertStatusFixture(t, b.pool)

	t.Run("LastDay", func(t *testing.T) {
		t.Parallel()
		got, err := s.InstitutionHealth(ctx, statusAgo(24*time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 3)
		garden, idle, river := got[0], got[1], got[2]

		require.Equal(t, "garden", garden.Slug)
		require.Equal(t, "Garden Financial", garden.Name)
		require.Equal(t, 4, garden.Links)
		require.Equal(t, 2, garden.ActiveLinks)
		require.Equal(t, 8, garden.Runs)
		require.Equal(t, 2, garden.Succeeded)
		require.Equal(t, 4, garden.Failed)
		require.Equal(t, 1, garden.ReauthRequired)
		require.Equal(t, 1, garden.Snoozed)
		require.Equal(t, 1, garden.Unfinished)
		require.Equal(t, []store.ClassCount{
			{Class: "transient", Count: 2}, {Class: "consent_revoked", Count: 1}, {Class: "permanent", Count: 1},
		}, garden.FailuresByClass)
		rate, ok := garden.FailureRate()
		require.True(t, ok)
		require.InDelta(t, 400.0/6, rate, 1e-9)
		require.NotNil(t, garden.LastSuccessAt)
		require.Equal(t, statusAgo(5*time.Minute), garden.LastSuccessAt.UTC())

		require.Equal(t, "idle", idle.Slug)
		require.Zero(t, idle.Links)
		require.Zero(t, idle.Runs)
		require.Empty(t, idle.FailuresByClass)
		require.Nil(t, idle.LastSuccessAt)
		_, ok = idle.FailureRate()
		require.False(t, ok)

		require.Equal(t, "river-cu", river.Slug)
		require.Equal(t, 2, river.Links)
		require.Equal(t, 1, river.ActiveLinks)
		require.Equal(t, 4, river.Runs)
		require.Equal(t, 2, river.Succeeded)
		require.Equal(t, 1, river.Failed)
		require.Zero(t, river.ReauthRequired)
		require.Zero(t, river.Snoozed)
		require.Zero(t, river.Unfinished)
		require.Equal(t, []store.ClassCount{{Class: "unknown", Count: 1}}, river.FailuresByClass)
		rate, ok = river.FailureRate()
		require.True(t, ok)
		require.InDelta(t, 100.0/3, rate, 1e-9)
		require.Equal(t, statusAgo(time.Hour), river.LastSuccessAt.UTC(), "the revoked link's last success counts")
	})

	t.Run("LastHour", func(t *testing.T) {
		t.Parallel()
		got, err := s.InstitutionHealth(ctx, statusAgo(time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 3)
		garden, river := got[0], got[2]

		require.Equal(t, 4, garden.Runs)
		require.Equal(t, 1, garden.Succeeded)
		require.Equal(t, 1, garden.Failed)
		require.Zero(t, garden.ReauthRequired)
		require.Equal(t, 1, garden.Snoozed)
		require.Equal(t, 1, garden.Unfinished)
		require.Equal(t, []store.ClassCount{{Class: "transient", Count: 1}}, garden.FailuresByClass)
		rate, ok := garden.FailureRate()
		require.True(t, ok)
		require.InDelta(t, 50.0, rate, 1e-9)

		require.Equal(t, 3, river.Runs, "a run started exactly at the start of the window is in it")
		require.Equal(t, 1, river.Succeeded)
		require.Equal(t, 1, river.Failed)
		rate, ok = river.FailureRate()
		require.True(t, ok)
		require.InDelta(t, 50.0, rate, 1e-9)
	})
}

func TestStatusSyncFreshness(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	insertStatusFixture(t, b.pool)

	got, err := s.SyncFreshness(ctx, statusAgo(10*time.Minute))
	require.NoError(t, err)
	require.Equal(t, statusAgo(time.Minute), got.LastRunAt.UTC())
	require.Equal(t, statusAgo(5*time.Minute), got.LastSuccessAt.UTC())
	require.Equal(t, statusAgo(3*time.Hour), got.StalestActiveSuccessAt.UTC())
	require.Equal(t, 1, got.ActiveNeverSynced)
	require.Equal(t, 1, got.Overdue, "only the active link due 30 minutes ago")
}
