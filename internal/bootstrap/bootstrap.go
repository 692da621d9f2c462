// Package bootstrap holds the start-up steps pfmsync's binaries share:
// opening and migrating the database, registering the configured
// institutions, loading the token key ring, and building one Banno client
// per institution. Each step fails with a message that says what to fix.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Version is pfmsync's version, reported in the User-Agent and logs; set at
// build time with -ldflags "-X github.com/pfmsync/pfmsync/internal/bootstrap.Version=...".
var Version = "0.1.0-dev"

// CallbackPath is the link server's OAuth redirect path.
const CallbackPath = "/link/callback"

// DatabaseOption adjusts the pool OpenDatabase opens.
type DatabaseOption func(*store.PoolOptions)

// WithQueryTracer makes t observe every query of the pool (tracing and
// metrics, see internal/telemetry).
func WithQueryTracer(t pgx.QueryTracer) DatabaseOption {
	return func(o *store.PoolOptions) { o.Tracer = t }
}

// OpenDatabase connects to Postgres and, when configured, applies pending
// migrations (a dirty schema stops start-up).
func OpenDatabase(ctx context.Context, cfg config.Config, app string, logger *slog.Logger, opts ...DatabaseOption) (*pgxpool.Pool, *store.Store, error) {
	po := store.PoolOptions{
		URL:             cfg.Database.URL,
		MaxConns:        cfg.Database.MaxConns,
		ConnectTimeout:  cfg.Database.ConnectTimeout,
		ApplicationName: app,
	}
	for _, opt := range opts {
		opt(&po)
	}
	pool, err := store.OpenPool(ctx, po)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Database.Migrate {
		res, err := store.Migrate(pool, logger)
		if err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("migrate database: %w", err)
		}
		logger.Info("database schema ready", "version", res.To)
	}
	return pool, store.New(pool, logger), nil
}

// RegisterInstitutions records every configured institution in the
// datastore (configuration is the source of truth) and returns them by slug.
func RegisterInstitutions(ctx context.Context, st *store.Store, cfg config.Config) (map[string]pfm.Institution, error) {
	if len(cfg.Institutions) == 0 {
		return nil, fmt.Errorf("no institution configured: set %s or %s", config.EnvInstitutions, config.EnvInstitutionsFile)
	}
	out := make(map[string]pfm.Institution, len(cfg.Institutions))
	for _, in := range cfg.Institutions {
		stored, err := st.UpsertInstitution(ctx, pfm.Institution{
			Slug:        in.Slug,
			DisplayName: in.Name,
			IssuerURL:   in.BaseURL + "/oidc",
			APIBaseURL:  in.BaseURL,
			ClientID:    in.ClientID,
		})
		if err != nil {
			return nil, fmt.Errorf("register institution %s: %w", in.Slug, err)
		}
		out[in.Slug] = stored
	}
	return out, nil
}

// KeyRing loads the token key ring from the configuration.
func KeyRing(cfg config.Config, logger *slog.Logger) (*tokenseal.KeyRing, error) {
	if cfg.TokenKeys == "" && cfg.TokenKeysFile == "" {
		return nil, fmt.Errorf("no token key ring: set %s (id:base64-32-byte-key,...) or %s; make a key with: head -c 32 /dev/urandom | base64", config.EnvTokenKeys, config.EnvTokenKeysFile)
	}
	ring, err := tokenseal.LoadKeyRing(cfg.TokenKeys, cfg.TokenKeysFile)
	if err != nil {
		// The error names the entry and key id, never the key.
		return nil, fmt.Errorf("load token key ring from %s: %w", keyVariable(cfg), err)
	}
	for _, w := range ring.Warnings() {
		logger.Warn("token key ring", "warning", w)
	}
	logger.Info("token key ring loaded", "current_key", ring.CurrentKeyID(), "keys", ring.KeyIDs())
	return ring, nil
}

// keyVariable names the variable the key ring was read from.
func keyVariable(cfg config.Config) string {
	if cfg.TokenKeysFile != "" {
		return config.EnvTokenKeysFile
	}
	return config.EnvTokenKeys
}

// Sealer checks every key of ring against its canary in the datastore
// (see linktoken.CheckKeys) and returns the sealer of the ring. A key id
// whose bytes changed stops start-up with an error naming the key id and
// the variable, never the key.
func Sealer(ctx context.Context, cfg config.Config, st *store.Store, ring *tokenseal.KeyRing, logger *slog.Logger) (*tokenseal.Sealer, error) {
	res, err := linktoken.CheckKeys(ctx, st, ring)
	if err != nil {
		if _, ok := errors.AsType[*linktoken.KeyMismatchError](err); ok {
			return nil, fmt.Errorf("%s: %w", keyVariable(cfg), err)
		}
		return nil, fmt.Errorf("check the token keys of %s: %w", keyVariable(cfg), err)
	}
	if len(res.Added) > 0 {
		logger.Info("token key canaries stored", "keys", res.Added)
	}
	return tokenseal.New(ring), nil
}

// KeyRingSealer loads the key ring (KeyRing) and checks it against the
// canaries (Sealer), for a process that has its datastore open already.
func KeyRingSealer(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (*tokenseal.Sealer, error) {
	ring, err := KeyRing(cfg, logger)
	if err != nil {
		return nil, err
	}
	return Sealer(ctx, cfg, st, ring, logger)
}

// Scopes are the scopes requested at consent: those the sync uses, plus
// the user profile scope only when the operator enables profile data
// (PFMSYNC_PROFILE_DATA); the sync never reads the profile.
func Scopes(profile bool) []string {
	s := []string{consumerapi.ScopeOpenID, consumerapi.ScopeOfflineAccess, consumerapi.ScopeAccounts, consumerapi.ScopeTransactions}
	if profile {
		s = append(s, consumerapi.ScopeUserProfile)
	}
	return s
}

// BankClients builds one Banno client per configured institution. The
// redirect URL is the link server's callback under cfg.Link.PublicURL.
// transport, when not nil, is the base transport (e.g. a call counter);
// extra options (e.g. instrumentation) apply to every client.
func BankClients(ctx context.Context, cfg config.Config, logger *slog.Logger, transport http.RoundTripper, extra ...consumerapi.Option) (map[string]*consumerapi.Client, error) {
	out := make(map[string]*consumerapi.Client, len(cfg.Institutions))
	for _, in := range cfg.Institutions {
		c, err := BankClient(ctx, cfg, in, logger, transport, extra...)
		if err != nil {
			return nil, err
		}
		out[in.Slug] = c
	}
	return out, nil
}

// BankClient builds the Banno client of one configured institution (see
// BankClients).
func BankClient(ctx context.Context, cfg config.Config, in config.Institution, logger *slog.Logger, transport http.RoundTripper, extra ...consumerapi.Option) (*consumerapi.Client, error) {
	opts := []consumerapi.Option{consumerapi.WithLogger(logger.With("institution", in.Slug)), consumerapi.WithVersion(Version)}
	if transport != nil {
		opts = append(opts, consumerapi.WithTransport(transport))
	}
	opts = append(opts, extra...)
	// An institution's own scope list wins; otherwise the scopes the sync
	// uses (the profile scope only when profile data is enabled).
	scopes := in.Scopes
	if len(scopes) == 0 {
		scopes = Scopes(cfg.Data.ProfileData)
	}
	c, err := consumerapi.New(ctx, consumerapi.Institution{
		Slug:              in.Slug,
		BaseURL:           in.BaseURL,
		Issuer:            in.Issuer,
		Scopes:            scopes,
		ClockSkew:         cfg.Link.IDTokenClockSkew,
		ClientID:          in.ClientID,
		ClientSecret:      consumerapi.Secret(in.ClientSecret),
		RedirectURL:       cfg.Link.PublicURL + CallbackPath,
		RequestsPerSecond: in.RequestsPerSecond,
		Burst:             in.Burst,
		AllowInsecureHTTP: in.AllowInsecureHTTP,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("configure institution %s: %w", in.Slug, err)
	}
	return c, nil
}
