package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// BenchmarkScheduleTick measures one scheduler transaction (claim 1,000 due
// links with FOR UPDATE SKIP LOCKED, move their next_sync_at, insert their
// 1,000 River jobs) on a database holding 1,000,000 links, half of them due.
func BenchmarkScheduleTick(b *testing.B) {
	ctx := context.Background()
	pool := testdb.New(b)
	st := store.New(pool, nil)
	in, err := st.UpsertInstitution(ctx, pfm.Institution{Slug: "bench", DisplayName: "Bench", IssuerURL: "https://bank.example/a/consumer/api/v0/oidc", APIBaseURL: "https://bank.example/a/consumer/api/v0", ClientID: "c"})
	require.NoError(b, err)
	start := time.Now()
	_, err = pool.Exec(ctx, `
		INSERT INTO links (institution_id, app_user_ref, banno_user_id, next_sync_at)
		SELECT $1, 'user-' || g, 'banno-' || g, now() - interval '12 hours' + (g % 86400) * interval '1 second'
		FROM generate_series(1, 1000000) g`, in.ID)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE links`)
	require.NoError(b, err)
	b.Logf("1,000,000 links inserted in %s", time.Since(start).Round(time.Millisecond))

	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(b, err)
	jitter := func(d time.Duration) time.Duration { return d / 20 }
	cfg := jobs.ScheduleConfig{Batch: 1000, MaxBatches: 1}
	b.ResetTimer()
	claimed := 0
	for range b.N {
		res, err := jobs.Schedule(ctx, st, inserter, jitter, cfg, time.Now())
		require.NoError(b, err)
		require.Equal(b, 1000, res.Inserted)
		claimed += res.Claimed
	}
	b.ReportMetric(float64(claimed)/b.Elapsed().Seconds(), "links/s")
}

// BenchmarkRequestGate measures what waiting for the request budget costs
// per request when the budget is not the bottleneck: the in-process token
// bucket (golang.org/x/time/rate, what consumerapi uses alone) against the
// deployment-wide bucket in Postgres, taken in batches of 1, 10 and 100.
func BenchmarkRequestGate(b *testing.B) {
	ctx := context.Background()
	b.Run("in-process", func(b *testing.B) {
		l := rate.NewLimiter(rate.Limit(1e9), 1e9)
		for range b.N {
			if err := l.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	pool := testdb.New(b)
	st := store.New(pool, nil)
	_, err := st.UpsertInstitution(ctx, pfm.Institution{Slug: "bench", DisplayName: "Bench", IssuerURL: "https://bank.example/a/consumer/api/v0/oidc", APIBaseURL: "https://bank.example/a/consumer/api/v0", ClientID: "c"})
	require.NoError(b, err)
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("shared-batch-%d", batch), func(b *testing.B) {
			l, err := jobs.NewInstitutionLimiter(ctx, st, jobs.LimiterConfig{Slug: "bench", RequestsPerSecond: 1e7, Burst: 1e8, Hold: time.Second, Batch: batch}, nil)
			require.NoError(b, err)
			for range b.N {
				if err := l.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
