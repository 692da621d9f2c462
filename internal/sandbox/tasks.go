package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// Task event types, as the API documentation names them.
const (
	EventTaskStarted                         = "TaskStarted"
	EventEnrichmentAccountBalances           = "EnrichmentAccountBalances"
	EventEnrichmentAllAccountBalancesUpdated = "EnrichmentAllAccountBalancesUpdated"
	EventTaskEnded                           = "TaskEnded"
)

// TaskEvent is one event of a fetch task. Balance events carry the balances
// the refresh found, which may be newer than the accounts list's.
type TaskEvent struct {
	Type     string           `json:"type"`
	Date     bank.Instant     `json:"date"`
	Accounts []BalanceReading `json:"accounts,omitempty"`
}

// BalanceReading is an account balance carried by EnrichmentAccountBalances.
type BalanceReading struct {
	ID               string       `json:"id"`
	Balance          bank.Money   `json:"balance"`
	AvailableBalance *bank.Money  `json:"availableBalance,omitempty"`
	FetchedDate      bank.Instant `json:"fetchedDate"`
}

// task is a running or finished data refresh. Its events are scheduled at
// creation on the wall clock; version N means N events have happened.
type task struct {
	id      string
	user    string
	created time.Time
	events  []TaskEvent
	at      []time.Time // wall instant at which each event happens
}

func (t *task) version(now time.Time) int {
	n := 0
	for n < len(t.at) && !t.at[n].After(now) {
		n++
	}
	return n
}

// tasks holds fetch tasks for an hour after they start.
type tasks struct {
	mu   sync.Mutex
	byID map[string]*task
	keep time.Duration
	wall func() time.Time
}

func newTasks(wall func() time.Time) *tasks {
	return &tasks{byID: map[string]*task{}, keep: time.Hour, wall: wall}
}

// start schedules a refresh for user: TaskStarted now, and after delay the
// balance events and TaskEnded.
func (ts *tasks) start(user string, dataNow time.Time, accounts []bank.Account, delay time.Duration) *task {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	wall := ts.wall()
	readings := make([]BalanceReading, 0, len(accounts))
	ended := bank.Instant{Time: dataNow.Add(delay)}
	for _, a := range accounts {
		readings = append(readings, BalanceReading{ID: a.ID, Balance: a.Balance, AvailableBalance: a.AvailableBalance, FetchedDate: ended})
	}
	t := &task{
		id:      hex.EncodeToString(b),
		user:    user,
		created: wall,
		events: []TaskEvent{
			{Type: EventTaskStarted, Date: bank.Instant{Time: dataNow}},
			{Type: EventEnrichmentAccountBalances, Date: ended, Accounts: readings},
			{Type: EventEnrichmentAllAccountBalancesUpdated, Date: ended},
			{Type: EventTaskEnded, Date: ended},
		},
		at: []time.Time{wall, wall.Add(delay), wall.Add(delay), wall.Add(delay)},
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for id, old := range ts.byID {
		if wall.Sub(old.created) > ts.keep {
			delete(ts.byID, id)
		}
	}
	ts.byID[t.id] = t
	return t
}

func (ts *tasks) get(user, id string) (*task, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.byID[id]
	if !ok || t.user != user {
		return nil, false
	}
	return t, true
}

// poll returns the task's version and the events after sinceVersion. With
// wait, it holds until a newer event exists, hold passes or ctx ends.
func (ts *tasks) poll(ctx context.Context, t *task, sinceVersion int, wait bool, hold time.Duration) (int, []TaskEvent) {
	deadline := ts.wall().Add(hold)
	for {
		now := ts.wall()
		v := t.version(now)
		if v > sinceVersion || !wait || !now.Before(deadline) {
			return v, t.events[min(sinceVersion, v):v]
		}
		next := deadline
		if v < len(t.at) && t.at[v].Before(next) {
			next = t.at[v]
		}
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return v, nil
		case <-timer.C:
		}
	}
}
