package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config is the configuration shared by pfmsync's binaries.
type Config struct {
	// Database configures the Postgres datastore.
	Database Database
	// Log configures structured logging.
	Log Log
}

// Database configures the connection to the Postgres datastore.
type Database struct {
	// URL is a libpq-style connection URL. It may carry a password, so it
	// is redacted by String.
	URL string
	// MaxConns bounds the connection pool.
	MaxConns int32
	// Migrate makes the binary apply pending migrations at start.
	Migrate bool
	// ConnectTimeout bounds the first connection attempt at start.
	ConnectTimeout time.Duration
}

// Log configures the process's slog logger.
type Log struct {
	// Level is the minimum level logged.
	Level slog.Level
	// Format is "json" (the default, for log pipelines) or "text".
	Format string
}

// Environment variable names read by Load.
const (
	EnvDatabaseURL      = "PFMSYNC_DATABASE_URL"
	EnvDatabaseURLAlt   = "DATABASE_URL"
	EnvDatabaseMaxConns = "PFMSYNC_DATABASE_MAX_CONNS"
	EnvMigrate          = "PFMSYNC_MIGRATE"
	EnvDatabaseTimeout  = "PFMSYNC_DATABASE_CONNECT_TIMEOUT"
	EnvLogLevel         = "PFMSYNC_LOG_LEVEL"
	EnvLogFormat        = "PFMSYNC_LOG_FORMAT"
)

// Load reads and validates the configuration from getenv (os.Getenv in
// production, a map lookup in tests). It reports every invalid value at once.
// Error messages name the variable and never repeat a secret value.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	cfg := Config{
		Database: Database{
			URL:            r.str(EnvDatabaseURL, getenv(EnvDatabaseURLAlt)),
			MaxConns:       int32(r.intRange(EnvDatabaseMaxConns, 10, 1, 1000)),
			Migrate:        r.boolean(EnvMigrate, true),
			ConnectTimeout: r.duration(EnvDatabaseTimeout, 10*time.Second, time.Second, 5*time.Minute),
		},
		Log: Log{
			Level:  r.level(EnvLogLevel, slog.LevelInfo),
			Format: r.oneOf(EnvLogFormat, "json", "json", "text"),
		},
	}
	if cfg.Database.URL == "" {
		r.fail(EnvDatabaseURL, "is required (a postgres:// URL)")
	} else if err := validateDatabaseURL(cfg.Database.URL); err != nil {
		r.fail(EnvDatabaseURL, err.Error())
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

// validateDatabaseURL checks the shape of a database URL without echoing it.
func validateDatabaseURL(raw string) error {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return errors.New("must start with postgres:// or postgresql://")
	}
	if _, err := url.Parse(raw); err != nil {
		return errors.New("is not a valid URL")
	}
	return nil
}

// String renders the configuration for a start-up log line, secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("database.url=%s database.max_conns=%d database.migrate=%t database.connect_timeout=%s log.level=%s log.format=%s",
		RedactURL(c.Database.URL), c.Database.MaxConns, c.Database.Migrate, c.Database.ConnectTimeout, c.Log.Level, c.Log.Format)
}

// LogValue makes slog render the redacted form.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// RedactURL returns raw with any password replaced by "xxxxx", and every query
// parameter that could carry a secret masked. Unparsable input is fully
// redacted.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "[redacted]"
	}
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "key") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
