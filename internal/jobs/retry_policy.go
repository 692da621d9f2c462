package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// RetryPolicy is River's retry schedule for failed syncs: exponential
// backoff from Base, doubling per attempt, capped at Max, with ±20% jitter
// so that links failing together do not retry together.
type RetryPolicy struct {
	Base time.Duration // default 10 s
	Max  time.Duration // default 1 h
}

// NextRetry implements river.ClientRetryPolicy.
func (p *RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.delay(job.Attempt))
}

func (p *RetryPolicy) delay(attempt int) time.Duration {
	base, ceiling := p.Base, p.Max
	if base <= 0 {
		base = 10 * time.Second
	}
	if ceiling <= 0 {
		ceiling = time.Hour
	}
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
