package telemetry

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
)

// ServerOptions adjust HTTPHandler.
type ServerOptions struct {
	// ServerName is the server.address reported in metrics and spans
	// (e.g. the public URL's host), instead of the Host header that any
	// client can set.
	ServerName string
	// TrustTraceContext reports whether a request's W3C trace context may
	// parent its span (e.g. the app backend's API calls). Other requests
	// start a new trace, linked to the caller's. Nil trusts none.
	TrustTraceContext func(*http.Request) bool
}

// HTTPHandler instruments an HTTP server: one span per request named by
// method and the ServeMux pattern that matched ("GET /link/callback";
// just the method when none did), never by raw URL or query string, and
// the http_server_request_duration_seconds histogram (with request and
// response body sizes) by method, status and route.
func (t *Telemetry) HTTPHandler(h http.Handler, o ServerOptions) http.Handler {
	trust := o.TrustTraceContext
	if trust == nil {
		trust = func(*http.Request) bool { return false }
	}
	opts := []otelhttp.Option{
		otelhttp.WithTracerProvider(t.tracerProvider),
		otelhttp.WithMeterProvider(t.meterProvider),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithPublicEndpointFn(func(r *http.Request) bool { return !trust(r) }),
		otelhttp.WithSpanNameFormatter(serverSpanName),
	}
	if o.ServerName != "" {
		opts = append(opts, otelhttp.WithServerName(o.ServerName))
	}
	return otelhttp.NewHandler(h, "", opts...)
}

// serverSpanName names a server span by method and route pattern. It is
// called before routing (no pattern yet) and again after.
func serverSpanName(_ string, r *http.Request) string {
	if r.Pattern == "" {
		return r.Method
	}
	route := r.Pattern
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path
	}
	if i := strings.IndexByte(route, '/'); i > 0 {
		route = route[i:] // a host in the pattern
	}
	return r.Method + " " + route
}

// HTTPClientOptions are the otelhttp options of the bank clients
// (consumerapi.WithOTelOptions): this process's tracer provider. Their
// request metrics come from BankTransport, which labels them by
// institution and route, so otelhttp's own client metrics are not kept.
func (t *Telemetry) HTTPClientOptions() []otelhttp.Option {
	return []otelhttp.Option{
		otelhttp.WithTracerProvider(t.tracerProvider),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
	}
}
