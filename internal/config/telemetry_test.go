package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadTelemetry(t *testing.T) {
	t.Parallel()
	base := map[string]string{EnvDatabaseURL: "postgres://localhost/pfm"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := Load(env(base))
		require.NoError(t, err)
		require.Equal(t, Telemetry{MetricsAddr: "127.0.0.1:9091", AdminAddr: "127.0.0.1:8082", TraceSampleRatio: 1}, cfg.Telemetry)
		require.Contains(t, cfg.String(), "telemetry.metrics_addr=127.0.0.1:9091 telemetry.pprof=false telemetry.admin_addr=127.0.0.1:8082 telemetry.admin_token=(unset) telemetry.otlp_endpoint= telemetry.trace_sample_ratio=1")
	})

	t.Run("Set", func(t *testing.T) {
		t.Parallel()
		cfg, err := Load(env(with(EnvMetricsAddr, ":9100", EnvPprof, "true", EnvAdminAddr, "OFF",
			EnvOTLPEndpoint, "https://collector:secret@otel.example:4318/", EnvTraceSampleRatio, "0.25")))
		require.NoError(t, err)
		require.Equal(t, Telemetry{MetricsAddr: ":9100", Pprof: true, OTLPEndpoint: "https://collector:secret@otel.example:4318", TraceSampleRatio: 0.25}, cfg.Telemetry)
		s := cfg.String()
		require.Contains(t, s, "telemetry.metrics_addr=:9100 telemetry.pprof=true telemetry.admin_addr=off telemetry.admin_token=(unset) telemetry.otlp_endpoint=https://collector:xxxxx@otel.example:4318 telemetry.trace_sample_ratio=0.25")
		require.NotContains(t, s, "secret")
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for name, kv := range map[string][]string{
			"MetricsAddrNoPort": {EnvMetricsAddr, "localhost"},
			"PprofNotABool":     {EnvPprof, "maybe"},
			"AdminAddrBadPort":  {EnvAdminAddr, "127.0.0.1:http"},
			"EndpointNoScheme":  {EnvOTLPEndpoint, "otel-collector:4318"},
			"EndpointQuery":     {EnvOTLPEndpoint, "http://otel-collector:4318?token=x"},
			"RatioTooBig":       {EnvTraceSampleRatio, "1.5"},
			"RatioNaN":          {EnvTraceSampleRatio, "NaN"},
		} {
			_, err := Load(env(with(kv...)))
			require.ErrorContains(t, err, kv[0], name)
		}
	})
}
