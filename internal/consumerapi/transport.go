package consumerapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"golang.org/x/time/rate"
)

// routeKey carries the route template of an outgoing request in its
// context, for span names and logs.
type routeKey struct{}

// withRoute tags ctx with the route template ("GET /users/{userId}").
func withRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, routeKey{}, route)
}

// routeFrom returns the route template of ctx, or "".
func routeFrom(ctx context.Context) string {
	r, _ := ctx.Value(routeKey{}).(string)
	return r
}

// spanName names client spans by route template, never by raw URL: URLs
// carry user and account ids.
func spanName(_ string, r *http.Request) string {
	if route := routeFrom(r.Context()); route != "" {
		return "banno " + route
	}
	return "banno HTTP " + r.Method
}

// defaultVersion is the pfmsync version in the User-Agent when none is
// configured: the main module's version from the build info, or "dev".
func defaultVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// userAgent builds the User-Agent header value.
func userAgent(version string) string {
	return fmt.Sprintf("pfmsync/%s (+https://github.com/pfmsync/pfmsync)", version)
}

// newBaseTransport is the institution's connection pool with its phase
// timeouts.
func newBaseTransport(inst Institution) *http.Transport {
	dialer := &net.Dialer{Timeout: inst.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   inst.TLSHandshakeTimeout,
		ResponseHeaderTimeout: inst.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   8,
	}
}

// headerTransport sets the User-Agent on every request, the token
// endpoint's included.
type headerTransport struct {
	next      http.RoundTripper
	userAgent string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", t.userAgent)
	return t.next.RoundTrip(r)
}

// limitTransport spends the institution's request budget: every request
// waits for a token of the shared limiter, respecting its context.
type limitTransport struct {
	next    http.RoundTripper
	limiter *rate.Limiter
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(r.Context()); err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// The wait would outlast the context's deadline.
		return nil, fmt.Errorf("%w: %v", ErrRequestBudget, err)
	}
	return t.next.RoundTrip(r)
}

// newHTTPClient assembles the one http.Client of an institution:
//
//	request → User-Agent → rate limit → OpenTelemetry span → connection pool
//
// It has no retry layer: retries are done per call by Client.call, for
// idempotent GETs only, so the token endpoint is never replayed. Trace
// context is not propagated to the institution (spans are local only)
// unless otelOpts configure a propagator.
func newHTTPClient(inst Institution, base http.RoundTripper, limiter *rate.Limiter, ua string, otelOpts []otelhttp.Option) *http.Client {
	opts := append([]otelhttp.Option{
		otelhttp.WithSpanNameFormatter(spanName),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
	}, otelOpts...)
	var rt http.RoundTripper = otelhttp.NewTransport(base, opts...)
	rt = &limitTransport{next: rt, limiter: limiter}
	rt = &headerTransport{next: rt, userAgent: ua}
	return &http.Client{
		Transport: rt,
		Timeout:   inst.HTTPTimeout,
		// The institution has no reason to redirect API calls; following a
		// redirect would carry the bearer token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
