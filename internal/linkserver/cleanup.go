package linkserver

import (
	"context"
	"time"
)

// consentRetention is how long an expired consent request is kept, so that
// a late callback is told "expired" rather than "unknown".
const consentRetention = time.Hour

// CleanupConsentRequests deletes consent requests that expired more than an
// hour ago and returns how many.
func (s *Server) CleanupConsentRequests(ctx context.Context) (int64, error) {
	return s.store.DeleteConsentRequestsBefore(ctx, s.now().Add(-consentRetention))
}

// RunCleanup deletes old consent requests every interval until ctx ends.
// Failures are logged and retried at the next tick.
func (s *Server) RunCleanup(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			n, err := s.CleanupConsentRequests(cctx)
			cancel()
			switch {
			case err != nil && ctx.Err() == nil:
				s.logger.Warn("delete expired consent requests", "error", err)
			case n > 0:
				s.logger.Info("deleted expired consent requests", "count", n)
			}
		}
	}
}
