package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Timeouts of the admin listener.
const (
	adminReadHeaderTimeout = 10 * time.Second
	adminWriteTimeout      = time.Minute
	adminIdleTimeout       = 2 * time.Minute
)

// AdminServer is an operator listener (metrics, status pages), separate
// from the public one so that it can stay on a private interface.
type AdminServer struct {
	srv    *http.Server
	ln     net.Listener
	served chan error
}

// ListenAdmin listens on addr and serves h until Shutdown.
func ListenAdmin(addr string, h http.Handler, logger *slog.Logger) (*AdminServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &AdminServer{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: adminReadHeaderTimeout,
			WriteTimeout:      adminWriteTimeout,
			IdleTimeout:       adminIdleTimeout,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		ln:     ln,
		served: make(chan error, 1),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *AdminServer) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting connections and waits for requests in flight
// until ctx ends.
func (s *AdminServer) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down admin listener %s: %w", s.Addr(), err)
	}
	if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin listener %s: %w", s.Addr(), err)
	}
	return nil
}
