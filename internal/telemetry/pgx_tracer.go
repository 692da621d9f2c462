package telemetry

import (
	"fmt"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PgxTracer returns the query tracer for the process's pgx pool
// (bootstrap.WithQueryTracer). It records db_client_operation_duration_seconds
// for every query, and spans only for queries made inside a recorded span (a
// traced job or request): River's polling and maintenance queries, which
// have no parent, make no traces. Spans carry the SQL text but never the
// query arguments: they hold sealed tokens and personal data.
func (t *Telemetry) PgxTracer() pgx.QueryTracer {
	return otelpgx.NewTracer(
		otelpgx.WithTracerProvider(t.tracerProvider),
		otelpgx.WithMeterProvider(t.meterProvider),
		otelpgx.WithMetricOperationName(otelpgx.SQLOperationName),
		// Query parameter capture (WithIncludeQueryParameters) stays off.
	)
}

// RecordPoolStats reports the pool's statistics (pgxpool_* metrics:
// connections acquired, idle, waiting for a connection, …).
func (t *Telemetry) RecordPoolStats(pool *pgxpool.Pool) error {
	if err := otelpgx.RecordStats(pool, otelpgx.WithStatsMeterProvider(t.meterProvider)); err != nil {
		return fmt.Errorf("record database pool statistics: %w", err)
	}
	return nil
}
