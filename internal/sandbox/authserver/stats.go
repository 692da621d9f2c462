package authserver

import (
	"maps"
	"sync"
)

// Stats is a snapshot of the provider's counters since New.
type Stats struct {
	// AuthorizationsApproved counts consents that produced a code.
	AuthorizationsApproved int64
	// AuthorizationsDenied counts consents the user declined.
	AuthorizationsDenied int64
	// LoginFailures counts consent submissions with wrong credentials.
	LoginFailures int64
	// CodesExchanged counts successful authorization_code grants.
	CodesExchanged int64
	// CodeReplays counts authorization codes presented a second time.
	CodeReplays int64
	// Refreshes counts successful refresh_token grants.
	Refreshes int64
	// Rotations counts refreshes that issued a new refresh token.
	Rotations int64
	// ReuseDetections counts retired refresh tokens presented again.
	ReuseDetections int64
	// Revocations counts effective calls to the revocation endpoint.
	Revocations int64
	// FamiliesRevoked counts token families revoked for any reason (reuse,
	// code replay, revocation endpoint, Disconnect).
	FamiliesRevoked int64
	// TokenErrors counts error responses of the token endpoint by error code
	// (invalid_grant, invalid_client, ...).
	TokenErrors map[string]int64
	// LiveCodes and LiveFamilies are the number of codes and token families
	// currently held in memory.
	LiveCodes, LiveFamilies int
}

// statsRecorder accumulates the counters reported by Stats.
type statsRecorder struct {
	mu sync.Mutex
	s  Stats
}

func newStatsRecorder() *statsRecorder {
	return &statsRecorder{s: Stats{TokenErrors: make(map[string]int64)}}
}

// add applies f to the counters under the lock.
func (r *statsRecorder) add(f func(s *Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.s)
}

// snapshot returns a copy of the counters.
func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.TokenErrors = maps.Clone(r.s.TokenErrors)
	return s
}
