package config

import (
	"log/slog"
	"os"
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
	v := cfg.LogValue()
	require.Equal(t, slog.KindGroup, v.Kind())
	for _, a := range v.Group() {
		require.Contains(t, s, a.Key+"="+a.Value.String())
	}
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

func TestLoadInstitutionsAndLinkServer(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	secretFile := dir + "/secret"
	require.NoError(t, os.WriteFile(secretFile, []byte("file-secret-XYZ\n"), 0o600))
	cfg, err := Load(env(map[string]string{
		EnvDatabaseURL: "postgres://localhost/pfm",
		EnvInstitutions: `[
			{"slug": "garden-fi", "name": "Garden", "base_url": "https://digital.garden-fi.com/a/consumer/api/v0/", "client_id": "c1", "client_secret_env": "GARDEN_SECRET", "requests_per_second": 2},
			{"slug": "sandbox", "base_url": "http://127.0.0.1:8080/a/consumer/api/v0", "client_id": "c2", "client_secret_file": "` + secretFile + `"}
		]`,
		"GARDEN_SECRET": "env-secret-ABC",
		EnvTokenKeys:    "v1:AAAA",
		EnvAppKey:       "app-key-SECRET",
		EnvPublicURL:    "https://link.example.com/",
		EnvReturnURLs:   "https://app.example.com/, https://staging.example.com/cb",
	}))
	require.NoError(t, err)
	require.Len(t, cfg.Institutions, 2)
	g, ok := cfg.Institution("garden-fi")
	require.True(t, ok)
	require.Equal(t, "env-secret-ABC", g.ClientSecret)
	require.Equal(t, "https://digital.garden-fi.com/a/consumer/api/v0", g.BaseURL)
	require.Equal(t, 2.0, g.RequestsPerSecond)
	require.Equal(t, 10, g.Burst)
	s, _ := cfg.Institution("sandbox")
	require.Equal(t, "file-secret-XYZ", s.ClientSecret)
	require.Equal(t, "sandbox", s.Name)
	require.Equal(t, "https://link.example.com", cfg.Link.PublicURL)
	require.Equal(t, []string{"https://app.example.com/", "https://staging.example.com/cb"}, cfg.Link.ReturnURLs)

	dump := cfg.String()
	for _, secret := range []string{"env-secret-ABC", "file-secret-XYZ", "AAAA", "app-key-SECRET"} {
		require.NotContains(t, dump, secret)
	}
	require.Contains(t, dump, "institution.garden-fi={base_url=https://digital.garden-fi.com/a/consumer/api/v0 client_id=c1 client_secret=[redacted]")
}

func TestLoadInstitutionErrors(t *testing.T) {
	t.Parallel()

	for name, inst := range map[string]string{
		"not json":       `nope`,
		"unknown field":  `[{"slug":"a","base_url":"https://h/a","client_id":"c","client_secret_env":"S","colour":"red"}]`,
		"bad slug":       `[{"slug":"A B","base_url":"https://h/a","client_id":"c","client_secret_env":"S"}]`,
		"no secret":      `[{"slug":"a","base_url":"https://h/a","client_id":"c"}]`,
		"empty secret":   `[{"slug":"a","base_url":"https://h/a","client_id":"c","client_secret_env":"UNSET"}]`,
		"duplicate slug": `[{"slug":"a","base_url":"https://h/a","client_id":"c","client_secret_env":"S"},{"slug":"a","base_url":"https://h/a","client_id":"c","client_secret_env":"S"}]`,
		"bad url":        `[{"slug":"a","base_url":"h/a","client_id":"c","client_secret_env":"S"}]`,
	} {
		_, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvInstitutions: inst, "S": "shh-secret"}))
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), "shh-secret", name)
	}
}

func TestVariablesAreAllRead(t *testing.T) {
	t.Parallel()

	read := map[string]bool{}
	_, _ = Load(func(k string) string { read[k] = true; return "" })
	for _, v := range Variables() {
		require.True(t, read[v], "%s is listed but never read", v)
	}
	for k := range read {
		require.Contains(t, Variables(), k, "%s is read but not listed", k)
	}
}

func TestMaxConcurrentSyncsUnsetBoundsNothingDeploymentWide(t *testing.T) {
	t.Parallel()
	insts := `[
		{"slug": "a", "base_url": "https://a.example.com/a/consumer/api/v0", "client_id": "c1", "client_secret_env": "S"},
		{"slug": "b", "base_url": "https://b.example.com/a/consumer/api/v0", "client_id": "c2", "client_secret_env": "S", "max_concurrent_syncs": 3}
	]`
	load := func(concurrency string) Config {
		vars := map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvInstitutions: insts, "S": "secret"}
		if concurrency != "" {
			vars[EnvWorkerConcurrency] = concurrency
		}
		cfg, err := Load(env(vars))
		require.NoError(t, err)
		return cfg
	}
	cfg := load("")
	a, _ := cfg.Institution("a")
	b, _ := cfg.Institution("b")
	require.Zero(t, a.MaxConcurrentSyncs, "unset: no deployment-wide bound, so adding a worker process adds syncs")
	require.Equal(t, 3, b.MaxConcurrentSyncs, "an explicit value is kept")

	cfg = load("25")
	a, _ = cfg.Institution("a")
	require.Zero(t, a.MaxConcurrentSyncs, "the worker concurrency does not become a deployment-wide bound")
}

func TestLoadDataLifecycle(t *testing.T) {
	t.Parallel()
	cfg, err := Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/db"}))
	require.NoError(t, err)
	require.Equal(t, Data{SyncRunDays: DefaultSyncRunDays}, cfg.Data, "retention that deletes is off, unlinking keeps data, no profile scope")
	require.Contains(t, cfg.String(), "data.unlink=keep")

	cfg, err = Load(env(map[string]string{
		EnvDatabaseURL: "postgres://localhost/db", EnvUnlinkData: "purge", EnvRetentionRevoked: "30",
		EnvRetentionChangeFeed: "400", EnvRetentionSyncRuns: "7", EnvProfileData: "true",
	}))
	require.NoError(t, err)
	require.Equal(t, Data{UnlinkPurge: true, RevokedLinkDays: 30, ChangeFeedDays: 400, SyncRunDays: 7, ProfileData: true}, cfg.Data)
	require.Contains(t, cfg.String(), "data.unlink=purge")

	_, err = Load(env(map[string]string{
		EnvDatabaseURL: "postgres://localhost/db", EnvUnlinkData: "delete", EnvRetentionRevoked: "-1", EnvRetentionSyncRuns: "0",
	}))
	require.Error(t, err)
	for _, name := range []string{EnvUnlinkData, EnvRetentionRevoked, EnvRetentionSyncRuns} {
		require.ErrorContains(t, err, name)
	}
}
