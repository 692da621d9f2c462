package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// spanAttr returns a span's attribute value.
func spanAttr(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func TestRiverMiddlewareWork(t *testing.T) {
	t.Parallel()

	for name, tc := range map[string]struct {
		err         error
		attempt     int
		wantOutcome string
		wantError   bool
	}{
		"Completed": {nil, 1, JobCompleted, false},
		"Snoozed":   {river.JobSnooze(time.Minute), 1, JobSnoozed, false},
		"Cancelled": {river.JobCancel(errors.New("consent revoked")), 1, JobCancelled, false},
		"Retryable": {errors.New("bank unavailable"), 1, JobRetryable, true},
		"Discarded": {errors.New("bank unavailable"), 5, JobDiscarded, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			mw := b.tel.RiverMiddleware()
			job := &rivertype.JobRow{ID: 42, Kind: "sync_link", Queue: "sync", Attempt: tc.attempt, MaxAttempts: 5, Priority: 1,
				EncodedArgs: []byte(`{"link_id":"0b7f6c1e-link","trigger":"link"}`)}
			var inner trace.SpanContext
			err := mw.Work(context.Background(), job, func(ctx context.Context) error {
				inner = trace.SpanContextFromContext(ctx)
				return tc.err
			})
			require.Equal(t, tc.err, err, "the job's result passes through unchanged")

			spans := b.spans.Ended()
			require.Len(t, spans, 1)
			s := spans[0]
			require.Equal(t, "river.work sync_link", s.Name())
			require.Equal(t, trace.SpanKindConsumer, s.SpanKind())
			require.Equal(t, s.SpanContext().SpanID(), inner.SpanID(), "the job runs inside the span")
			require.Equal(t, int64(42), spanAttr(s, attrJobID).AsInt64())
			require.Equal(t, "sync", spanAttr(s, attrJobQueue).AsString())
			require.Equal(t, int64(tc.attempt), spanAttr(s, attrJobAttempt).AsInt64())
			require.Equal(t, "0b7f6c1e-link", spanAttr(s, attrLinkID).AsString())
			require.Equal(t, tc.wantOutcome, spanAttr(s, attrJobOutcome).AsString())
			if tc.wantError {
				require.Equal(t, codes.Error, s.Status().Code)
			} else {
				require.Equal(t, codes.Unset, s.Status().Code)
			}

			n, _ := b.histogramCount(t, "pfmsync.job.duration",
				keyKind.String("sync_link"), keyQueue.String("sync"), keyOutcome.String(tc.wantOutcome))
			require.EqualValues(t, 1, n)
		})
	}
}

func TestRiverMiddlewareWorkPanics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mw := b.tel.RiverMiddleware()
	job := &rivertype.JobRow{ID: 7, Kind: "schedule_links", Queue: "maintenance", Attempt: 1, MaxAttempts: 3, EncodedArgs: []byte(`{}`)}
	require.PanicsWithValue(t, "boom", func() {
		_ = mw.Work(context.Background(), job, func(context.Context) error { panic("boom") })
	})
	spans := b.spans.Ended()
	require.Len(t, spans, 1)
	require.Equal(t, JobPanicked, spanAttr(spans[0], attrJobOutcome).AsString())
	require.Equal(t, codes.Error, spans[0].Status().Code)
	require.False(t, spanAttr(spans[0], attrLinkID).Type() == attribute.STRING, "no link id in these args")
	n, _ := b.histogramCount(t, "pfmsync.job.duration", keyKind.String("schedule_links"), keyQueue.String("maintenance"), keyOutcome.String(JobPanicked))
	require.EqualValues(t, 1, n)
}

func TestRiverMiddlewareInsertMany(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	client, err := river.NewClient(riverpgxv5.New(testdb.New(t)), &river.Config{
		Middleware: []rivertype.Middleware{b.tel.RiverMiddleware()},
	})
	require.NoError(t, err)

	args := jobs.SyncArgs{LinkID: "5d2c4f8e-0000-4000-8000-000000000001", Trigger: jobs.TriggerManual}
	res, err := client.Insert(ctx, args, nil)
	require.NoError(t, err)
	require.False(t, res.UniqueSkippedAsDuplicate)
	res, err = client.Insert(ctx, args, nil)
	require.NoError(t, err)
	require.True(t, res.UniqueSkippedAsDuplicate, "sync jobs are unique per link")

	kind, queue := keyKind.String("sync_link"), keyQueue.String(jobs.QueueSync)
	require.EqualValues(t, 1, b.counter(t, "pfmsync.job.inserts", kind, queue, keyResult.String("inserted")))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.job.inserts", kind, queue, keyResult.String("duplicate")))

	spans := b.spans.Ended()
	require.Len(t, spans, 2)
	for _, s := range spans {
		require.Equal(t, "river.insert_many", s.Name())
		require.Equal(t, trace.SpanKindProducer, s.SpanKind())
		require.Equal(t, int64(1), spanAttr(s, attrJobCount).AsInt64())
		require.Equal(t, "sync_link", spanAttr(s, attrJobKind).AsString())
	}
	require.Equal(t, int64(1), spanAttr(spans[1], attrJobSkipped).AsInt64())
}
