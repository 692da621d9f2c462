package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Job outcomes recorded by RiverMiddleware.
const (
	JobCompleted = "completed" // Work returned nil
	JobSnoozed   = "snoozed"   // river.JobSnooze: runs again later, no attempt used
	JobCancelled = "cancelled" // river.JobCancel: never retried
	JobRetryable = "retryable" // an error with attempts left: River retries with backoff
	JobDiscarded = "discarded" // an error on the last attempt: River gives up
	JobPanicked  = "panicked"  // Work panicked (River recovers and retries)
)

// Span attributes of River jobs.
const (
	attrJobID       = attribute.Key("river.job.id")
	attrJobKind     = attribute.Key("river.job.kind")
	attrJobQueue    = attribute.Key("river.job.queue")
	attrJobAttempt  = attribute.Key("river.job.attempt")
	attrJobMax      = attribute.Key("river.job.max_attempts")
	attrJobPriority = attribute.Key("river.job.priority")
	attrJobOutcome  = attribute.Key("river.job.outcome")
	attrJobCount    = attribute.Key("river.job.count")
	attrJobSkipped  = attribute.Key("river.job.skipped")
	attrLinkID      = attribute.Key("pfmsync.link_id")
)

// RiverMiddleware traces and times River jobs: one span per attempt
// ("river.work <kind>", with the job's id, kind, queue, attempt and link id
// when its args carry one) whose context the job's bank requests and
// queries inherit, a duration histogram by kind, queue and outcome, and a
// span and counters around every insert. Give it to River's
// Config.Middleware (jobs.ClientConfig.Middleware on the worker).
type RiverMiddleware struct {
	river.MiddlewareDefaults
	tracer trace.Tracer
	in     *instruments
}

var (
	_ rivertype.WorkerMiddleware    = (*RiverMiddleware)(nil)
	_ rivertype.JobInsertMiddleware = (*RiverMiddleware)(nil)
)

// RiverMiddleware returns the middleware for River clients of this
// process.
func (t *Telemetry) RiverMiddleware() *RiverMiddleware {
	return &RiverMiddleware{tracer: t.tracer, in: t.instruments}
}

// Work wraps one attempt of a job.
func (m *RiverMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	attrs := []attribute.KeyValue{
		attrJobID.Int64(job.ID), attrJobKind.String(job.Kind), attrJobQueue.String(job.Queue),
		attrJobAttempt.Int(job.Attempt), attrJobMax.Int(job.MaxAttempts), attrJobPriority.Int(job.Priority),
	}
	if id := linkIDOf(job.EncodedArgs); id != "" {
		attrs = append(attrs, attrLinkID.String(id))
	}
	ctx, span := m.tracer.Start(ctx, "river.work "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	start := time.Now()
	outcome := JobPanicked
	defer func() {
		if outcome == JobPanicked {
			if p := recover(); p != nil {
				span.SetStatus(codes.Error, "panic")
				span.AddEvent("panic", trace.WithAttributes(attribute.String("panic", fmt.Sprint(p))))
				m.finish(ctx, span, job, outcome, start)
				panic(p)
			}
		}
		m.finish(ctx, span, job, outcome, start)
	}()
	err = doInner(ctx)
	outcome = jobOutcome(job, err)
	if outcome == JobRetryable || outcome == JobDiscarded {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// finish records the attempt's duration and ends its span.
func (m *RiverMiddleware) finish(ctx context.Context, span trace.Span, job *rivertype.JobRow, outcome string, start time.Time) {
	span.SetAttributes(attrJobOutcome.String(outcome))
	m.in.jobDuration.Record(context.WithoutCancel(ctx), time.Since(start).Seconds(), metric.WithAttributes(
		keyKind.String(job.Kind), keyQueue.String(job.Queue), keyOutcome.String(outcome)))
	span.End()
}

// jobOutcome classifies what Work returned the way River acts on it.
func jobOutcome(job *rivertype.JobRow, err error) string {
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		return JobCompleted
	case errors.As(err, &snooze):
		return JobSnoozed
	case errors.As(err, &cancel):
		return JobCancelled
	case job.Attempt >= job.MaxAttempts:
		return JobDiscarded
	default:
		return JobRetryable
	}
}

// InsertMany wraps a batch insert: a span, and per kind and queue the jobs
// inserted and the ones skipped as duplicates of a queued job.
func (m *RiverMiddleware) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	attrs := []attribute.KeyValue{attrJobCount.Int(len(params))}
	if len(params) > 0 {
		attrs = append(attrs, attrJobKind.String(params[0].Kind), attrJobQueue.String(params[0].Queue))
	}
	ctx, span := m.tracer.Start(ctx, "river.insert_many", trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	defer span.End()
	results, err := doInner(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return results, err
	}
	skipped := 0
	for _, r := range results {
		if r == nil || r.Job == nil {
			continue
		}
		result := "inserted"
		if r.UniqueSkippedAsDuplicate {
			result = "duplicate"
			skipped++
		}
		m.in.jobInserts.Add(ctx, 1, metric.WithAttributes(
			keyKind.String(r.Job.Kind), keyQueue.String(r.Job.Queue), keyResult.String(result)))
	}
	span.SetAttributes(attrJobSkipped.Int(skipped))
	return results, nil
}

// linkIDOf returns the link_id of a job's JSON args, or "".
func linkIDOf(args []byte) string {
	var a struct {
		LinkID string `json:"link_id"`
	}
	if json.Unmarshal(args, &a) != nil {
		return ""
	}
	return a.LinkID
}
