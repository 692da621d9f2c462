package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInstitutionIssuerAndScopes(t *testing.T) {
	t.Parallel()
	base := map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", "SECRET": "s3cret"}
	load := func(list string) (Config, error) {
		e := map[string]string{EnvInstitutions: list}
		for k, v := range base {
			e[k] = v
		}
		return Load(env(e))
	}
	cfg, err := load(`[{"slug":"mobile-fi","base_url":"https://mobile.example/a/consumer/api/v0","client_id":"c",
		"client_secret_env":"SECRET","issuer":"https://api.banno.example/a/consumer/api/v0/oidc/",
		"scopes":["openid","offline_access"]}]`)
	require.NoError(t, err)
	in, ok := cfg.Institution("mobile-fi")
	require.True(t, ok)
	require.Equal(t, "https://api.banno.example/a/consumer/api/v0/oidc", in.Issuer)
	require.Equal(t, []string{"openid", "offline_access"}, in.Scopes)
	require.Equal(t, DefaultIDTokenClockSkew, cfg.Link.IDTokenClockSkew)
	require.Equal(t, 300*time.Second, cfg.Link.IDTokenClockSkew)
	require.Equal(t, 3, cfg.Worker.AuthFailureThreshold)

	_, err = load(`[{"slug":"a","base_url":"https://x.example/a","client_id":"c","client_secret_env":"SECRET","scopes":["offline_access"]}]`)
	require.ErrorContains(t, err, `scopes must contain "openid"`)
	_, err = load(`[{"slug":"a","base_url":"https://x.example/a","client_id":"c","client_secret_env":"SECRET","issuer":"not a url"}]`)
	require.ErrorContains(t, err, "issuer must be an absolute URL")

	e := map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvIDTokenClockSkew: "45s", EnvAuthFailures: "5"}
	cfg, err = Load(env(e))
	require.NoError(t, err)
	require.Equal(t, 45*time.Second, cfg.Link.IDTokenClockSkew)
	require.Equal(t, 5, cfg.Worker.AuthFailureThreshold)
	_, err = Load(env(map[string]string{EnvDatabaseURL: "postgres://localhost/pfm", EnvAuthFailures: "0"}))
	require.ErrorContains(t, err, EnvAuthFailures)
}
