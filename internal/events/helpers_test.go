package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
)

// testKey signs the webhooks of the tests.
var testKey = events.SigningKey{ID: "k2026", Secret: "0123456789abcdef0123456789abcdef-test"}

// receipt is one request the receiver got.
type receipt struct {
	header http.Header
	body   []byte
	parsed events.Body
	// verr is the result of verifying the signature.
	verr error
}

// receiver is a webhook endpoint on loopback. answer decides the response
// of each request (nil: 204).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []receipt
	answer func(n int, r receipt, w http.ResponseWriter, req *http.Request)
}

func newReceiver(t *testing.T, answer func(n int, r receipt, w http.ResponseWriter, req *http.Request)) *receiver {
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r := receipt{header: req.Header.Clone(), body: body}
		r.verr = events.Verify([]events.SigningKey{testKey}, req.Header, body, time.Now(), events.DefaultReplayWindow)
		_ = json.Unmarshal(body, &r.parsed)
		rc.mu.Lock()
		rc.got = append(rc.got, r)
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, r, w, req)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) receipts() []receipt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receipt(nil), rc.got...)
}

// bundle is a database with a running delivery worker.
type bundle struct {
	pool    *pgxpool.Pool
	store   *store.Store
	client  *river.Client[pgx.Tx]
	emitter *events.Emitter
}

// start runs a River client with the delivery worker against a fresh
// database, delivering to url.
func start(t *testing.T, url string, maxAttempts int, tweak func(*events.DeliveryConfig)) *bundle {
	t.Helper()
	pool := testdb.New(t)
	st := store.New(pool, nil)
	cfg := events.DeliveryConfig{Endpoint: url, Keys: []events.SigningKey{testKey}, Timeout: 2 * time.Second,
		RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	w, err := events.NewDeliverWorker(st, cfg)
	require.NoError(t, err)
	workers := river.NewWorkers()
	require.NoError(t, river.AddWorkerSafely(workers, w))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{events.Queue: {MaxWorkers: 4}},
		Workers:           workers,
		FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown:     10 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
	return &bundle{pool: pool, store: st, client: client, emitter: events.NewEmitter(client, cfg.Enabled(), maxAttempts)}
}

// emit writes one event in its own transaction and returns it.
func (b *bundle) emit(t *testing.T, e events.Event) store.Event {
	t.Helper()
	var out store.Event
	require.NoError(t, b.store.Transact(context.Background(), func(tx *store.Store) error {
		if err := b.emitter.Emit(context.Background(), tx, e); err != nil {
			return err
		}
		evs, err := tx.EventsSince(context.Background(), e.AppUserRef, 0, 10000)
		if err != nil {
			return err
		}
		out = evs[len(evs)-1]
		return nil
	}))
	return out
}

// waitStatus waits until event seq has the delivery status want.
func (b *bundle) waitStatus(t *testing.T, seq int64, want string) store.Event {
	t.Helper()
	var ev store.Event
	require.Eventually(t, func() bool {
		var err error
		ev, err = b.store.Event(context.Background(), seq)
		require.NoError(t, err)
		return ev.DeliveryStatus == want
	}, 60*time.Second, 20*time.Millisecond, "event %d never became %s", seq, want)
	return ev
}

func (b *bundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

const linkA = "00000000-0000-4000-8000-00000000000a"
const linkB = "00000000-0000-4000-8000-00000000000b"
