package consumerapi

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scopes of the Consumer API (v0). Banno uses full URIs; plain
// "offline_access" is the older, pre-v0 form.
const (
	ScopeOpenID         = "openid"
	ScopeOfflineAccess  = "https://api.banno.com/consumer/auth/offline_access"
	ScopeAccounts       = "https://api.banno.com/consumer/auth/accounts.readonly"
	ScopeTransactions   = "https://api.banno.com/consumer/auth/transactions.detail.readonly"
	ScopeUserProfile    = "https://api.banno.com/consumer/auth/user.profile.readonly"
	LegacyOfflineAccess = "offline_access"
)

// ClaimInstitutionID is the ID token claim carrying the institution's UUID,
// requested through the claims parameter.
const ClaimInstitutionID = "https://api.banno.com/consumer/claim/institution_id"

const (
	defaultIssuerSuffix  = "/oidc"
	defaultMaxBodyBytes  = 32 << 20
	maxTransactionsLimit = 500
)

// DefaultScopes are requested when Institution.Scopes is empty: everything a
// background sync needs.
var DefaultScopes = []string{
	ScopeOpenID,
	ScopeOfflineAccess,
	ScopeAccounts,
	ScopeTransactions,
	ScopeUserProfile,
}

// TokenAuthStyle says how the client authenticates at the token and
// revocation endpoints.
type TokenAuthStyle string

// Supported client authentication methods.
const (
	// AuthClientSecretPost sends client_id and client_secret in the form
	// body, as Banno's official examples do. It is the default.
	AuthClientSecretPost TokenAuthStyle = "client_secret_post"
	// AuthClientSecretBasic sends them in an HTTP Basic Authorization
	// header.
	AuthClientSecretBasic TokenAuthStyle = "client_secret_basic"
)

// RetryPolicy bounds the automatic retries of idempotent Consumer API GETs.
// PUT /fetch and every token endpoint call are never retried automatically.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts per call, first one
	// included. 1 disables retries. Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff delay; each further retry doubles it.
	// Default 250ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff delay. Default 10s.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After (on 429 or 503) the client
	// waits out by itself; a longer one is returned to the caller as a
	// rate-limited error so that the job can be snoozed. Default 30s.
	MaxRetryAfter time.Duration
}

// Institution configures the client for one Banno financial institution.
// The zero values of the optional fields select the documented defaults (see
// [Institution.WithDefaults]).
type Institution struct {
	// Slug names the institution in logs, metrics and errors, e.g.
	// "garden-fi". Required.
	Slug string
	// BaseURL is the Consumer API root,
	// "https://{institution host}/a/consumer/api/v0". Required.
	BaseURL string
	// Issuer is the OIDC issuer. Default BaseURL + "/oidc".
	Issuer string
	// ClientID and ClientSecret are the credentials the institution's
	// administrator created. ClientSecret is empty for a public client.
	ClientID     string
	ClientSecret Secret
	// TokenAuth selects client authentication at the token and revocation
	// endpoints. Default AuthClientSecretPost.
	TokenAuth TokenAuthStyle
	// RedirectURL is the registered redirect URI (exact match). Needed for
	// the authorization request and code exchange only.
	RedirectURL string
	// Scopes requested at authorization. Default DefaultScopes. Must
	// contain "openid".
	Scopes []string
	// IDTokenClaims are requested for the ID token through the claims
	// parameter. Default [ClaimInstitutionID].
	IDTokenClaims []string
	// RevocationURL overrides the revocation_endpoint from discovery.
	RevocationURL string

	// RequestsPerSecond and Burst form the per-institution request budget
	// shared by every call (token endpoint included). Defaults 5 and 10.
	RequestsPerSecond float64
	Burst             int

	// HTTPTimeout is the overall deadline of one HTTP attempt, body
	// included. It must exceed the 7 s task long-poll. Default 30s.
	HTTPTimeout time.Duration
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound the
	// phases of an attempt. Defaults 10s, 10s, 20s.
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	// MaxBodyBytes caps a response body. Default 32 MiB.
	MaxBodyBytes int64

	// Retry bounds automatic retries of GETs.
	Retry RetryPolicy

	// ClockSkew is the tolerance applied to ID token exp and iat.
	// Default 300s, the tolerance of Banno's own example.
	ClockSkew time.Duration
	// TaskWait bounds the total time WaitForTask spends long-polling.
	// Default 60s.
	TaskWait time.Duration
	// TaskPollInterval is the minimum time between two task polls when the
	// institution answers without holding the request. Default 1s.
	TaskPollInterval time.Duration

	// AllowInsecureHTTP permits http:// URLs for hosts other than loopback
	// (for a sandbox institution in a private network). Loopback hosts
	// may always use http.
	AllowInsecureHTTP bool
}

// WithDefaults returns a copy of inst with every unset optional field set to
// its default and URLs normalized (no trailing slash).
func (inst Institution) WithDefaults() Institution {
	inst.BaseURL = strings.TrimRight(strings.TrimSpace(inst.BaseURL), "/")
	inst.Issuer = strings.TrimRight(strings.TrimSpace(inst.Issuer), "/")
	if inst.Issuer == "" && inst.BaseURL != "" {
		inst.Issuer = inst.BaseURL + defaultIssuerSuffix
	}
	if inst.TokenAuth == "" {
		inst.TokenAuth = AuthClientSecretPost
	}
	if len(inst.Scopes) == 0 {
		inst.Scopes = slices.Clone(DefaultScopes)
	}
	if inst.IDTokenClaims == nil {
		inst.IDTokenClaims = []string{ClaimInstitutionID}
	}
	if inst.RequestsPerSecond == 0 {
		inst.RequestsPerSecond = 5
	}
	if inst.Burst == 0 {
		inst.Burst = 10
	}
	setDefault(&inst.HTTPTimeout, 30*time.Second)
	setDefault(&inst.DialTimeout, 10*time.Second)
	setDefault(&inst.TLSHandshakeTimeout, 10*time.Second)
	setDefault(&inst.ResponseHeaderTimeout, 20*time.Second)
	if inst.MaxBodyBytes == 0 {
		inst.MaxBodyBytes = defaultMaxBodyBytes
	}
	if inst.Retry.MaxAttempts == 0 {
		inst.Retry.MaxAttempts = 4
	}
	setDefault(&inst.Retry.BaseDelay, 250*time.Millisecond)
	setDefault(&inst.Retry.MaxDelay, 10*time.Second)
	setDefault(&inst.Retry.MaxRetryAfter, 30*time.Second)
	setDefault(&inst.ClockSkew, 300*time.Second)
	setDefault(&inst.TaskWait, 60*time.Second)
	setDefault(&inst.TaskPollInterval, time.Second)
	return inst
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Validate reports every problem of a configuration (after defaults), joined.
func (inst Institution) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(inst.Slug) == "" {
		add("slug is required")
	}
	if err := inst.checkURL("base URL", inst.BaseURL, true); err != nil {
		errs = append(errs, err)
	}
	if err := inst.checkURL("issuer", inst.Issuer, true); err != nil {
		errs = append(errs, err)
	}
	if err := inst.checkURL("redirect URL", inst.RedirectURL, false); err != nil {
		errs = append(errs, err)
	}
	if err := inst.checkURL("revocation URL", inst.RevocationURL, false); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(inst.ClientID) == "" {
		add("client id is required")
	}
	switch inst.TokenAuth {
	case AuthClientSecretPost, AuthClientSecretBasic:
	default:
		add("token auth %q is not one of %s, %s", inst.TokenAuth, AuthClientSecretPost, AuthClientSecretBasic)
	}
	if !slices.Contains(inst.Scopes, ScopeOpenID) {
		add("scopes must contain %q", ScopeOpenID)
	}
	for _, s := range inst.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n\"\\") {
			add("scope %q is not a valid scope token", s)
		}
	}
	if inst.RequestsPerSecond < 0 {
		add("requests per second must not be negative")
	}
	if inst.Burst < 1 {
		add("burst must be at least 1")
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"HTTP timeout", inst.HTTPTimeout}, {"dial timeout", inst.DialTimeout},
		{"TLS handshake timeout", inst.TLSHandshakeTimeout}, {"response header timeout", inst.ResponseHeaderTimeout},
		{"retry base delay", inst.Retry.BaseDelay}, {"retry max delay", inst.Retry.MaxDelay},
		{"max Retry-After", inst.Retry.MaxRetryAfter}, {"clock skew", inst.ClockSkew},
		{"task wait", inst.TaskWait}, {"task poll interval", inst.TaskPollInterval},
	} {
		if d.value < 0 {
			add("%s must not be negative", d.name)
		}
	}
	if inst.MaxBodyBytes < 1 {
		add("max body bytes must be positive")
	}
	if inst.Retry.MaxAttempts < 1 {
		add("retry max attempts must be at least 1")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("institution %q: %w", inst.Slug, err)
	}
	return nil
}

// checkURL validates an absolute http(s) URL; https is required except for
// loopback hosts or when AllowInsecureHTTP is set.
func (inst Institution) checkURL(name, raw string, required bool) error {
	if raw == "" {
		if required {
			return fmt.Errorf("%s is required", name)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s %q must be an absolute http(s) URL", name, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not carry credentials", name)
	}
	if u.Scheme == "http" && !inst.AllowInsecureHTTP && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%s %q must use https (or set AllowInsecureHTTP)", name, raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
