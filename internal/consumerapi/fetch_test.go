package consumerapi

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	fetchRoute = "PUT /users/{userId}/fetch"
	taskRoute  = "GET /users/{userId}/tasks/{taskId}"
	testTaskID = "2f1c8e0a-task-4d7b-9e3a-61b0c5d4e3f2"
)

func TestFetchAndWaitForTask(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(fetchRoute, func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusOK, "fetch.json")
	})
	bank.handle(taskRoute, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, testTaskID, r.PathValue("taskId"))
		switch r.URL.Query().Get("sinceVersion") {
		case "":
			writeFixture(t, w, http.StatusOK, "task_events_started.json")
		case "1":
			writeFixture(t, w, http.StatusOK, "task_events_balances.json")
		case "3":
			writeFixture(t, w, http.StatusOK, "task_events_ended.json")
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	c := bank.newClient(t)
	s := c.Session(testUserID, StaticToken(testAccess))

	res, err := s.RefreshData(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, testTaskID, res.TaskID)
	require.True(t, res.Ended)
	require.False(t, res.TimedOut)
	require.Equal(t, int64(4), res.Version)
	require.Equal(t, 3, res.Polls)
	require.Equal(t, []string{"", "sinceVersion=1", "sinceVersion=3"}, bank.queriesOf(taskRoute))

	var types []TaskEventType
	for _, e := range res.Events {
		types = append(types, e.Type)
	}
	require.Equal(t, []TaskEventType{TaskStarted, EnrichmentAccountBalances, EnrichmentAllAccountBalancesUpdated, TaskEnded}, types)
	balances := res.BalanceEvents()
	require.Len(t, balances, 2)
	require.Contains(t, string(balances[0].Raw), `"availableBalance": "2493.17"`, "event data kept raw")
	require.Equal(t, time.Date(2026, 11, 20, 13, 45, 3, 4e6, time.UTC), balances[0].Date.UTC())
	require.Equal(t, 1, bank.hitCount(fetchRoute))
}

func TestWaitForTaskBounded(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	var polls atomic.Int32
	bank.handle(taskRoute, func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) == 1 {
			writeFixture(t, w, http.StatusOK, "task_events_started.json")
			return
		}
		// Long-poll: hold, then answer with nothing new.
		select {
		case <-r.Context().Done():
			return
		case <-time.After(40 * time.Millisecond):
		}
		writeJSON(w, http.StatusOK, []byte(`{"version": 1, "events": []}`))
	})
	c := bank.newClient(t)
	s := c.Session(testUserID, StaticToken(testAccess))

	start := time.Now()
	res, err := s.WaitForTask(context.Background(), testTaskID, 200*time.Millisecond)
	elapsed := time.Since(start)
	require.NoError(t, err, "running out of time is not an error")
	require.True(t, res.TimedOut)
	require.False(t, res.Ended)
	require.Len(t, res.Events, 1, "events gathered are returned")
	require.Equal(t, TaskStarted, res.Events[0].Type)
	require.GreaterOrEqual(t, elapsed, 200*time.Millisecond)
	require.GreaterOrEqual(t, res.Polls, 2)
	for _, q := range bank.queriesOf(taskRoute)[1:] {
		require.Equal(t, "sinceVersion=1", q)
	}
}

// TestWaitForTaskBudgetShorterThanTheWait: when the institution's request
// budget cannot grant the next poll before the wait's deadline, the wait
// has timed out; it is not a rate-limit failure.
func TestWaitForTaskBudgetShorterThanTheWait(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(taskRoute, func(w http.ResponseWriter, r *http.Request) {
		writeFixture(t, w, http.StatusOK, "task_events_started.json")
	})
	// One request a minute: the first poll takes the only token.
	c := bank.newClient(t, func(in *Institution) { in.RequestsPerSecond, in.Burst = 1.0/60, 1 })
	s := c.Session(testUserID, StaticToken(testAccess))

	res, err := s.WaitForTask(context.Background(), testTaskID, 300*time.Millisecond)
	require.NoError(t, err, "running out of budget before the wait ends is the wait timing out")
	require.True(t, res.TimedOut)
	require.Equal(t, 1, res.Polls)

	// A caller whose own deadline is the shorter one gets the budget error.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = s.WaitForTask(ctx, testTaskID, time.Minute)
	require.ErrorIs(t, err, ErrRequestBudget)
}

func TestWaitForTaskCallerCanceled(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(taskRoute, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c := bank.newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := c.Session(testUserID, StaticToken(testAccess)).WaitForTask(ctx, testTaskID, time.Minute)
	require.Error(t, err, "the caller's deadline is an error, unlike the bounded wait")
	require.NotNil(t, res)
	require.False(t, res.TimedOut)
}

func TestWaitForTaskErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		kind   ErrorKind
	}{
		{"unknown task", http.StatusNotFound, KindNotFound},
		{"sinceVersion ahead", http.StatusBadRequest, KindPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(taskRoute, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
			})
			c := bank.newClient(t)
			_, err := c.Session(testUserID, StaticToken(testAccess)).WaitForTask(context.Background(), testTaskID, time.Second)
			require.Equal(t, tt.kind, Classify(err))
			require.Equal(t, 1, bank.hitCount(taskRoute))
		})
	}
}

func TestFetchErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(t *testing.T, w http.ResponseWriter)
		kind    ErrorKind
		check   func(t *testing.T, e *APIError)
	}{
		{
			name: "400 not fully authenticated",
			handler: func(t *testing.T, w http.ResponseWriter) {
				writeFixture(t, w, http.StatusBadRequest, "error_fetch_400.json")
			},
			kind: KindPermanent,
			check: func(t *testing.T, e *APIError) {
				require.Equal(t, "400", e.ErrorCode)
				require.Equal(t, "User is not fully authenticated", e.Messages)
			},
		},
		{
			name: "403 missing permission",
			handler: func(t *testing.T, w http.ResponseWriter) {
				writeFixture(t, w, http.StatusForbidden, "error_forbidden.json")
			},
			kind: KindForbidden,
		},
		{
			name:    "503 is not retried for PUT",
			handler: func(t *testing.T, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) },
			kind:    KindTransient,
		},
		{
			name:    "response without taskId",
			handler: func(t *testing.T, w http.ResponseWriter) { writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`)) },
			kind:    KindPermanent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(fetchRoute, func(w http.ResponseWriter, r *http.Request) { tt.handler(t, w) })
			c := bank.newClient(t)
			_, err := c.Session(testUserID, StaticToken(testAccess)).Fetch(context.Background())
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.kind, ae.Kind)
			require.Equal(t, fetchRoute, ae.Endpoint)
			require.Equal(t, 1, bank.hitCount(fetchRoute), "PUT /fetch is never retried")
			if tt.check != nil {
				tt.check(t, ae)
			}
		})
	}
}
