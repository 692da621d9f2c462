package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// matrixExpect is what the sync achieves against one bank profile.
type matrixExpect struct {
	// drifts: no incremental feed can see some of the profile's changes;
	// the incremental pass alone drifts from the truth at some step, and
	// one reconciliation pass repairs it.
	drifts bool
	// mayDrift: as drifts, but whether this user's data shows it is
	// a matter of chance (a dropped pending in the advanced span).
	mayDrift bool
	// refused: the bank cannot be read completely (offset ignored); the
	// sync ends in this error class and stores nothing that is not true.
	refused pfm.ErrorClass
}

// matrixExpectations classifies every sandbox profile; a profile missing
// here fails the matrix, so a new one must be thought about.
var matrixExpectations = map[string]matrixExpect{
	"documented":           {},
	"lazy-inactivation":    {mayDrift: true},
	"silent-pending":       {drifts: true},
	"stale-last-updated":   {drifts: true},
	"coarse-updated-since": {},
	"unstable-paging":      {drifts: true},
	"broken-offset":        {refused: pfm.ClassRepeatedPage},
	"sloppy-records":       {},
	"aggregator":           {},
	"worst-case":           {drifts: true},
}

// matrixUser is the user the matrix links: with seed 1 it holds an
// account already closed when linking, and shares the aggregator's
// external account with user 1.
const (
	matrixSeed = 1
	matrixUser = 2
)

// crashTransport fails every request once armed requests have passed,
// cancelling the sync's context at that instant: a worker killed mid-sync.
type crashTransport struct {
	base http.RoundTripper

	mu     sync.Mutex
	after  int // transactions requests still allowed; <0: disarmed
	cancel context.CancelFunc
	fired  atomic.Bool
}

func (c *crashTransport) arm(after int, cancel context.CancelFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.after, c.cancel = after, cancel
	c.fired.Store(false)
}

func (c *crashTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/transactions") {
		c.mu.Lock()
		if c.after == 0 && c.cancel != nil {
			c.cancel()
			c.cancel = nil
			c.fired.Store(true)
		}
		if c.after > 0 {
			c.after--
		}
		c.mu.Unlock()
	}
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return c.base.RoundTrip(r)
}

// TestBankBehaviourMatrix syncs one user against every sandbox profile:
// a first sync cut short by a crash and then completed, then the bank's
// clock advanced 3, 20 and 60 days. At every step an incremental pass
// alone must match the bank's ground truth exactly (accounts including the
// closed one, balances, every live transaction once), unless the profile
// hides changes from every incremental feed: then the pass's drift is
// shown, and one reconciliation pass must make the datastore exact.
//
// The crash is in-process: the sync's context is cancelled in the middle
// of a transactions request, the way a killed worker stops, and the next
// sync resumes from what committed.
func TestBankBehaviourMatrix(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, p := range sandbox.Profiles() {
		seen[p.Name] = true
		want, ok := matrixExpectations[p.Name]
		require.True(t, ok, "profile %q is not classified in matrixExpectations", p.Name)
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			runMatrix(t, p.Behaviour, want)
		})
	}
	for name := range matrixExpectations {
		require.True(t, seen[name], "matrixExpectations names an unknown profile %q", name)
	}
}

func runMatrix(t *testing.T, behaviour sandbox.Behaviour, want matrixExpect) {
	ctx := context.Background()
	crash := &crashTransport{base: jobs.CountingTransport(nil), after: -1}
	b := &testBundle{synctest.New(t, synctest.Options{
		Sandbox: func(o *sandbox.Options) {
			o.Behaviour = behaviour
			o.Bank.Seed = matrixSeed
			o.Bank.Users = 2
			o.Bank.HistoryDays = 150
			o.Bank.FutureDays = 90
		},
		ClientOptions: []consumerapi.Option{consumerapi.WithTransport(crash)},
	})}
	link := b.consent(t, matrixUser)
	// Small pages and backfill windows: several pages per window, so a
	// crash lands between committed pages.
	base := jobs.SyncConfig{PageSize: 50, PageOverlap: 10, BackfillWindow: 30 * 24 * time.Hour}
	incremental := base
	incremental.DisableReconcile, incremental.StalePendingAge = true, -1
	feedOnly := b.syncer(t, incremental, 4)
	repair := base
	repair.ReconcileEvery = time.Nanosecond // due at every sync
	repairing := b.syncer(t, repair, 4)

	// The first sync dies after three transactions requests. It reads one
	// account at a time, so that the third request comes after a commit
	// (accounts read side by side could each have one request in flight).
	oneAtATime := incremental
	oneAtATime.AccountConcurrency = 1
	crashing := b.syncer(t, oneAtATime, 4)
	crashCtx, cancel := context.WithCancel(ctx)
	crash.arm(3, cancel)
	err := crashing.Sync(crashCtx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 0, 1)
	cancel()
	require.True(t, crash.fired.Load(), "the crash happened")
	require.Error(t, err, "the crashed sync reports it did not finish")
	require.Positive(t, b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1`, link.ID),
		"pages before the crash committed")
	requireNothingUntrue(t, b, link, behaviour)

	drifted, refused := false, false
	steps := []struct {
		name    string
		advance time.Duration
		trigger jobs.Trigger
	}{
		{"first sync after the crash", 0, jobs.TriggerManual},
		{"+3 days", 3 * 24 * time.Hour, jobs.TriggerScheduled},
		{"+20 days", 20 * 24 * time.Hour, jobs.TriggerScheduled},
		{"+60 days", 60 * 24 * time.Hour, jobs.TriggerScheduled},
	}
	for _, step := range steps {
		if step.advance > 0 {
			_, err := b.Sandbox.Clock().Advance(step.advance)
			require.NoError(t, err)
		}
		err := feedOnly.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: step.trigger}, 0, 1)
		if want.refused != "" && err != nil {
			runs, rerr := b.Store.SyncRuns(ctx, link.ID, 1)
			require.NoError(t, rerr)
			require.Equal(t, want.refused, runs[0].ErrorClass, runs[0].Error)
			requireNothingUntrue(t, b, link, behaviour)
			t.Logf("%s: refused: %s", step.name, runs[0].Error)
			refused = true
			break
		}
		require.NoError(t, err, step.name)
		diff, held := truthDiff(t, b, link, matrixUser, behaviour)
		t.Logf("%s: incremental pass: %d differences from the truth %q, %d quarantined", step.name, len(diff), diff[:min(len(diff), 4)], held)
		if !want.drifts && !want.mayDrift {
			require.Empty(t, diff, "%s: the incremental pass alone is exact", step.name)
		}
		drifted = drifted || len(diff) > 0

		// One reconciliation pass.
		require.NoError(t, repairing.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}, 0, 1), step.name)
		runs, err := b.Store.SyncRuns(ctx, link.ID, 1)
		require.NoError(t, err)
		if !runs[0].Reconcile.Ran {
			// The first sync that may reconcile starts the account's
			// schedule instead; the next one runs the pass.
			require.NoError(t, repairing.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}, 0, 1), step.name)
			runs, err = b.Store.SyncRuns(ctx, link.ID, 1)
			require.NoError(t, err)
		}
		require.True(t, runs[0].Reconcile.Ran, step.name)
		if len(diff) == 0 {
			// A record the feed only ever served malformed waits in the
			// quarantine; the pass may read it whole and add it. Nothing
			// else is repaired in an exact datastore.
			r := runs[0].Reconcile
			require.LessOrEqual(t, r.Added, held, "%s: only quarantined records are added", step.name)
			require.Zero(t, r.Removed+r.Modified+runs[0].StalePendingRemoved,
				"%s: an exact datastore needs no repair", step.name)
		} else {
			require.Positive(t, runs[0].Reconcile.Repairs()+runs[0].StalePendingRemoved, step.name)
		}
		diff, held = truthDiff(t, b, link, matrixUser, behaviour)
		require.Empty(t, diff, "%s: exact after one reconciliation pass", step.name)
		if behaviour.MalformedRecord == nil {
			require.Zero(t, held, step.name)
		}
	}
	if want.refused != "" {
		require.True(t, refused, "the bank that cannot be read completely is refused at some step")
	}
	if want.drifts {
		require.True(t, drifted, "the profile hides changes from the incremental feed at some step")
	}
}

// truthDiff lists how the link's datastore differs from the sandbox's
// ground truth for user n under behaviour bh: accounts (presence, balance,
// closed), and live transactions (missing, extra, stored twice, different
// JSON). Fields the behaviour serves differently from the truth (a stale
// lastUpdated, a pending row's null datePosted) are compared as served: the
// datastore keeps what the bank said. A transaction the bank only ever
// served malformed is not missing when it waits in the link's quarantine;
// quarantined counts those.
func truthDiff(t *testing.T, b *testBundle, link pfm.Link, n int, bh sandbox.Behaviour) (diff []string, quarantined int) {
	t.Helper()
	ctx := context.Background()
	truth, ok := b.Sandbox.Truth(b.Sandbox.Bank().UserID(n))
	require.True(t, ok)

	rows, err := b.Pool.Query(ctx, `SELECT provider_account_id, coalesce(balance::text, ''), inactive_at IS NOT NULL FROM accounts WHERE link_id = $1`, link.ID)
	require.NoError(t, err)
	type acct struct {
		balance  string
		inactive bool
	}
	got := map[string]acct{}
	for rows.Next() {
		var id string
		var a acct
		require.NoError(t, rows.Scan(&id, &a.balance, &a.inactive))
		got[id] = a
	}
	require.NoError(t, rows.Err())
	known := map[string]bool{}
	for _, id := range truth.InactivatedAccountIDs {
		known[id] = true
		if a, ok := got[id]; !ok || !a.inactive {
			diff = append(diff, fmt.Sprintf("account %s: closed at the bank, stored %+v (present %v)", id, a, ok))
		}
	}
	for _, a := range truth.Accounts {
		g, ok := got[a.ID]
		if !ok || g.inactive || g.balance != a.Balance.String() {
			diff = append(diff, fmt.Sprintf("account %s: want balance %s, stored %+v (present %v)", a.ID, a.Balance, g, ok))
		}
		known[a.ID] = true
	}
	for id := range got {
		if !known[id] {
			diff = append(diff, "account "+id+": stored, unknown to the bank")
		}
	}

	wantTx := map[string]map[string]any{}
	for _, list := range truth.Transactions {
		for _, tx := range list {
			raw, err := json.Marshal(tx)
			require.NoError(t, err)
			wantTx[tx.ID] = asServed(t, raw, bh)
		}
	}
	rows, err = b.Pool.Query(ctx, `
		SELECT t.provider_transaction_id, t.raw::text FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND t.removed_at IS NULL`, link.ID)
	require.NoError(t, err)
	gotTx := map[string]map[string]any{}
	for rows.Next() {
		var id, raw string
		require.NoError(t, rows.Scan(&id, &raw))
		if _, dup := gotTx[id]; dup {
			diff = append(diff, "transaction "+id+": stored twice")
		}
		gotTx[id] = asServed(t, []byte(raw), bh)
	}
	require.NoError(t, rows.Err())

	q, err := b.Store.LinkQuarantine(ctx, link.ID, 10_000)
	require.NoError(t, err)
	held := map[string]bool{}
	var anonymous []map[string]any
	for _, r := range q {
		if r.ProviderID != "" {
			held[r.ProviderID] = true
			continue
		}
		var v map[string]any
		if json.Unmarshal([]byte(r.Raw), &v) == nil {
			anonymous = append(anonymous, v)
		}
	}
	for id, w := range wantTx {
		g, ok := gotTx[id]
		switch {
		case !ok && (held[id] || heldWithoutID(t, anonymous, w, bh)):
			quarantined++
		case !ok:
			diff = append(diff, "transaction "+id+": missing")
		case !reflect.DeepEqual(g, w):
			diff = append(diff, "transaction "+id+": differs in "+differingKeys(t, g, w))
		}
	}
	for id := range gotTx {
		if _, ok := wantTx[id]; !ok {
			diff = append(diff, "transaction "+id+": live, but not at the bank")
		}
	}
	return diff, quarantined
}

// asServed decodes a transaction's JSON without the fields bh serves
// differently from the truth.
func asServed(t *testing.T, raw []byte, bh sandbox.Behaviour) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	if bh.StaleLastUpdated {
		delete(v, "lastUpdated")
	}
	if bh.PendingDatePosted != "" && v["pendingStatus"] == "InstitutionPending" {
		delete(v, "datePosted")
	}
	return v
}

// heldWithoutID reports whether a quarantined record without an id is the
// truth's transaction w with its id left out.
func heldWithoutID(t *testing.T, anonymous []map[string]any, w map[string]any, bh sandbox.Behaviour) bool {
	t.Helper()
	for _, a := range anonymous {
		raw, err := json.Marshal(a)
		require.NoError(t, err)
		a := asServed(t, raw, bh)
		want := maps.Clone(w)
		delete(want, "id")
		if reflect.DeepEqual(a, want) {
			return true
		}
	}
	return false
}

// requireNothingUntrue checks a partly synced link holds no account or
// live transaction the bank does not have, and nothing twice.
func requireNothingUntrue(t *testing.T, b *testBundle, link pfm.Link, bh sandbox.Behaviour) {
	t.Helper()
	diff, _ := truthDiff(t, b, link, matrixUser, bh)
	for _, d := range diff {
		if strings.HasSuffix(d, ": missing") || strings.HasSuffix(d, "(present false)") {
			continue
		}
		if strings.HasPrefix(d, "transaction ") && strings.Contains(d, ": differs in ") {
			// A row stored before a later change the next pass reads.
			continue
		}
		require.Fail(t, "the datastore holds something untrue", d)
	}
}

// differingKeys names the top-level keys in which two JSON objects differ.
func differingKeys(t *testing.T, x, y map[string]any) string {
	t.Helper()
	var keys []string
	for k, v := range x {
		if w, ok := y[k]; !ok || canonicalAny(t, v) != canonicalAny(t, w) {
			keys = append(keys, k)
		}
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func canonicalAny(t *testing.T, v any) string {
	t.Helper()
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}

// The worker's settings reach the sync: the reconciliation knobs, with 0
// stale-pending days meaning never.
func TestSyncConfigFromReconcileSettings(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvDatabaseURL: "postgres://localhost/pfm", config.EnvReconcileEvery: "6h",
			config.EnvReconcileWindowDays: "60", config.EnvReconcileDisable: "true", config.EnvStalePendingDays: "0",
			config.EnvSuspectPendingDays: "3"}[k]
	})
	require.NoError(t, err)
	sc := jobs.SyncConfigFrom(cfg.Worker)
	require.Equal(t, 6*time.Hour, sc.ReconcileEvery)
	require.Equal(t, 60*config.Day, sc.ReconcileWindow)
	require.True(t, sc.DisableReconcile)
	require.Negative(t, sc.StalePendingAge, "never")
	require.Equal(t, 3*config.Day, sc.SuspectPendingAge)

	def, err := config.Load(func(k string) string {
		return map[string]string{config.EnvDatabaseURL: "postgres://localhost/pfm"}[k]
	})
	require.NoError(t, err)
	sc = jobs.SyncConfigFrom(def.Worker)
	want := jobs.DefaultSyncConfig()
	require.Equal(t, want.ReconcileEvery, sc.ReconcileEvery)
	require.Equal(t, config.DefaultReconcileEvery, sc.ReconcileEvery)
	require.Equal(t, config.DefaultReconcileWindow*config.Day, sc.ReconcileWindow)
	require.Equal(t, config.DefaultStalePendingDays*config.Day, sc.StalePendingAge)
	require.Equal(t, config.DefaultSuspectPendingDays*config.Day, sc.SuspectPendingAge)
	require.False(t, sc.DisableReconcile)
}
