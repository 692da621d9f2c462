package sandbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind names a kind of injected failure.
type FaultKind string

// The injectable faults.
const (
	// FaultRateLimit answers 429 with a Retry-After header.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultServerError answers Status (default 500; 502, 503 and 504 are
	// also useful); a 503 carries Retry-After when RetryAfter is set.
	FaultServerError FaultKind = "server_error"
	// FaultReset closes the connection without a response (TCP RST).
	FaultReset FaultKind = "reset"
	// FaultTruncate sends the real response's headers, promising the full
	// Content-Length, then half the body, then closes the connection.
	FaultTruncate FaultKind = "truncate"
	// FaultMalformed answers 200 with a body that is not the documented
	// JSON (cut off, HTML, an amount that is no decimal, or the wrong shape).
	FaultMalformed FaultKind = "malformed"
	// FaultLatency delays the request by Delay, then serves it normally.
	FaultLatency FaultKind = "latency"
)

var faultKinds = []FaultKind{FaultRateLimit, FaultServerError, FaultReset, FaultTruncate, FaultMalformed, FaultLatency}

// FaultRule injects one kind of fault into a share of matching requests.
type FaultRule struct {
	Kind FaultKind `json:"kind"`
	// Fraction of matching requests affected, 0 to 1. Zero means every
	// matching request (useful with Limit).
	Fraction float64 `json:"fraction,omitempty"`
	// Match is a substring of the request path. Empty matches every
	// Consumer API resource request; token endpoint faults must name it
	// (e.g. "/oidc/token").
	Match string `json:"match,omitempty"`
	// Method restricts the rule to one HTTP method.
	Method string `json:"method,omitempty"`
	// User restricts the rule to requests for one Banno user id.
	User string `json:"user,omitempty"`
	// Status for server_error.
	Status int `json:"status,omitempty"`
	// RetryAfter for rate_limit (default 1s) and 503.
	RetryAfter Duration `json:"retryAfter,omitempty"`
	// RetryAfterDate sends Retry-After as an HTTP date instead of seconds.
	RetryAfterDate bool `json:"retryAfterDate,omitempty"`
	// Delay for latency.
	Delay Duration `json:"delay,omitempty"`
	// Limit stops the rule after it has fired this many times (0: never).
	Limit int `json:"limit,omitempty"`
	// Fired counts how often the rule has fired (read-only).
	Fired int `json:"fired"`
}

// Budget is a per-client request budget: at most Requests Consumer API
// requests per client in each window of length Per. Requests beyond it are
// answered 429 with Retry-After set to the end of the window.
type Budget struct {
	Requests int      `json:"requests"`
	Per      Duration `json:"per"`
}

// Faults is the sandbox's fault configuration, settable at start (flags)
// and at run time (PUT /sandbox/faults).
type Faults struct {
	// Latency is added to every Consumer API and token request.
	Latency Duration `json:"latency,omitempty"`
	// TaskDelay is how long a fetch task runs before its balance events
	// and TaskEnded (default 300ms; make it long to simulate slow tasks).
	TaskDelay Duration `json:"taskDelay,omitempty"`
	// Budget, when set, limits each client's request rate.
	Budget *Budget `json:"budget,omitempty"`
	// Rules inject failures.
	Rules []FaultRule `json:"rules,omitempty"`
}

// Validate checks every rule.
func (f Faults) Validate() error {
	var errs []error
	if f.Latency < 0 || f.TaskDelay < 0 {
		errs = append(errs, errors.New("latency and taskDelay must not be negative"))
	}
	if f.Budget != nil && (f.Budget.Requests < 1 || f.Budget.Per <= 0) {
		errs = append(errs, errors.New("budget needs requests >= 1 and a positive per"))
	}
	for i, r := range f.Rules {
		known := false
		for _, k := range faultKinds {
			known = known || r.Kind == k
		}
		if !known {
			errs = append(errs, fmt.Errorf("rule %d: unknown kind %q (want one of %v)", i, r.Kind, faultKinds))
		}
		if r.Fraction < 0 || r.Fraction > 1 {
			errs = append(errs, fmt.Errorf("rule %d: fraction must be between 0 and 1", i))
		}
		if r.Kind == FaultServerError && r.Status != 0 && (r.Status < 500 || r.Status > 599) {
			errs = append(errs, fmt.Errorf("rule %d: server_error status must be 5xx", i))
		}
		if r.Kind == FaultLatency && r.Delay <= 0 {
			errs = append(errs, fmt.Errorf("rule %d: latency needs a positive delay", i))
		}
		if r.Limit < 0 || r.RetryAfter < 0 || r.Delay < 0 {
			errs = append(errs, fmt.Errorf("rule %d: limit, retryAfter and delay must not be negative", i))
		}
	}
	return errors.Join(errs...)
}

// ParseFaultRule reads the command-line form of a rule:
// kind=rate_limit,fraction=0.2,retry_after=2s,match=/transactions,limit=5,
// status=503,delay=1s,method=GET,user=<uuid>,retry_after_date=true.
func ParseFaultRule(s string) (FaultRule, error) {
	var r FaultRule
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return r, fmt.Errorf("fault %q: %q is not key=value", s, part)
		}
		var err error
		switch k {
		case "kind":
			r.Kind = FaultKind(v)
		case "fraction":
			r.Fraction, err = strconv.ParseFloat(v, 64)
		case "match":
			r.Match = v
		case "method":
			r.Method = strings.ToUpper(v)
		case "user":
			r.User = v
		case "status":
			r.Status, err = strconv.Atoi(v)
		case "limit":
			r.Limit, err = strconv.Atoi(v)
		case "retry_after":
			var d time.Duration
			d, err = time.ParseDuration(v)
			r.RetryAfter = Duration(d)
		case "retry_after_date":
			r.RetryAfterDate, err = strconv.ParseBool(v)
		case "delay":
			var d time.Duration
			d, err = time.ParseDuration(v)
			r.Delay = Duration(d)
		default:
			return r, fmt.Errorf("fault %q: unknown key %q", s, k)
		}
		if err != nil {
			return r, fmt.Errorf("fault %q: %s: %w", s, k, err)
		}
	}
	if err := (Faults{Rules: []FaultRule{r}}).Validate(); err != nil {
		return r, fmt.Errorf("fault %q: %w", s, err)
	}
	return r, nil
}

// injector decides, per request, which fault (if any) applies.
type injector struct {
	mu      sync.Mutex
	faults  Faults
	rng     *rand.Rand
	windows map[string]*budgetWindow
}

type budgetWindow struct {
	start time.Time
	count int
}

func newInjector(seed int64, f Faults) *injector {
	return &injector{faults: f, rng: rand.New(rand.NewPCG(uint64(seed), 0x5eedfa17)), windows: map[string]*budgetWindow{}}
}

func (in *injector) get() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.faults
	f.Rules = append([]FaultRule(nil), f.Rules...)
	if f.Budget != nil {
		b := *f.Budget
		f.Budget = &b
	}
	return f
}

func (in *injector) set(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = f
	in.windows = map[string]*budgetWindow{}
	return nil
}

// pick returns the fault to inject for a request, if any, and the global
// latency to add. apiPath says whether the path is a Consumer API resource.
func (in *injector) pick(r *http.Request, apiPath bool, user string) (latency time.Duration, rule *FaultRule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	latency = in.faults.Latency.Std()
	for i := range in.faults.Rules {
		fr := &in.faults.Rules[i]
		if fr.Limit > 0 && fr.Fired >= fr.Limit {
			continue
		}
		if fr.Match == "" && !apiPath || fr.Match != "" && !strings.Contains(r.URL.Path, fr.Match) {
			continue
		}
		if fr.Method != "" && fr.Method != r.Method || fr.User != "" && fr.User != user {
			continue
		}
		if fr.Fraction > 0 && in.rng.Float64() >= fr.Fraction {
			continue
		}
		fr.Fired++
		c := *fr
		return latency, &c
	}
	return latency, nil
}

// spend charges one request to client's budget. It returns how long until
// the window resets when the budget is exhausted.
func (in *injector) spend(client string, now time.Time) (wait time.Duration, over bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := in.faults.Budget
	if b == nil {
		return 0, false
	}
	w := in.windows[client]
	if w == nil || now.Sub(w.start) >= b.Per.Std() {
		w = &budgetWindow{start: now}
		in.windows[client] = w
	}
	if w.count >= b.Requests {
		return w.start.Add(b.Per.Std()).Sub(now), true
	}
	w.count++
	return 0, false
}

func (in *injector) taskDelay() time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.faults.TaskDelay > 0 {
		return in.faults.TaskDelay.Std()
	}
	return 300 * time.Millisecond
}

// malformedVariant picks one of the malformed bodies.
func (in *injector) malformedVariant() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rng.IntN(len(malformedBodies))
}

// malformedBodies are 200 responses a client must reject.
var malformedBodies = []string{
	`{"transactions": [{"id": "7d4c0f0e-1b5e-4b8e-9a53-2f1f0c5b9a11", "amount": "12.`,
	`<html><body><h1>Service temporarily unavailable</h1></body></html>`,
	`{"transactions": [{"id": "7d4c0f0e-1b5e-4b8e-9a53-2f1f0c5b9a11", "accountId": "x", "amount": "12,34 USD", "datePosted": "2026-01-01T00:00:00.000Z"}], "accounts": [{"id": "x", "balance": "one hundred"}]}`,
	`{"transactions": {"id": "not-a-list"}, "accounts": "not-a-list"}`,
}

// retryAfterValue renders d in the requested Retry-After form.
func retryAfterValue(d time.Duration, asDate bool, now time.Time) string {
	if asDate {
		return now.Add(d).UTC().Format(http.TimeFormat)
	}
	secs := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}
