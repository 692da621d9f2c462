package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/store"
)

// LimiterConfig sets an institution's deployment-wide limits.
type LimiterConfig struct {
	Slug string
	// RequestsPerSecond and Burst bound the requests of every process
	// together (default 5 and 10).
	RequestsPerSecond float64
	Burst             int
	// MaxConcurrentSyncs bounds the syncs running at once in every process
	// together through leased slots (0: no deployment-wide bound; each
	// process bounds its own syncs, see Institution.MaxConcurrentSyncs).
	MaxConcurrentSyncs int
	// Hold is the longest a process keeps request tokens taken in a batch
	// before it drops them (default: the smaller of 250 ms and the time
	// the rate needs to refill half the burst). It bounds how late a
	// process learns of a pause set by another one.
	Hold time.Duration
	// Batch is how many tokens a process takes from the database at once
	// (default: what the rate refills in Hold, at least 1). It does not
	// change the bound, only how often the database is asked.
	Batch int
	// LeaseTTL is how long a sync slot lease lasts without renewal: the
	// slot of a killed process is free again after it (default 2 minutes).
	LeaseTTL time.Duration
}

// InstitutionLimiter is one process's handle on an institution's shared
// budget: a token bucket and a pause in institution_budgets, and the sync
// slot leases in institution_sync_slots. It implements
// consumerapi.RequestGate. Tokens are taken from the database in small
// batches (what the rate refills in Hold) and kept at most Hold, so that a
// request costs a database round trip only once per batch.
//
// Bound: a token granted at t is spent before t+Hold, so the requests of
// any one-second window use tokens granted within 1+Hold seconds; the
// shared bucket holds Burst-⌈rate·Hold⌉ tokens, so every process together
// sends at most RequestsPerSecond+Burst requests in any second.
type InstitutionLimiter struct {
	store  *store.Store
	cfg    LimiterConfig
	size   float64 // capacity of the shared bucket
	batch  int
	holder string
	logger *slog.Logger
	now    func() time.Time

	// take is a one-slot semaphore: one database take in flight per process.
	take chan struct{}

	mu          sync.Mutex
	tokens      int
	expires     time.Time
	pausedUntil time.Time
}

// NewInstitutionLimiter creates the institution's shared bucket and slots
// when missing and returns this process's limiter for it.
func NewInstitutionLimiter(ctx context.Context, st *store.Store, cfg LimiterConfig, logger *slog.Logger) (*InstitutionLimiter, error) {
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = 5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	cfg.MaxConcurrentSyncs = max(0, cfg.MaxConcurrentSyncs)
	if cfg.Hold <= 0 {
		cfg.Hold = min(250*time.Millisecond, time.Duration(float64(cfg.Burst)/(2*cfg.RequestsPerSecond)*float64(time.Second)))
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 2 * time.Minute
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = max(1, int(cfg.RequestsPerSecond*cfg.Hold.Seconds()))
	}
	held := math.Ceil(cfg.RequestsPerSecond * cfg.Hold.Seconds())
	l := &InstitutionLimiter{
		store:  st,
		cfg:    cfg,
		size:   max(1, float64(cfg.Burst)-held),
		batch:  cfg.Batch,
		holder: processName(),
		logger: logger.With("institution", cfg.Slug),
		now:    time.Now,
		take:   make(chan struct{}, 1),
	}
	if err := st.EnsureInstitutionBudget(ctx, cfg.Slug, l.size, cfg.MaxConcurrentSyncs); err != nil {
		return nil, err
	}
	return l, nil
}

// processName names this process in slot leases: host, pid and a random
// suffix (pids repeat across containers).
func processName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Wait implements consumerapi.RequestGate: it returns once a token of the
// shared budget is this request's.
func (l *InstitutionLimiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := l.now()
		if paused := l.pausedUntil.Sub(now); paused > 0 {
			l.mu.Unlock()
			if err := l.sleep(ctx, paused, "the institution asked for a pause"); err != nil {
				return err
			}
			continue
		}
		if l.tokens > 0 && now.Before(l.expires) {
			l.tokens--
			l.mu.Unlock()
			return nil
		}
		l.tokens = 0
		l.mu.Unlock()

		select {
		case l.take <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// Another goroutine may have refilled while this one waited.
		l.mu.Lock()
		if l.tokens > 0 && l.now().Before(l.expires) {
			l.tokens--
			l.mu.Unlock()
			<-l.take
			return nil
		}
		l.mu.Unlock()
		taken := l.now()
		g, err := l.store.TakeRequestTokens(ctx, l.cfg.Slug, l.batch, l.cfg.RequestsPerSecond, l.size)
		if err != nil {
			<-l.take
			return fmt.Errorf("take request budget of institution %s: %w", l.cfg.Slug, err)
		}
		l.mu.Lock()
		if g.PausedFor > 0 {
			l.pausedUntil = maxTime(l.pausedUntil, taken.Add(g.PausedFor))
		}
		if g.Granted > 0 {
			l.tokens = g.Granted - 1
			l.expires = taken.Add(l.cfg.Hold)
			l.mu.Unlock()
			<-l.take
			return nil
		}
		l.mu.Unlock()
		<-l.take
		if g.PausedFor > 0 {
			continue
		}
		// Wait until the bucket holds a whole token again.
		wait := time.Duration((1 - math.Mod(g.Left, 1)) / l.cfg.RequestsPerSecond * float64(time.Second))
		if err := l.sleep(ctx, max(wait, time.Millisecond), "the request budget is spent"); err != nil {
			return err
		}
	}
}

// sleep waits d, or fails at once when d would outlast ctx's deadline.
func (l *InstitutionLimiter) sleep(ctx context.Context, d time.Duration, why string) error {
	if deadline, ok := ctx.Deadline(); ok && l.now().Add(d).After(deadline) {
		return fmt.Errorf("%w: %s", consumerapi.ErrRequestBudget, why)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Pause implements consumerapi.RequestGate: this process stops at once
// (its batch of tokens is dropped), and the pause is recorded for every
// other process, which learns it at its next take (within Hold).
func (l *InstitutionLimiter) Pause(ctx context.Context, d time.Duration) {
	l.mu.Lock()
	l.pausedUntil = maxTime(l.pausedUntil, l.now().Add(d))
	l.tokens = 0
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := l.store.PauseInstitution(ctx, l.cfg.Slug, d, "retry_after"); err != nil {
		l.logger.Error("record institution pause", "error", err)
		return
	}
	l.logger.Warn("institution asked for a pause: every request to it waits", "pause", d.Round(time.Millisecond))
}

// PausedFor returns how long the pause this process knows of still lasts.
func (l *InstitutionLimiter) PausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, l.pausedUntil.Sub(l.now()))
}

// sharesSlots says whether syncs lease deployment-wide slots
// (MaxConcurrentSyncs > 0).
func (l *InstitutionLimiter) sharesSlots() bool { return l.cfg.MaxConcurrentSyncs > 0 }

// slotLease is a held sync slot, renewed in the background until released.
type slotLease struct {
	limiter *InstitutionLimiter
	lease   store.SyncSlotLease
	stop    context.CancelFunc
	done    chan struct{}
}

// acquireSlot leases one of the institution's deployment-wide sync slots,
// trying until wait has passed; ok is false when none came free. The
// lease is renewed every LeaseTTL/3 until release is called.
func (l *InstitutionLimiter) acquireSlot(ctx context.Context, jobID int64, wait time.Duration) (release func(), ok bool, err error) {
	deadline := l.now().Add(wait)
	holder := fmt.Sprintf("%s job %d", l.holder, jobID)
	for {
		lease, got, err := l.store.AcquireSyncSlot(ctx, l.cfg.Slug, l.cfg.MaxConcurrentSyncs, holder, l.cfg.LeaseTTL)
		if err != nil {
			return nil, false, err
		}
		if got {
			s := l.keep(ctx, lease)
			return s.release, true, nil
		}
		if !l.now().Before(deadline) {
			return nil, false, nil
		}
		if err := l.sleep(ctx, min(250*time.Millisecond, deadline.Sub(l.now())), "no sync slot came free"); err != nil {
			return nil, false, nil
		}
	}
}

// keep renews lease in the background.
func (l *InstitutionLimiter) keep(ctx context.Context, lease store.SyncSlotLease) *slotLease {
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &slotLease{limiter: l, lease: lease, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(l.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				held, err := l.store.RenewSyncSlot(rctx, lease, l.cfg.LeaseTTL)
				if err != nil && rctx.Err() == nil {
					l.logger.Warn("renew sync slot lease", "slot", lease.Slot, "error", err)
				}
				if err == nil && !held {
					l.logger.Warn("sync slot lease lost: it expired before it was renewed", "slot", lease.Slot)
					return
				}
			}
		}
	}()
	return s
}

// release stops the renewal and frees the slot.
func (s *slotLease) release() {
	s.stop()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.limiter.store.ReleaseSyncSlot(ctx, s.lease); err != nil {
		// The lease expires by itself after LeaseTTL.
		s.limiter.logger.Warn("release sync slot", "slot", s.lease.Slot, "error", err)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
