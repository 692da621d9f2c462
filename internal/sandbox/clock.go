package sandbox

import (
	"fmt"
	"sync"
	"time"
)

// Clock is the sandbox institution's data clock: the instant at which the
// bank's data is observed. It only moves forward, and only when told, so the
// same seed and clock give the same data on every machine. Token lifetimes
// use the wall clock instead.
type Clock struct {
	mu  sync.RWMutex
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start.UTC()} }

// Now returns the current data instant.
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new instant.
func (c *Clock) Advance(d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, fmt.Errorf("the clock only moves forward; got %s", d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now, nil
}

// Set moves the clock to t, which must not be before the current instant.
func (c *Clock) Set(t time.Time) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return time.Time{}, fmt.Errorf("the clock only moves forward: %s is before %s", t.UTC().Format(time.RFC3339), c.now.Format(time.RFC3339))
	}
	c.now = t.UTC()
	return c.now, nil
}
