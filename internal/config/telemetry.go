package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Telemetry configures metrics and traces.
type Telemetry struct {
	// MetricsAddr is the worker's listener for Prometheus's /metrics; ""
	// disables it.
	MetricsAddr string
	// Pprof adds Go's profiling handlers (/debug/pprof/) to the worker's
	// metrics listener. Off by default: profiles expose internals and cost
	// CPU while they are taken.
	Pprof bool
	// AdminAddr is the link server's operator listener (/metrics, and
	// the status page); "" disables it.
	AdminAddr string
	// AdminToken, when set, protects the status page with HTTP Basic auth
	// (any user name, this password). Secret.
	AdminToken string
	// OTLPEndpoint is the base URL of an OTLP/HTTP collector (e.g.
	// http://otel-collector:4318); traces and metrics are pushed to
	// /v1/traces and /v1/metrics under it. Empty: nothing is pushed and no
	// trace is recorded.
	OTLPEndpoint string
	// TraceSampleRatio is the share of new traces recorded (0 to 1). A
	// request that arrives with a sampled trace context follows its
	// caller's decision.
	TraceSampleRatio float64
}

// Environment variables of the telemetry configuration.
const (
	EnvMetricsAddr      = "PFMSYNC_METRICS_ADDR"
	EnvPprof            = "PFMSYNC_PPROF"
	EnvAdminAddr        = "PFMSYNC_ADMIN_ADDR"
	EnvAdminToken       = "PFMSYNC_ADMIN_TOKEN"
	EnvOTLPEndpoint     = "PFMSYNC_OTLP_ENDPOINT"
	EnvTraceSampleRatio = "PFMSYNC_TRACE_SAMPLE_RATIO"
)

// addrOff is the value that disables a listener.
const addrOff = "off"

// otlpEndpoint reads the collector's base URL.
func (r *reader) otlpEndpoint(name string) string {
	v := strings.TrimRight(r.raw(name), "/")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		r.fail(name, "must be an absolute http(s) URL, e.g. http://otel-collector:4318")
	case u.RawQuery != "" || u.Fragment != "":
		r.fail(name, "must not carry a query or fragment (set headers with OTEL_EXPORTER_OTLP_HEADERS)")
	}
	return v
}

// listenAddr reads a host:port listen address; "off" disables it ("").
func (r *reader) listenAddr(name, def string) string {
	v := r.raw(name)
	switch {
	case v == "":
		return def
	case strings.EqualFold(v, addrOff):
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		r.fail(name, fmt.Sprintf("must be host:port (e.g. 127.0.0.1:9091, :9091) or %q, got %q", addrOff, v))
		return def
	}
	return v
}

// ratio reads a number from 0 to 1.
func (r *reader) ratio(name string, def float64) float64 {
	v := r.raw(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		r.fail(name, fmt.Sprintf("must be a number from 0 to 1, got %q", v))
		return def
	}
	return f
}
