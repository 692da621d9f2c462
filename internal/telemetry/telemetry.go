package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/pfmsync/pfmsync/internal/config"
)

// scopeName is the instrumentation scope of pfmsync's own instruments
// and spans.
const scopeName = "github.com/pfmsync/pfmsync/internal/telemetry"

// OTLP/HTTP signal paths under the configured endpoint.
const (
	otlpTracesPath  = "/v1/traces"
	otlpMetricsPath = "/v1/metrics"
)

// Telemetry holds one process's meter and tracer providers and the
// instruments built on them. Build it with Setup and stop it with Shutdown.
type Telemetry struct {
	logger         *slog.Logger
	meterProvider  *sdkmetric.MeterProvider
	sdkTracer      *sdktrace.TracerProvider // nil when traces are off
	tracerProvider trace.TracerProvider
	meter          metric.Meter
	tracer         trace.Tracer
	instruments    *instruments
	handler        http.Handler
}

// Option adjusts Setup.
type Option func(*options)

type options struct {
	version        string
	readers        []sdkmetric.Reader
	spanProcessors []sdktrace.SpanProcessor
}

// WithVersion sets the service.version resource attribute.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithMetricReader adds a metric reader besides the Prometheus exporter
// (for example sdkmetric.NewManualReader in tests).
func WithMetricReader(r sdkmetric.Reader) Option {
	return func(o *options) { o.readers = append(o.readers, r) }
}

// WithSpanProcessor adds a span processor (for example a
// tracetest.SpanRecorder in tests). Traces are recorded whenever an OTLP
// endpoint is configured or a span processor is given.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(o *options) { o.spanProcessors = append(o.spanProcessors, p) }
}

// Setup builds the providers of service (e.g. "pfmsync-worker"): metrics
// are always kept for the Prometheus handler and also pushed over OTLP when
// cfg.OTLPEndpoint is set; traces are recorded and pushed only then
// (sampled at cfg.TraceSampleRatio of new traces, following the parent's
// decision otherwise). Without an endpoint nothing dials out. Setup does
// not touch OpenTelemetry's global providers: the instrumentation gets
// its providers from the Telemetry. With an endpoint it routes
// OpenTelemetry's error handler (export failures) to logger.
func Setup(ctx context.Context, cfg config.Telemetry, service string, logger *slog.Logger, opts ...Option) (*Telemetry, error) {
	o := options{version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	res := resource.NewSchemaless(semconv.ServiceName(service), semconv.ServiceVersion(o.version))

	// The Prometheus exporter gets a registry of its own, with the Go
	// runtime and process collectors.
	registry := prometheus.NewRegistry()
	if err := registry.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register Go runtime metrics: %w", err)
	}
	if err := registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process metrics: %w", err)
	}
	promExporter, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("create Prometheus exporter: %w", err)
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExporter)}
	for _, r := range o.readers {
		mpOpts = append(mpOpts, sdkmetric.WithReader(r))
	}

	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.TraceSampleRatio))),
	}
	for _, p := range o.spanProcessors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(p))
	}
	if cfg.OTLPEndpoint != "" {
		// Export failures happen in the background: log them as JSON
		// like everything else.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("export telemetry", "error", err)
		}))
		// The exporters also honour OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT
		// and the TLS variables for what this configuration does not set.
		// Neither connects before its first export.
		traceExporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint+otlpTracesPath))
		if err != nil {
			return nil, fmt.Errorf("create OTLP trace exporter: %w", err)
		}
		metricExporter, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(cfg.OTLPEndpoint+otlpMetricsPath))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("create OTLP metric exporter: %w", err), traceExporter.Shutdown(ctx))
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(traceExporter))
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExporter)))
	}

	t := &Telemetry{logger: logger, meterProvider: sdkmetric.NewMeterProvider(mpOpts...)}
	if cfg.OTLPEndpoint != "" || len(o.spanProcessors) > 0 {
		t.sdkTracer = sdktrace.NewTracerProvider(tpOpts...)
		t.tracerProvider = t.sdkTracer
	} else {
		t.tracerProvider = noop.NewTracerProvider()
	}
	t.meter = t.meterProvider.Meter(scopeName, metric.WithInstrumentationVersion(o.version))
	t.tracer = t.tracerProvider.Tracer(scopeName, trace.WithInstrumentationVersion(o.version))
	if t.instruments, err = newInstruments(t.meter); err != nil {
		return nil, errors.Join(err, t.Shutdown(ctx))
	}
	t.handler = promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	})
	logger.Info("telemetry ready", "service", service, "otlp", cfg.OTLPEndpoint != "", "traces", t.sdkTracer != nil)
	return t, nil
}

// Handler serves the metrics in Prometheus's text format (mount it at
// /metrics).
func (t *Telemetry) Handler() http.Handler { return t.handler }

// MeterProvider is the provider every instrument of the process uses.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.meterProvider }

// TracerProvider is the provider every span of the process uses: a no-op
// one unless traces are exported.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// Shutdown flushes what the OTLP exporters still hold and stops the
// providers. The Prometheus handler serves nothing new afterwards.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.sdkTracer != nil {
		if err := t.sdkTracer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down tracer provider: %w", err))
		}
	}
	if err := t.meterProvider.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down meter provider: %w", err))
	}
	return errors.Join(errs...)
}

// promLogger logs the Prometheus handler's errors.
type promLogger struct{ logger *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.logger.Warn("serve metrics", "error", fmt.Sprint(v...))
}
