package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

func TestTelemetrySnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		snap, err := s.TelemetrySnapshot(ctx)
		require.NoError(t, err)
		require.Empty(t, snap.Links)
		require.Empty(t, snap.Jobs)
		require.Empty(t, snap.Lags)
	})

	t.Run("LinksPerInstitutionAndStatus", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		c := linkConsentFixture(t, s)
		_, err := s.UpsertInstitution(ctx, sampleInstitution("other"))
		require.NoError(t, err)
		for _, user := range []string{"a", "b", "c"} {
			c.AppUserRef = user
			_, _, err := s.UpsertLinkConsent(ctx, c)
			require.NoError(t, err)
		}
		c.AppUserRef = "d"
		link, _, err := s.UpsertLinkConsent(ctx, c)
		require.NoError(t, err)
		require.NoError(t, s.SetLinkStatus(ctx, link.ID, pfm.LinkReauthRequired, "consent_revoked", "invalid_grant"))

		snap, err := s.TelemetrySnapshot(ctx)
		require.NoError(t, err)
		got := map[string]int64{}
		for _, l := range snap.Links {
			got[l.Institution+"/"+l.Status] = l.Links
		}
		require.Equal(t, map[string]int64{
			"garden/active": 3, "garden/reauth_required": 1, "garden/revoked": 0, "garden/disabled": 0,
			"other/active": 0, "other/reauth_required": 0, "other/revoked": 0, "other/disabled": 0,
		}, got)
	})

	t.Run("QueueDepthAndLag", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t)
		_, err := b.pool.Exec(ctx, `
			INSERT INTO river_job (kind, max_attempts, queue, state, scheduled_at, finalized_at, args) VALUES
				('sync_link', 5, 'sync', 'available', now() - interval '90 seconds', NULL, '{}'),
				('sync_link', 5, 'sync', 'available', now() - interval '10 seconds', NULL, '{}'),
				('sync_link', 5, 'sync', 'scheduled', now() + interval '1 hour', NULL, '{}'),
				('sync_link', 5, 'sync', 'completed', now() - interval '1 hour', now(), '{}'),
				('schedule_links', 5, 'maintenance', 'retryable', now() + interval '1 minute', NULL, '{}')`)
		require.NoError(t, err)

		snap, err := s.TelemetrySnapshot(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []store.TelemetryJobCount{
			{Queue: "sync", State: "available", Jobs: 2},
			{Queue: "sync", State: "scheduled", Jobs: 1},
			{Queue: "maintenance", State: "retryable", Jobs: 1},
		}, snap.Jobs)
		require.Len(t, snap.Lags, 1)
		require.Equal(t, "sync", snap.Lags[0].Queue)
		require.InDelta(t, 90, snap.Lags[0].Lag.Seconds(), 10)
		require.Less(t, snap.Lags[0].Lag, 5*time.Minute)
	})
}
