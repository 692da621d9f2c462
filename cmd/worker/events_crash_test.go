package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// TestEventDeliverySurvivesSIGKILL kills the worker process while it
// waits for a webhook's answer, and checks that the restarted worker
// delivers every event anyway (the interrupted one again: at least once),
// signed, and in order per link.
func TestEventDeliverySurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin, err := buildWorker()
	require.NoError(t, err)
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) { o.Bank.Users = 1 }})
	key := events.SigningKey{ID: "crash", Secret: "crash-test-signing-secret-0123456789"}

	var mu sync.Mutex
	hold := true
	received := map[string]int{}
	var accepted []events.Body
	inFlight := make(chan string, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := events.Verify([]events.SigningKey{key}, req.Header, body, time.Now(), events.DefaultReplayWindow); err != nil {
			t.Errorf("webhook does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b events.Body
		_ = json.Unmarshal(body, &b)
		mu.Lock()
		received[b.ID]++
		h := hold
		if !h {
			accepted = append(accepted, b)
		}
		mu.Unlock()
		if h {
			select {
			case inFlight <- b.ID:
			default:
			}
			<-req.Context().Done() // answered never: the worker dies waiting
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)

	// Events of two links written before the worker starts, and a first
	// sync that writes its own.
	link := env.Consent(t, 1)
	inserter, err := river.NewClient(riverpgxv5.New(env.Pool), &river.Config{})
	require.NoError(t, err)
	emitter := events.NewEmitter(inserter, true, 20)
	other := "00000000-0000-4000-8000-0000000000c1"
	for i := range 4 {
		for _, id := range []string{link.ID, other} {
			require.NoError(t, env.Store.Transact(context.Background(), func(tx *store.Store) error {
				return emitter.Emit(context.Background(), tx, events.Event{Type: events.SyncFailed, AppUserRef: link.AppUserRef, LinkID: id,
					Data: events.SyncFailedData{Trigger: "scheduled", ErrorClass: "server_error", SyncRunID: int64(i)}})
			}))
		}
	}
	jobID := queueFirstSync(t, env, link.ID)

	envVars := append(workerEnv(env),
		"PFMSYNC_EVENTS_WEBHOOK_URL="+rc.URL,
		"PFMSYNC_EVENTS_SIGNING_KEYS="+key.ID+"="+key.Secret,
		"PFMSYNC_EVENTS_RETRY_BASE=100ms",
		"PFMSYNC_EVENTS_RETRY_MAX=1s",
		"PFMSYNC_EVENTS_TIMEOUT=5s",
		"PFMSYNC_METRICS_ADDR=off",
		// The first sync runs beside the deliveries; on a loaded machine
		// under the race detector a 10 s job timeout can expire attempt
		// after attempt. The killed worker's running jobs are rescued
		// after PFMSYNC_RESCUE_AFTER.
		"PFMSYNC_JOB_TIMEOUT=30s",
		"PFMSYNC_RESCUE_AFTER=31s",
	)
	start := func() (*exec.Cmd, *testsupport.SyncBuffer) {
		// The process writes its logs while the test reads them.
		logs := &testsupport.SyncBuffer{}
		cmd := exec.Command(bin)
		cmd.Env = envVars
		cmd.Stdout, cmd.Stderr = logs, logs
		require.NoError(t, cmd.Start())
		return cmd, logs
	}

	cmd, logs := start()
	var interrupted string
	select {
	case interrupted = <-inFlight:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("no webhook was sent; logs:\n%s", logs.String())
	}
	// The first sync refreshes the link's token as it starts. A process
	// killed between the bank's rotation of the refresh token and the
	// commit of the new one loses the grant (the bank's reuse detection
	// revokes it), whatever the worker does; so the kill waits for the
	// refresh to commit, and lands while the webhook waits for its answer.
	tokenVersion := func() int {
		return env.Count(t, `SELECT version::int FROM link_tokens WHERE link_id = $1`, link.ID)
	}
	for deadline := time.Now().Add(2 * time.Minute); tokenVersion() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the first sync did not refresh the token; logs:\n%s", logs.String())
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	mu.Lock()
	hold = false
	mu.Unlock()

	cmd, logs = start()
	pending := func() int {
		return env.Count(t, `SELECT count(*) FROM events WHERE delivery_status <> 'delivered'`)
	}
	// The state is read when the wait ends, so a failure shows where
	// delivery stopped.
	for deadline := time.Now().Add(6 * time.Minute); pending() != 0 || jobState(t, env, jobID) != "completed"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("undelivered events remain (%d, job %s)\njobs:\n%s\nevents:\n%s\nlogs:\n%s", pending(), jobState(t, env, jobID),
				env.Dump(t, `SELECT id, kind, state, attempt, scheduled_at, attempted_at, left(errors::text, 300) FROM river_job ORDER BY id`),
				env.Dump(t, `SELECT seq, link_id, type, delivery_status, attempts, next_attempt_at FROM events ORDER BY seq`),
				logs.String())
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "graceful stop; logs:\n%s", logs.String())

	total := env.Count(t, `SELECT count(*) FROM events`)
	require.Greater(t, total, 8, "the sync's own events are there too")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, received, total, "every event reached the endpoint")
	require.GreaterOrEqual(t, received[interrupted], 2, "the interrupted delivery was sent again")
	perLink := map[string][]int64{}
	firsts := map[string]bool{}
	for _, b := range accepted {
		if firsts[b.ID] {
			continue
		}
		firsts[b.ID] = true
		perLink[b.LinkID] = append(perLink[b.LinkID], b.Seq)
	}
	require.Len(t, firsts, total)
	for id, seqs := range perLink {
		require.IsIncreasing(t, seqs, "deliveries of link %s", id)
	}
}
