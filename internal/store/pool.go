package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pfmsync/pfmsync/internal/config"
)

// PoolOptions configure OpenPool.
type PoolOptions struct {
	// URL is the connection URL. It is never included in errors.
	URL string
	// MaxConns bounds the pool; zero keeps pgxpool's default.
	MaxConns int32
	// ConnectTimeout bounds the initial ping; zero means 10 s.
	ConnectTimeout time.Duration
	// ApplicationName is reported to Postgres (pg_stat_activity).
	ApplicationName string
	// Tracer, when not nil, observes every query (tracing and metrics).
	Tracer pgx.QueryTracer
}

// OpenPool connects to Postgres and checks the connection with a ping.
func OpenPool(ctx context.Context, o PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return nil, fmt.Errorf("parse database URL %s: invalid connection string", config.RedactURL(o.URL))
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.ApplicationName
	}
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cfg.ConnConfig.ConnectTimeout = timeout
	if o.Tracer != nil {
		cfg.ConnConfig.Tracer = o.Tracer
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool for %s: %w", config.RedactURL(o.URL), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", config.RedactURL(o.URL), err)
	}
	return pool, nil
}
