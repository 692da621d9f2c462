package sandbox

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"time"
)

// withFaults injects the configured faults before h runs. apiPath marks
// Consumer API resource routes, which rules without Match apply to.
func (s *Server) withFaults(apiPath bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		latency, rule := s.faults.pick(r, apiPath, r.PathValue("userId"))
		if latency > 0 && !sleep(r, latency) {
			return
		}
		if rule == nil {
			h.ServeHTTP(w, r)
			return
		}
		s.stats.fault(rule.Kind)
		s.logger.Debug("injecting fault", "kind", rule.Kind, "path", r.URL.Path)
		now := s.wall()
		switch rule.Kind {
		case FaultLatency:
			if sleep(r, rule.Delay.Std()) {
				h.ServeHTTP(w, r)
			}
		case FaultRateLimit:
			wait := rule.RetryAfter.Std()
			if wait <= 0 {
				wait = time.Second
			}
			w.Header().Set("Retry-After", retryAfterValue(wait, rule.RetryAfterDate, now))
			writeAPIError(w, http.StatusTooManyRequests, "too many requests")
		case FaultServerError:
			status := rule.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			if status == http.StatusServiceUnavailable && rule.RetryAfter > 0 {
				w.Header().Set("Retry-After", retryAfterValue(rule.RetryAfter.Std(), rule.RetryAfterDate, now))
			}
			writeAPIError(w, status, "injected server error")
		case FaultReset:
			resetConnection(w)
		case FaultMalformed:
			body := malformedBodies[s.faults.malformedVariant()]
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(body))
		case FaultTruncate:
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			h.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			full := rec.body.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(full)))
			w.WriteHeader(rec.status)
			_, _ = w.Write(full[:len(full)/2])
			_ = http.NewResponseController(w).Flush()
			// Abort: the server closes the connection mid-body.
			panic(http.ErrAbortHandler)
		}
	})
}

// sleep waits d unless the request ends first; it reports whether to go on.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// resetConnection closes the client's connection with a TCP reset.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// recorder captures a handler's response for the truncate fault.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
