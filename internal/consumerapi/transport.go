package consumerapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
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

// RequestGate decides when a request to the institution may be sent. The
// default is an in-process token bucket (Institution.RequestsPerSecond and
// Burst); a deployment of several processes gives each client a gate that
// shares one budget through the database (WithRequestGate).
type RequestGate interface {
	// Wait blocks until one request may be sent, or returns an error when
	// ctx ends first or the wait would outlast ctx's deadline.
	Wait(ctx context.Context) error
	// Pause is told that the institution asked for a pause of d (a 429, or
	// a 503 with Retry-After): no request should be sent before it ends.
	Pause(ctx context.Context, d time.Duration)
}

// DefaultPause is how long a 429 without a Retry-After pauses requests.
const DefaultPause = 5 * time.Second

// localGate is the in-process RequestGate: a token bucket and a pause.
type localGate struct {
	limiter *rate.Limiter
	now     func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
}

func newLocalGate(rps float64, burst int) *localGate {
	return &localGate{limiter: rate.NewLimiter(rate.Limit(rps), burst), now: time.Now}
}

func (g *localGate) Wait(ctx context.Context) error {
	g.mu.Lock()
	wait := g.pausedUntil.Sub(g.now())
	g.mu.Unlock()
	if wait > 0 {
		if deadline, ok := ctx.Deadline(); ok && g.now().Add(wait).After(deadline) {
			return fmt.Errorf("%w: the institution asked for a pause of %s", ErrRequestBudget, wait.Round(time.Millisecond))
		}
		if err := sleepContext(ctx, wait); err != nil {
			return err
		}
	}
	return g.limiter.Wait(ctx)
}

func (g *localGate) Pause(_ context.Context, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := g.now().Add(d); until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
}

// limitTransport spends the institution's request budget: every request
// waits for the gate, respecting its context, and a response asking for a
// pause pauses the gate, hence every request to the institution.
type limitTransport struct {
	next http.RoundTripper
	gate RequestGate
	now  func() time.Time
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.gate.Wait(r.Context()); err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if errors.Is(err, ErrRequestBudget) {
			return nil, err
		}
		// The wait would outlast the context's deadline.
		return nil, fmt.Errorf("%w: %v", ErrRequestBudget, err)
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if d, ok := pauseAsked(resp, t.now()); ok {
		t.gate.Pause(r.Context(), d)
	}
	return resp, nil
}

// pauseAsked reports whether a response asks the client to stop sending for
// a while: a 429 (Retry-After, or DefaultPause without one) or a 503 with
// Retry-After.
func pauseAsked(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	d, set := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	switch {
	case set:
		return d, d > 0
	case resp.StatusCode == http.StatusTooManyRequests:
		return DefaultPause, true
	}
	return 0, false
}

// newHTTPClient assembles the one http.Client of an institution:
//
//	request → User-Agent → rate limit → OpenTelemetry span → connection pool
//
// It has no retry layer: retries are done per call by Client.call, for
// idempotent GETs only, so the token endpoint is never replayed. Trace
// context is not propagated to the institution (spans are local only)
// unless otelOpts configure a propagator.
func newHTTPClient(inst Institution, base http.RoundTripper, gate RequestGate, ua string, otelOpts []otelhttp.Option) *http.Client {
	opts := append([]otelhttp.Option{
		otelhttp.WithSpanNameFormatter(spanName),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
	}, otelOpts...)
	var rt http.RoundTripper = otelhttp.NewTransport(base, opts...)
	rt = &limitTransport{next: rt, gate: gate, now: time.Now}
	rt = &headerTransport{next: rt, userAgent: ua}
	return &http.Client{
		Transport: rt,
		Timeout:   inst.HTTPTimeout,
		// The institution has no reason to redirect API calls; following a
		// redirect would carry the bearer token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
