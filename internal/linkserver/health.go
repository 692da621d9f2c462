package linkserver

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// errNoPool means the server was given a Store bound to a transaction.
var errNoPool = errors.New("the store has no connection pool")

// readyTimeout bounds the database ping of /readyz.
const readyTimeout = 2 * time.Second

// handleHealthz answers 200 while the process serves requests.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 when the database answers a ping within
// readyTimeout, 503 otherwise.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		s.logger.Warn("readiness check failed", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// ping checks the database connection.
func (s *Server) ping(ctx context.Context) error {
	pool := s.store.Pool()
	if pool == nil {
		return errNoPool
	}
	return pool.Ping(ctx)
}
