package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://app:hunter2@db:5432/pfm"}))
	require.NoError(t, err)
	require.Equal(t, int32(10), cfg.Database.MaxConns)
	require.True(t, cfg.Database.Migrate)
	require.Equal(t, 10*time.Second, cfg.Database.ConnectTimeout)
	require.Equal(t, slog.LevelInfo, cfg.Log.Level)
	require.Equal(t, "json", cfg.Log.Format)
}

func TestLoadFallsBackToDATABASE_URL(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{EnvDatabaseURLAlt: "postgres://localhost/pfm"}))
	require.NoError(t, err)
	require.Equal(t, "postgres://localhost/pfm", cfg.Database.URL)
}

func TestLoadReportsEveryBadValueWithoutSecrets(t *testing.T) {
	t.Parallel()

	_, err := Load(env(map[string]string{
		EnvDatabaseURL:      "mysql://root:hunter2@db/pfm",
		EnvDatabaseMaxConns: "lots",
		EnvMigrate:          "sometimes",
		EnvLogLevel:         "chatty",
		EnvLogFormat:        "xml",
		EnvDatabaseTimeout:  "forever",
	}))
	require.Error(t, err)
	msg := err.Error()
	for _, name := range []string{EnvDatabaseURL, EnvDatabaseMaxConns, EnvMigrate, EnvLogLevel, EnvLogFormat, EnvDatabaseTimeout} {
		require.Contains(t, msg, name)
	}
	require.NotContains(t, msg, "hunter2")
}

func TestLoadRequiresDatabaseURL(t *testing.T) {
	t.Parallel()

	_, err := Load(env(nil))
	require.ErrorContains(t, err, EnvDatabaseURL+" is required")
}

func TestStringRedacts(t *testing.T) {
	t.Parallel()

	cfg, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://app:hunter2@db:5432/pfm?sslmode=require&password=hunter3"}))
	require.NoError(t, err)
	s := cfg.String()
	require.NotContains(t, s, "hunter2")
	require.NotContains(t, s, "hunter3")
	require.Contains(t, s, "app:xxxxx@db:5432")
	require.Contains(t, s, "sslmode=require")
	require.Equal(t, s, cfg.LogValue().String())
}

func TestRedactURL(t *testing.T) {
	t.Parallel()

	cases := map[string]string{
		"":                                     "",
		"postgres://u@h/db":                    "postgres://u@h/db",
		"postgres://u:p@h/db":                  "postgres://u:xxxxx@h/db",
		"https://h/cb?client_secret=s&state=x": "https://h/cb?client_secret=xxxxx&state=x",
		"://bad":                               "[redacted]",
	}
	for in, want := range cases {
		got := RedactURL(in)
		require.Equal(t, want, got, in)
		require.False(t, strings.Contains(got, ":p@"))
	}
}
