package authserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scopes a Banno institution grants. Scope values are full URIs, except openid.
const (
	// ScopeOpenID is required in every authorization request.
	ScopeOpenID = "openid"
	// ScopeOfflineAccess makes the token endpoint return a refresh token.
	ScopeOfflineAccess = "https://api.banno.com/consumer/auth/offline_access"
	// ScopeAccounts grants the account list.
	ScopeAccounts = "https://api.banno.com/consumer/auth/accounts.readonly"
	// ScopeTransactions grants transactions.
	ScopeTransactions = "https://api.banno.com/consumer/auth/transactions.detail.readonly"
	// ScopeProfile grants the user's profile (GET /users/{id} and the profile
	// fields of the userinfo endpoint).
	ScopeProfile = "https://api.banno.com/consumer/auth/user.profile.readonly"
	// ScopeOfflineAccessLegacy is the pre-v0 spelling of ScopeOfflineAccess,
	// still accepted as a synonym.
	ScopeOfflineAccessLegacy = "offline_access"
)

// ClaimInstitutionID is the ID token (and userinfo) claim carrying the
// institution's UUID. It is included only when requested through the claims
// authorization parameter.
const ClaimInstitutionID = "https://api.banno.com/consumer/claim/institution_id"

// supportedScopes lists the scopes advertised in discovery, in display order.
var supportedScopes = []string{ScopeOpenID, ScopeOfflineAccess, ScopeAccounts, ScopeTransactions, ScopeProfile}

// knownScope reports whether s is a scope this provider understands.
func knownScope(s string) bool {
	return s == ScopeOfflineAccessLegacy || slices.Contains(supportedScopes, s)
}

// isOfflineScope reports whether s asks for a refresh token.
func isOfflineScope(s string) bool {
	return s == ScopeOfflineAccess || s == ScopeOfflineAccessLegacy
}

// Client is an OAuth client registered by the institution's administrator.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client_secret. Every client is confidential.
	Secret string
	// RedirectURIs are compared to the redirect_uri parameter by exact
	// string match (case- and path-sensitive, no normalisation).
	RedirectURIs []string
	// Scopes, when not nil, are the scopes the institution allows this
	// client; requesting any other scope fails with invalid_scope. Nil allows
	// every supported scope.
	Scopes []string
}

// allowsScope reports whether the institution allows the client to request s.
func (c *Client) allowsScope(s string) bool {
	if c.Scopes == nil {
		return true
	}
	if s == ScopeOpenID {
		return true
	}
	if isOfflineScope(s) {
		return slices.Contains(c.Scopes, ScopeOfflineAccess) || slices.Contains(c.Scopes, ScopeOfflineAccessLegacy)
	}
	return slices.Contains(c.Scopes, s)
}

// Directory is the institution's user directory, supplied by the sandbox
// server.
type Directory interface {
	// Authenticate checks a username and password and returns the user's
	// subject identifier (the Banno user id).
	Authenticate(username, password string) (sub string, ok bool)
	// Claims returns the profile of the user identified by sub.
	Claims(sub string) (UserClaims, bool)
}

// UserClaims is the part of a user's profile the provider can release as
// OpenID Connect claims.
type UserClaims struct {
	Name, GivenName, FamilyName, Email string
}

// Config configures a Provider. Zero values of the optional fields select
// Banno's documented behaviour.
type Config struct {
	// Issuer is the issuer identifier, for instance
	// "http://127.0.0.1:8080/a/consumer/api/v0/oidc". Every route lives under
	// its path.
	Issuer string
	// InstitutionID is the value of the ClaimInstitutionID claim.
	InstitutionID string
	// InstitutionName is shown on the login page.
	InstitutionName string
	// Clients are the registered clients.
	Clients []Client
	// Directory authenticates users and supplies their claims.
	Directory Directory
	// AccessTokenTTL is the lifetime of access tokens; zero means 600 s.
	AccessTokenTTL time.Duration
	// IDTokenTTL is the lifetime of ID tokens; zero means one hour.
	IDTokenTTL time.Duration
	// CodeTTL is the lifetime of authorization codes; zero means 60 s.
	CodeTTL time.Duration
	// RefreshTokenTTL is the lifetime of each refresh token, counted from its
	// issuance (a rotated token gets a fresh lifetime); zero means no expiry.
	RefreshTokenTTL time.Duration
	// RotateRefreshTokens, nil meaning true, makes every refresh return a new
	// refresh token and retire the presented one. When false the response
	// carries no refresh_token and the presented one stays valid.
	RotateRefreshTokens *bool
	// DetectReuse, nil meaning true, makes the presentation of a retired
	// refresh token revoke the whole token family (every refresh and access
	// token of that grant) before answering invalid_grant.
	DetectReuse *bool
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Logger receives operational events; nil discards them. Token, code,
	// secret, verifier and password values are never logged.
	Logger *slog.Logger
}

// Defaults applied by New to zero-valued durations.
const (
	DefaultAccessTokenTTL = 600 * time.Second
	DefaultIDTokenTTL     = time.Hour
	DefaultCodeTTL        = 60 * time.Second
)

// settings is a validated Config with its defaults applied.
type settings struct {
	issuer          string
	issuerPath      string
	institutionID   string
	institutionName string
	clients         map[string]*Client
	directory       Directory
	accessTTL       time.Duration
	idTokenTTL      time.Duration
	codeTTL         time.Duration
	refreshTTL      time.Duration
	rotate          bool
	detectReuse     bool
	now             func() time.Time
	logger          *slog.Logger
}

// validate checks cfg and applies the defaults.
func (cfg Config) validate() (*settings, error) {
	var errs []error
	s := &settings{
		issuer:          cfg.Issuer,
		institutionID:   cfg.InstitutionID,
		institutionName: cfg.InstitutionName,
		clients:         make(map[string]*Client, len(cfg.Clients)),
		directory:       cfg.Directory,
		accessTTL:       orDefault(cfg.AccessTokenTTL, DefaultAccessTokenTTL),
		idTokenTTL:      orDefault(cfg.IDTokenTTL, DefaultIDTokenTTL),
		codeTTL:         orDefault(cfg.CodeTTL, DefaultCodeTTL),
		refreshTTL:      cfg.RefreshTokenTTL,
		rotate:          cfg.RotateRefreshTokens == nil || *cfg.RotateRefreshTokens,
		detectReuse:     cfg.DetectReuse == nil || *cfg.DetectReuse,
		now:             cfg.Now,
		logger:          cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}

	u, err := url.Parse(cfg.Issuer)
	switch {
	case cfg.Issuer == "":
		errs = append(errs, errors.New("issuer is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("issuer: %w", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("issuer %q: scheme must be http or https", cfg.Issuer))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("issuer %q: host is required", cfg.Issuer))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("issuer %q: must not contain user info, query or fragment", cfg.Issuer))
	case strings.HasSuffix(cfg.Issuer, "/"):
		errs = append(errs, fmt.Errorf("issuer %q: must not end with a slash", cfg.Issuer))
	default:
		s.issuerPath = u.Path
	}

	if cfg.InstitutionID == "" {
		errs = append(errs, errors.New("institution id is required"))
	}
	if cfg.Directory == nil {
		errs = append(errs, errors.New("directory is required"))
	}
	for name, d := range map[string]time.Duration{
		"access token TTL": cfg.AccessTokenTTL, "ID token TTL": cfg.IDTokenTTL,
		"code TTL": cfg.CodeTTL, "refresh token TTL": cfg.RefreshTokenTTL,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if len(cfg.Clients) == 0 {
		errs = append(errs, errors.New("at least one client is required"))
	}
	for i := range cfg.Clients {
		c := cfg.Clients[i]
		if err := c.validate(); err != nil {
			errs = append(errs, fmt.Errorf("client %d: %w", i, err))
			continue
		}
		if _, dup := s.clients[c.ID]; dup {
			errs = append(errs, fmt.Errorf("client %q registered twice", c.ID))
			continue
		}
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		c.Scopes = slices.Clone(c.Scopes)
		s.clients[c.ID] = &c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid authserver config: %w", err)
	}
	return s, nil
}

// validate checks one client registration.
func (c *Client) validate() error {
	if c.ID == "" {
		return errors.New("id is required")
	}
	if c.Secret == "" {
		return fmt.Errorf("client %q: secret is required", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("client %q: at least one redirect URI is required", c.ID)
	}
	for _, r := range c.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil {
			return fmt.Errorf("client %q: redirect URI %q: %w", c.ID, r, err)
		}
		if !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") {
			return fmt.Errorf("client %q: redirect URI %q must be absolute and have no fragment", c.ID, r)
		}
	}
	for _, sc := range c.Scopes {
		if !knownScope(sc) {
			return fmt.Errorf("client %q: unknown scope %q", c.ID, sc)
		}
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
