package consumerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Client talks to one Banno institution: its OIDC provider and its Consumer
// API. It is safe for concurrent use; create one per institution and reuse
// it. Per-user calls go through a [Session].
type Client struct {
	inst      Institution
	http      *http.Client
	base      http.RoundTripper
	logger    *slog.Logger
	userAgent string

	// Seams for tests; production uses the real clock.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	discMu sync.Mutex
	disc   *discovery

	// recent remembers the secrets the client handled recently, so that a
	// provider echoing one in a later error is redacted too.
	recent *recentSecrets
}

// Option configures New.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	version   string
	transport http.RoundTripper
	otel      []otelhttp.Option
	eager     bool
	gate      RequestGate
}

// WithLogger sets the logger (default slog.Default()). Logs never contain
// tokens or the client secret.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithVersion sets the pfmsync version sent in the User-Agent
// ("pfmsync/<version> (+https://github.com/pfmsync/pfmsync)"). Default: the
// main module's version from the build info, or "dev".
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithTransport replaces the pooled base transport (for a proxy, custom TLS
// roots or tests). The dial, TLS and response-header timeouts of the
// Institution then belong to that transport; the overall HTTPTimeout, rate
// limit, User-Agent and instrumentation still apply.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithOTelOptions passes options to otelhttp.NewTransport, e.g. a tracer or
// meter provider. By default the global providers are used.
func WithOTelOptions(opts ...otelhttp.Option) Option {
	return func(o *options) { o.otel = append(o.otel, opts...) }
}

// WithRequestGate replaces the in-process request budget
// (Institution.RequestsPerSecond and Burst) with g, e.g. one shared by every
// process of a deployment. Every request, the token endpoint's included,
// waits for g, and a response asking for a pause is reported to it.
func WithRequestGate(g RequestGate) Option { return func(o *options) { o.gate = g } }

// WithEagerDiscovery makes New fetch the discovery document immediately and
// fail when it cannot. By default discovery is lazy: it happens on the first
// OAuth call, and a failure is retried on the next one.
func WithEagerDiscovery() Option { return func(o *options) { o.eager = true } }

// New validates inst (after applying defaults) and builds its client: one
// http.Client with the institution's timeouts, rate limit and
// instrumentation. Discovery is lazy unless WithEagerDiscovery is given; once
// it succeeds its result is cached for the life of the Client (the JWKS is
// refetched by the verifier when an unknown key id shows up).
func New(ctx context.Context, inst Institution, opts ...Option) (*Client, error) {
	inst = inst.WithDefaults()
	if err := inst.Validate(); err != nil {
		return nil, err
	}
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.version == "" {
		o.version = defaultVersion()
	}
	base := o.transport
	if base == nil {
		base = newBaseTransport(inst)
	}
	gate := o.gate
	if gate == nil {
		gate = newLocalGate(inst.RequestsPerSecond, inst.Burst)
	}
	ua := userAgent(o.version)
	c := &Client{
		inst:      inst,
		http:      newHTTPClient(inst, base, gate, ua, o.otel),
		base:      base,
		logger:    o.logger.With(slog.String("institution", inst.Slug)),
		userAgent: ua,
		now:       time.Now,
		sleep:     sleepContext,
		recent:    newRecentSecrets(maxRecentSecrets, maxRecentSecretAge, time.Now),
	}
	if o.eager {
		if _, err := c.discover(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Institution returns the effective configuration (defaults applied).
func (c *Client) Institution() Institution { return c.inst }

// UserAgent returns the User-Agent header the client sends.
func (c *Client) UserAgent() string { return c.userAgent }

// Close releases idle connections.
func (c *Client) Close() {
	type idleCloser interface{ CloseIdleConnections() }
	if ic, ok := c.base.(idleCloser); ok {
		ic.CloseIdleConnections()
	}
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// apiRequest describes one Consumer API (or discovery) call.
type apiRequest struct {
	method string
	// route is the path template, e.g. "/users/{userId}/accounts".
	route string
	// url is the full URL with escaped ids and query.
	url string
	// token is the bearer token; empty for unauthenticated calls.
	token Secret
	// decode consumes a 2xx body. An error wrapping ErrTruncatedBody is
	// retried for GETs; anything else is malformed.
	decode func(body []byte) error
	// filter, when set, makes a new bodyFilter for each attempt; a 2xx
	// body is passed through it as it is read and decode sees only what
	// it kept.
	filter func() bodyFilter
}

// apiURL joins the base URL, an escaped path and a query.
func (c *Client) apiURL(path string, q url.Values) string {
	u := c.inst.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// call runs r, retrying idempotent GETs on transient failures with jittered
// exponential backoff and honouring Retry-After up to the configured cap.
// Other methods get exactly one attempt.
func (c *Client) call(ctx context.Context, r apiRequest) error {
	endpoint := r.method + " " + r.route
	ctx = withRoute(ctx, endpoint)
	maxAttempts := 1
	if r.method == http.MethodGet {
		maxAttempts = c.inst.Retry.MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		start := c.now()
		apiErr := c.attempt(ctx, r, endpoint)
		if apiErr == nil {
			c.logger.DebugContext(ctx, "banno request done", slog.String("route", endpoint),
				slog.Int("attempt", attempt), slog.Duration("duration", c.now().Sub(start)))
			return nil
		}
		apiErr.Attempts = attempt
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The caller gave up: report that, not the symptom.
			apiErr.Kind = classifyCause(ctxErr)
			if !errors.Is(apiErr.Err, ctxErr) {
				apiErr.Err = errors.Join(apiErr.Err, ctxErr)
			}
			return apiErr
		}
		if attempt >= maxAttempts || errors.Is(apiErr.Err, ErrRequestBudget) ||
			(apiErr.Kind != KindTransient && apiErr.Kind != KindRateLimited) {
			return apiErr
		}
		delay, ok := c.retryDelay(attempt, apiErr)
		if !ok {
			return apiErr
		}
		if deadline, has := ctx.Deadline(); has && c.now().Add(delay).After(deadline) {
			// The caller's deadline comes first: hand the error back now.
			return apiErr
		}
		c.logger.WarnContext(ctx, "banno request failed, retrying",
			slog.String("route", endpoint), slog.Int("attempt", attempt),
			slog.Int("status", apiErr.StatusCode), slog.String("error_class", apiErr.Kind.String()),
			slog.Duration("delay", delay))
		if err := c.sleep(ctx, delay); err != nil {
			apiErr.Kind = classifyCause(err)
			apiErr.Err = errors.Join(apiErr.Err, err)
			return apiErr
		}
	}
}

// retryDelay returns how long to wait before the next attempt, or false when
// the server asked for a longer pause than the client waits by itself.
func (c *Client) retryDelay(attempt int, e *APIError) (time.Duration, bool) {
	p := c.inst.Retry
	if e.retryAfterSet {
		if e.RetryAfter > p.MaxRetryAfter {
			return 0, false
		}
		return e.RetryAfter, true
	}
	d := p.BaseDelay << min(attempt-1, 30)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	// Equal jitter: half fixed, half random, so that clients that failed
	// together do not retry together.
	half := d / 2
	if half <= 0 {
		return d, true
	}
	return half + rand.N(half+1), true
}

// attempt makes one HTTP request and decodes its body.
func (c *Client) attempt(ctx context.Context, r apiRequest, endpoint string) *APIError {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, nil)
	if err != nil {
		return &APIError{Kind: KindPermanent, Endpoint: endpoint, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if !r.token.IsZero() {
		c.recent.remember(r.token)
		req.Header.Set("Authorization", "Bearer "+r.token.Reveal())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(ctx, endpoint, err)
	}
	defer resp.Body.Close()
	var body []byte
	var readErr error
	if r.filter != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		body, readErr = readFilteredBody(resp, c.inst.MaxBodyBytes, r.filter())
	} else {
		body, readErr = readBody(resp, c.inst.MaxBodyBytes)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		red := c.newRedactor(r.token)
		e := &APIError{StatusCode: resp.StatusCode, Endpoint: endpoint, RequestID: red.code(requestIDOf(resp.Header))}
		e.RetryAfter, e.retryAfterSet = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		e.Kind = kindForStatus(resp.StatusCode, e.retryAfterSet)
		if readErr == nil {
			e.fillFromBody(body, red)
		}
		return e
	}
	if readErr != nil {
		kind := KindTransient
		if errors.Is(readErr, ErrBodyTooLarge) {
			kind = KindPermanent
		}
		return &APIError{Kind: kind, StatusCode: resp.StatusCode, Endpoint: endpoint, Err: readErr,
			RequestID: c.newRedactor(r.token).code(requestIDOf(resp.Header))}
	}
	if r.decode == nil {
		return nil
	}
	if err := r.decode(body); err != nil {
		err = decodeError(err)
		kind := KindPermanent
		if errors.Is(err, ErrTruncatedBody) {
			kind = KindTransient
		}
		red := c.newRedactor(r.token)
		return &APIError{Kind: kind, StatusCode: resp.StatusCode, Endpoint: endpoint, Err: red.err(err),
			RequestID: red.code(requestIDOf(resp.Header))}
	}
	return nil
}

// transportError turns a failed http.Client.Do into an APIError without the
// URL (which carries ids) and classifies it.
func transportError(ctx context.Context, endpoint string, err error) *APIError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	kind := classifyCause(err)
	if ctx.Err() != nil {
		kind = classifyCause(ctx.Err())
	} else if kind == KindUnknown || kind == KindCanceled {
		// Any other failure to get a response (refused, reset, DNS, TLS,
		// client timeout) is worth another try.
		kind = KindTransient
	}
	return &APIError{Kind: kind, Endpoint: endpoint, Err: err}
}

// readBody reads at most max bytes. A body that ends before its
// Content-Length or whose connection breaks is ErrTruncatedBody; a larger
// one is ErrBodyTooLarge.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrBodyTooLarge, resp.ContentLength, max)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		// ReadFrom asks for MinRead bytes of room before every read,
		// including the one that meets EOF: without it, a full buffer
		// would be copied into one twice its size just to read nothing.
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w after %d bytes: %w", ErrTruncatedBody, n, err)
	}
	if n > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, max)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrTruncatedBody, n, resp.ContentLength)
	}
	return buf.Bytes(), nil
}

// filteredReadSize is how much of a filtered body is read at a time.
const filteredReadSize = 32 << 10

// keptBlockSize is the size of the blocks a filtered body's kept bytes
// are gathered in before they are joined.
const keptBlockSize = 64 << 10

// readFilteredBody is readBody passing the body through f as it is read,
// so that only what f keeps is ever held; the size and truncation checks
// apply to the body as sent. What is kept is gathered in fixed blocks and
// joined once at the end into a slice of its exact size: appending to one
// growing slice would allocate several times the kept size on the way (a
// transactions page, read 32 KiB at a time, several hundred KiB each).
func readFilteredBody(resp *http.Response, max int64, f bodyFilter) ([]byte, error) {
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrBodyTooLarge, resp.ContentLength, max)
	}
	r := io.LimitReader(resp.Body, max+1)
	chunk := make([]byte, filteredReadSize)
	var out []byte
	var blocks [][]byte
	total := 0
	var n int64
	for {
		m, err := r.Read(chunk)
		n += int64(m)
		if n > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, max)
		}
		out = f.filter(out[:0], chunk[:m])
		total += len(out)
		for p := out; len(p) > 0; {
			if len(blocks) == 0 || len(blocks[len(blocks)-1]) == keptBlockSize {
				blocks = append(blocks, make([]byte, 0, keptBlockSize))
			}
			b := &blocks[len(blocks)-1]
			k := min(len(p), keptBlockSize-len(*b))
			*b, p = append(*b, p[:k]...), p[k:]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w after %d bytes: %w", ErrTruncatedBody, n, err)
		}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrTruncatedBody, n, resp.ContentLength)
	}
	if total == 0 {
		return nil, nil
	}
	kept := make([]byte, 0, total)
	for _, b := range blocks {
		kept = append(kept, b...)
	}
	return kept, nil
}

// decodeError tells a body cut short (transient) from a malformed one. A
// body is cut short when the decoder met its end inside a value: a prefix
// of valid JSON never holds an invalid byte, so a syntax error anywhere
// else, even on the body's last byte ("{}x"), is malformed.
func decodeError(err error) error {
	if errors.Is(err, ErrTruncatedBody) || errors.Is(err, ErrMalformedBody) {
		return err
	}
	var se *json.SyntaxError
	if errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &se) && se.Error() == jsonEndMessage) {
		return fmt.Errorf("%w: %w", ErrTruncatedBody, err)
	}
	return fmt.Errorf("%w: %w", ErrMalformedBody, err)
}

// jsonEndMessage is the message of encoding/json's SyntaxError for input
// that ends inside a value.
const jsonEndMessage = "unexpected end of JSON input"

// decodeJSON returns a decode function that unmarshals a JSON object into
// v. A body that is not an object (null, an array, a string) is malformed.
func decodeJSON(v any) func([]byte) error {
	return func(b []byte) error {
		if err := requireObject(b); err != nil {
			return err
		}
		return json.Unmarshal(b, v)
	}
}

// requireObject checks that b starts like a JSON object. An empty body is
// reported as truncated.
func requireObject(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty body", ErrTruncatedBody)
	case b[0] != '{':
		return fmt.Errorf("%w: expected a JSON object, got %s", ErrMalformedBody, truncateForError(b))
	}
	return nil
}
