// Package telemetry is pfmsync's OpenTelemetry setup: a MeterProvider
// exported to Prometheus (a /metrics handler on its own registry) and, when
// an OTLP endpoint is configured, pushed over OTLP/HTTP together with
// traces; and the instrumentation the binaries wire in:
//
//   - SyncMetrics records sync outcomes, durations, transaction changes,
//     snoozes and scheduler passes (it implements jobs.Metrics);
//   - RiverMiddleware traces and times River job work and insertion;
//   - BankTransport counts and times every request to a bank by
//     institution, route template and status, and counts failed token
//     refreshes;
//   - RegisterDBGauges reports links by status and River's queue depth and
//     lag, read from Postgres at each collection;
//   - PgxTracer traces queries (inside a traced request or job only) and
//     HTTPHandler instruments an HTTP server by route.
//
// Labels are bounded: institutions, outcomes, error classes, route
// templates, statuses, job kinds and queues; never link, user or account
// ids. Without an OTLP endpoint no trace is recorded and nothing is sent
// anywhere; the Prometheus endpoint is served by the binaries.
//
// Metric names are OpenTelemetry names ("pfmsync.syncs" with unit
// "{sync}"); the Prometheus exporter renders them with unit and _total
// suffixes (pfmsync_syncs_total). docs/operations.md lists every metric as
// rendered.
package telemetry
