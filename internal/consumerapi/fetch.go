package consumerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TaskEventType is the type of a task event. Unknown values are kept.
type TaskEventType string

// Task event types documented by Banno.
const (
	// TaskStarted is the first event of every task.
	TaskStarted TaskEventType = "TaskStarted"
	// TaskEnded is the last event of every task, on success, failure and
	// timeout alike.
	TaskEnded TaskEventType = "TaskEnded"
	// EnrichmentAccountBalances carries account balances.
	EnrichmentAccountBalances TaskEventType = "EnrichmentAccountBalances"
	// EnrichmentAllAccountBalancesUpdated says all balances were updated.
	EnrichmentAllAccountBalancesUpdated TaskEventType = "EnrichmentAllAccountBalancesUpdated"
)

// IsBalanceEvent reports whether events of this type concern account
// balances (which may be newer than the accounts list's).
func (t TaskEventType) IsBalanceEvent() bool { return strings.Contains(string(t), "Balance") }

// TaskEvent is one event of a data-refresh task. Events carry data beyond
// type and date whose shape Banno does not document; it is kept in Raw.
type TaskEvent struct {
	Type TaskEventType `json:"type"`
	Date Instant       `json:"date"`
	// Raw is the event object exactly as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the event and keeps its raw JSON.
func (e *TaskEvent) UnmarshalJSON(b []byte) error {
	type plain TaskEvent
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = TaskEvent(v)
	e.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// TaskEvents is one response of GET /users/{userId}/tasks/{taskId}.
type TaskEvents struct {
	// Version is the task's version after these events; pass it as
	// sinceVersion to wait for newer ones.
	Version int64
	Events  []TaskEvent
}

// NoVersion omits sinceVersion: the call returns every event at once.
const NoVersion int64 = -1

// Fetch asks the institution to refresh the user's data from its core
// (PUT /users/{userId}/fetch) and returns the task id. It is never retried
// automatically (it is not idempotent); a 401 is renewed and retried once
// since the institution did not act on it.
func (s *Session) Fetch(ctx context.Context) (string, error) {
	path, err := s.userPath("fetch")
	if err != nil {
		return "", fmt.Errorf("request data refresh: %w", err)
	}
	var taskID string
	err = s.do(ctx, apiRequest{
		method: http.MethodPut,
		route:  "/users/{userId}/fetch",
		url:    s.c.apiURL(path, nil),
		decode: func(b []byte) error {
			var v struct {
				TaskID json.RawMessage `json:"taskId"`
			}
			if err := decodeJSON(&v)(b); err != nil {
				return err
			}
			taskID = scalarText(v.TaskID)
			if taskID == "" {
				return fmt.Errorf("%w: no taskId", ErrMalformedBody)
			}
			return nil
		},
	})
	if err != nil {
		return "", fmt.Errorf("request data refresh: %w", err)
	}
	return taskID, nil
}

// TaskEvents returns the task's events newer than sinceVersion, or all of
// them with NoVersion. With a version the institution long-polls: it holds
// the request up to about 7 seconds or until a newer event exists.
func (s *Session) TaskEvents(ctx context.Context, taskID string, sinceVersion int64) (*TaskEvents, error) {
	id, err := escapeID("task", taskID)
	if err != nil {
		return nil, fmt.Errorf("get events of task %s: %w", taskID, err)
	}
	path, err := s.userPath("tasks", id)
	if err != nil {
		return nil, fmt.Errorf("get events of task %s: %w", taskID, err)
	}
	var q url.Values
	if sinceVersion >= 0 {
		q = url.Values{"sinceVersion": {strconv.FormatInt(sinceVersion, 10)}}
	}
	var out TaskEvents
	err = s.do(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/users/{userId}/tasks/{taskId}",
		url:    s.c.apiURL(path, q),
		decode: func(b []byte) error {
			var v struct {
				Version json.RawMessage `json:"version"`
				Events  []TaskEvent     `json:"events"`
			}
			if err := decodeJSON(&v)(b); err != nil {
				return err
			}
			out = TaskEvents{Events: v.Events}
			if vs := scalarText(v.Version); vs != "" {
				n, err := strconv.ParseInt(vs, 10, 64)
				if err != nil {
					return fmt.Errorf("%w: version %q", ErrMalformedBody, vs)
				}
				out.Version = n
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("get events of task %s: %w", taskID, err)
	}
	return &out, nil
}

// TaskResult is what WaitForTask gathered.
type TaskResult struct {
	TaskID string
	// Version is the last version seen.
	Version int64
	// Events are all events received, in order, balance events included.
	Events []TaskEvent
	// Ended reports that TaskEnded was received.
	Ended bool
	// TimedOut reports that the bounded wait ran out before TaskEnded.
	TimedOut bool
	// Polls is the number of requests made.
	Polls int
}

// BalanceEvents returns the events that concern account balances.
func (r *TaskResult) BalanceEvents() []TaskEvent {
	var out []TaskEvent
	for _, e := range r.Events {
		if e.Type.IsBalanceEvent() {
			out = append(out, e)
		}
	}
	return out
}

// WaitForTask long-polls the task's events until TaskEnded or until maxWait
// (0: Institution.TaskWait) has passed in total. The first request asks for
// every event; each next one passes the last version as sinceVersion. Running
// out of time is not an error: the result says TimedOut and holds the events
// gathered. Other errors are returned with the result so far.
func (s *Session) WaitForTask(ctx context.Context, taskID string, maxWait time.Duration) (*TaskResult, error) {
	if maxWait <= 0 {
		maxWait = s.c.inst.TaskWait
	}
	waitCtx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	res := &TaskResult{TaskID: taskID, Version: NoVersion}
	timedOut := func() bool { return ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) }
	// The request budget refuses a request that could not be granted before
	// the wait's deadline, before that deadline passes: when maxWait (not
	// the caller's own deadline) is what is short, that is the wait timing
	// out too.
	waitDeadline, _ := waitCtx.Deadline()
	budgetCutShort := func(err error) bool {
		if !errors.Is(err, ErrRequestBudget) || ctx.Err() != nil {
			return false
		}
		callerDeadline, ok := ctx.Deadline()
		return !ok || callerDeadline.After(waitDeadline)
	}
	for {
		start := s.c.now()
		ev, err := s.TaskEvents(waitCtx, taskID, res.Version)
		if err != nil {
			if timedOut() || budgetCutShort(err) {
				res.TimedOut = true
				return res, nil
			}
			return res, err
		}
		res.Polls++
		res.Events = append(res.Events, ev.Events...)
		if ev.Version > res.Version {
			res.Version = ev.Version
		} else if res.Version == NoVersion {
			res.Version = 0
		}
		for _, e := range ev.Events {
			if e.Type == TaskEnded {
				res.Ended = true
			}
		}
		if res.Ended {
			return res, nil
		}
		// The institution answered without holding the request: do not
		// spin.
		if wait := s.c.inst.TaskPollInterval - s.c.now().Sub(start); len(ev.Events) == 0 && wait > 0 {
			if err := s.c.sleep(waitCtx, wait); err != nil {
				if timedOut() {
					res.TimedOut = true
					return res, nil
				}
				return res, fmt.Errorf("wait for task %s: %w", taskID, err)
			}
		}
	}
}

// RefreshData runs Fetch and then WaitForTask: ask the institution for
// fresh data and wait, bounded by maxWait, for the task to end.
func (s *Session) RefreshData(ctx context.Context, maxWait time.Duration) (*TaskResult, error) {
	taskID, err := s.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	return s.WaitForTask(ctx, taskID, maxWait)
}
