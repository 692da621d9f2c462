package sandbox

import (
	"maps"
	"strconv"
	"sync"
	"time"
)

// Stats counts what the sandbox served and injected since start (or the
// last reset).
type Stats struct {
	// Requests by route, e.g. "GET /users/{userId}/accounts".
	Requests map[string]int64 `json:"requests"`
	// Responses by HTTP status.
	Responses map[string]int64 `json:"responses"`
	// Faults injected by kind.
	Faults map[string]int64 `json:"faults"`
	// BudgetRejections counts requests refused by the per-client budget.
	BudgetRejections int64 `json:"budgetRejections"`
	// TransactionsServed counts transactions in successful responses.
	TransactionsServed int64 `json:"transactionsServed"`
	// Clients holds per-client Consumer API counters by client id.
	Clients map[string]ClientStats `json:"clients"`
	// Auth holds the OpenID provider's counters.
	Auth any `json:"auth"`
}

// ClientStats counts one client's Consumer API traffic.
type ClientStats struct {
	// Requests is the number of authenticated requests.
	Requests int64 `json:"requests"`
	// MaxPerSecond is the most requests seen in any rolling one-second
	// window: what a test checks to prove a client honoured a rate limit.
	MaxPerSecond int `json:"maxPerSecond"`
}

// counters is the live, lock-protected form of Stats.
type counters struct {
	mu        sync.Mutex
	requests  map[string]int64
	responses map[string]int64
	faults    map[string]int64
	budget    int64
	served    int64
	clients   map[string]*clientWindow
}

type clientWindow struct {
	requests int64
	max      int
	recent   []time.Time // request instants within the last second
}

func newCounters() *counters {
	c := &counters{}
	c.reset()
	return c
}

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = map[string]int64{}
	c.responses = map[string]int64{}
	c.faults = map[string]int64{}
	c.clients = map[string]*clientWindow{}
	c.budget, c.served = 0, 0
}

func (c *counters) request(route string) {
	c.mu.Lock()
	c.requests[route]++
	c.mu.Unlock()
}

func (c *counters) response(status int) {
	c.mu.Lock()
	c.responses[strconv.Itoa(status)]++
	c.mu.Unlock()
}

func (c *counters) fault(kind FaultKind) {
	c.mu.Lock()
	c.faults[string(kind)]++
	c.mu.Unlock()
}

func (c *counters) budgetRejected() {
	c.mu.Lock()
	c.budget++
	c.mu.Unlock()
}

func (c *counters) transactions(n int) {
	c.mu.Lock()
	c.served += int64(n)
	c.mu.Unlock()
}

// client records one authenticated request by clientID at now.
func (c *counters) client(clientID string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.clients[clientID]
	if w == nil {
		w = &clientWindow{}
		c.clients[clientID] = w
	}
	w.requests++
	cut := 0
	for cut < len(w.recent) && now.Sub(w.recent[cut]) >= time.Second {
		cut++
	}
	w.recent = append(w.recent[cut:], now)
	w.max = max(w.max, len(w.recent))
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Requests:           maps.Clone(c.requests),
		Responses:          maps.Clone(c.responses),
		Faults:             maps.Clone(c.faults),
		BudgetRejections:   c.budget,
		TransactionsServed: c.served,
		Clients:            map[string]ClientStats{},
	}
	for id, w := range c.clients {
		s.Clients[id] = ClientStats{Requests: w.requests, MaxPerSecond: w.max}
	}
	return s
}
