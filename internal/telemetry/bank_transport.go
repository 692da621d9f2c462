package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/pfm"
)

// Labels of BankTransport.
const (
	routeOther          = "other"   // a path outside the known Banno routes
	institutionUnknown  = "unknown" // a URL under no configured base URL
	statusNoResponse    = "error"   // the request got no response
	tokenRoute          = "POST /oidc/token"
	grantRefreshToken   = "refresh_token"
	maxOAuthErrorBody   = 64 << 10
	maxTokenRequestBody = 16 << 10
)

// bankRouteLiterals are the path segments of the Banno routes pfmsync
// calls (Consumer API and OpenID provider); bankRouteParams the segments
// followed by an id, and the placeholder that replaces it.
var (
	bankRouteLiterals = map[string]bool{
		"users": true, "accounts": true, "transactions": true, "fetch": true, "tasks": true,
		"oidc": true, "token": true, "revocation": true, ".well-known": true, "openid-configuration": true,
		"jwks": true, "me": true, "auth": true,
	}
	bankRouteParams = map[string]string{"users": "{userId}", "accounts": "{accountId}", "tasks": "{taskId}"}
	// oauthErrorCodes are the RFC 6749 token error codes kept as error
	// classes; any other code counts as its HTTP status class.
	oauthErrorCodes = map[string]bool{
		"invalid_grant": true, "invalid_client": true, "invalid_request": true, "unauthorized_client": true,
		"unsupported_grant_type": true, "invalid_scope": true, "server_error": true, "temporarily_unavailable": true,
	}
)

// BankTransport returns a RoundTripper over base (nil: http.DefaultTransport)
// that records every request to a bank: pfmsync_bank_api_requests_total and
// pfmsync_bank_api_request_duration_seconds by institution (matched by the
// institutions' base URLs), route template ("GET
// /users/{userId}/accounts") and status, the duration running until the
// body is read or closed. Refresh-token exchanges that fail are counted in
// pfmsync_token_refresh_failures_total by OAuth error code (invalid_grant,
// invalid_client, …), rate_limited, http_5xx, http_4xx or network. Ids,
// query strings and tokens never become labels. Give it to the bank
// clients as their base transport, beneath their own instrumentation.
func (t *Telemetry) BankTransport(base http.RoundTripper, institutions []config.Institution) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	bt := &bankTransport{base: base, in: t.instruments}
	for _, in := range institutions {
		u, err := url.Parse(strings.TrimRight(in.BaseURL, "/"))
		if err != nil {
			continue
		}
		bt.prefixes = append(bt.prefixes, bankPrefix{scheme: u.Scheme, host: u.Host, path: u.Path, slug: in.Slug})
	}
	// The longest base path wins when institutions share a host.
	sort.SliceStable(bt.prefixes, func(i, j int) bool { return len(bt.prefixes[i].path) > len(bt.prefixes[j].path) })
	return bt
}

type bankPrefix struct{ scheme, host, path, slug string }

type bankTransport struct {
	base     http.RoundTripper
	in       *instruments
	prefixes []bankPrefix
}

// CloseIdleConnections closes the base transport's idle connections.
func (t *bankTransport) CloseIdleConnections() {
	type idleCloser interface{ CloseIdleConnections() }
	if ic, ok := t.base.(idleCloser); ok {
		ic.CloseIdleConnections()
	}
}

// RoundTrip sends r and records it.
func (t *bankTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	institution, route := t.classify(r)
	refresh := route == tokenRoute && isRefreshGrant(r)
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	inst := keyInstitution.String(institution)
	record := func(status string) {
		ctx := context.Background()
		t.in.bankRequests.Add(ctx, 1, metric.WithAttributes(inst, keyRoute.String(route), keyStatus.String(status)))
		t.in.bankRequestDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(inst, keyRoute.String(route)))
	}
	if err != nil {
		record(statusNoResponse)
		if refresh && r.Context().Err() == nil {
			t.in.tokenRefreshFailures.Add(context.Background(), 1, metric.WithAttributes(inst, keyErrorClass.String("network")))
		}
		return resp, err
	}
	if refresh && resp.StatusCode >= 400 {
		class := oauthErrorClass(resp)
		t.in.tokenRefreshFailures.Add(context.Background(), 1, metric.WithAttributes(inst, keyErrorClass.String(class)))
	}
	status := strconv.Itoa(resp.StatusCode)
	if resp.Body == nil || resp.Body == http.NoBody {
		record(status)
		return resp, nil
	}
	resp.Body = &observedBody{ReadCloser: resp.Body, done: func() { record(status) }}
	return resp, nil
}

// classify returns the institution and the route template of r.
func (t *bankTransport) classify(r *http.Request) (institution, route string) {
	u := r.URL
	for _, p := range t.prefixes {
		if !strings.EqualFold(u.Host, p.host) || !strings.EqualFold(u.Scheme, p.scheme) {
			continue
		}
		rest, ok := strings.CutPrefix(u.Path, p.path)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			continue
		}
		return p.slug, bankRoute(r.Method, rest)
	}
	return institutionUnknown, routeOther
}

// bankRoute turns a method and a path below an institution's base URL into
// a route template, or "other" for a path outside the known routes.
func bankRoute(method, path string) string {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead:
	default:
		return routeOther
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	out := make([]string, 0, len(segs))
	for i := 0; i < len(segs); i++ {
		s := segs[i]
		if !bankRouteLiterals[s] {
			return routeOther
		}
		out = append(out, s)
		if p, ok := bankRouteParams[s]; ok && i+1 < len(segs) {
			out = append(out, p)
			i++
		}
	}
	return method + " /" + strings.Join(out, "/")
}

// isRefreshGrant reports whether a token request exchanges a refresh
// token, reading a copy of its form body.
func isRefreshGrant(r *http.Request) bool {
	if r.GetBody == nil {
		return false
	}
	body, err := r.GetBody()
	if err != nil {
		return false
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxTokenRequestBody))
	if err != nil {
		return false
	}
	form, err := url.ParseQuery(string(b))
	return err == nil && form.Get("grant_type") == grantRefreshToken
}

// oauthErrorClass classifies a failed token response: its OAuth error
// code when it is a standard one, else by status. The body is read (up to
// a bound) and put back for the caller.
func oauthErrorClass(resp *http.Response) string {
	if resp.Body != nil && resp.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxOAuthErrorBody))
		resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(b), resp.Body), Closer: resp.Body}
		var e struct {
			Error string `json:"error"`
		}
		if err == nil && json.Unmarshal(b, &e) == nil && oauthErrorCodes[e.Error] {
			return e.Error
		}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return string(pfm.ClassRateLimited)
	case resp.StatusCode >= 500:
		return "http_5xx"
	default:
		return "http_4xx"
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// observedBody calls done once, when the body is read to its end (or
// fails) or closed.
type observedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *observedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *observedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
