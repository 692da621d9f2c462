package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadWorkerDefaultsAreTheSharedConstants(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm"}))
	require.NoError(t, err)
	require.Equal(t, Worker{
		Concurrency: DefaultWorkerConcurrency, AccountConcurrency: DefaultAccountConcurrency, AccountReaders: DefaultAccountReaders, ScheduleEvery: DefaultScheduleEvery, ScheduleBatch: DefaultScheduleBatch,
		BackfillDays: DefaultBackfillDays, BackfillWindowDays: DefaultBackfillWindowDays, Overlap: DefaultOverlap,
		FetchOnScheduled: DefaultFetchOnScheduled, FetchOnInteractive: DefaultFetchOnInteractive, FetchMaxWait: DefaultFetchMaxWait,
		JobTimeout: DefaultJobTimeout, RescueAfter: DefaultRescueAfter, RetryBase: DefaultRetryBase, RetryMax: DefaultRetryMax,
		ShutdownTimeout: DefaultShutdownTimeout, AuthFailureThreshold: DefaultAuthFailures,
		ReconcileEvery: DefaultReconcileEvery, ReconcileWindowDays: DefaultReconcileWindow,
		StalePendingDays: DefaultStalePendingDays, SuspectPendingDays: DefaultSuspectPendingDays,
	}, cfg.Worker)
	require.True(t, cfg.Worker.FetchOnInteractive)
	require.Equal(t, time.Hour, cfg.Worker.Overlap)
}

// The reconciliation knobs: read, shown, and bounded with a clear error.
func TestLoadReconcileSettings(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvReconcileEvery: "6h",
		EnvReconcileWindowDays: "60", EnvReconcileDisable: "true", EnvStalePendingDays: "0", EnvSuspectPendingDays: "3"}))
	require.NoError(t, err)
	require.Equal(t, 6*time.Hour, cfg.Worker.ReconcileEvery)
	require.Equal(t, 60, cfg.Worker.ReconcileWindowDays)
	require.True(t, cfg.Worker.ReconcileDisable)
	require.Zero(t, cfg.Worker.StalePendingDays)
	require.Equal(t, 3, cfg.Worker.SuspectPendingDays)
	require.Contains(t, cfg.String(), "worker.reconcile_every=6h")
	require.Contains(t, cfg.String(), "worker.stale_pending_days=0")

	_, err = Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvReconcileEvery: "10s",
		EnvReconcileWindowDays: "0", EnvSuspectPendingDays: "x"}))
	require.ErrorContains(t, err, EnvReconcileEvery)
	require.ErrorContains(t, err, EnvReconcileWindowDays)
	require.ErrorContains(t, err, EnvSuspectPendingDays)
}

// An operator who sets no overlap gets none: 0 is a value, not "unset".
func TestLoadHonoursZeroOverlap(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvOverlap: "0", EnvFetchOnInteractive: "false"}))
	require.NoError(t, err)
	require.Equal(t, time.Duration(0), cfg.Worker.Overlap)
	require.False(t, cfg.Worker.FetchOnInteractive)
	require.Contains(t, cfg.String(), "worker.updated_since_overlap=0s")
	require.Contains(t, cfg.String(), "worker.fetch_on_interactive=false")

	_, err = Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvOverlap: "-1m"}))
	require.ErrorContains(t, err, EnvOverlap+" must be a duration from 0s to 168h0m0s")
}

func TestLoadReportsEveryBadSettingAtOnce(t *testing.T) {
	t.Parallel()

	bad := map[string]string{
		EnvDatabaseURL: "postgres://localhost/pfm", EnvWorkerConcurrency: "0", EnvScheduleEvery: "soon",
		EnvBackfillDays: "-3", EnvFetchOnScheduled: "maybe", EnvOverlap: "8d", EnvMetricsAddr: "nowhere",
		EnvReturnURLs: "/relative", EnvPublicURL: "link.example.com", EnvConsentTTL: "2h", EnvDashboardURL: "dashboard",
	}
	_, err := Load(env(bad))
	require.Error(t, err)
	for name := range bad {
		if name != EnvDatabaseURL {
			require.Contains(t, err.Error(), name)
		}
	}
	require.Len(t, strings.Split(err.Error(), "\n"), len(bad)-1)
}

func TestLogValueIsTheRedactedDump(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{
		EnvDatabaseURL: "postgres://app:hunter2@db/pfm", EnvAppKey: "app-key-SECRET", EnvAdminToken: "admin-SECRET",
		EnvTokenKeys: "v1:KEYSECRET",
	}))
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", cfg)
	out := buf.String()
	for _, secret := range []string{"hunter2", "app-key-SECRET", "admin-SECRET", "KEYSECRET"} {
		require.NotContains(t, out, secret)
	}
	var line struct {
		Config map[string]string `json:"config"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "postgres://app:xxxxx@db/pfm", line.Config["database.url"])
	require.Equal(t, "[redacted]", line.Config["link.app_key"])
	require.Equal(t, "[redacted]", line.Config["token_keys"])
	require.Equal(t, "[redacted]", line.Config["telemetry.admin_token"])
	require.Equal(t, "1h", line.Config["worker.updated_since_overlap"])
	// Every setting with a dump key is in both renderings.
	for _, s := range settings {
		if s.key != "" {
			require.Contains(t, line.Config, s.key)
			require.Contains(t, cfg.String(), s.key+"=")
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()

	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 30 * time.Minute: "30m", 90 * time.Second: "1m30s", 90 * time.Minute: "1h30m",
		250 * time.Millisecond: "250ms", 0: "0s", 7 * Day: "168h",
	} {
		require.Equal(t, want, FormatDuration(d))
	}
}
