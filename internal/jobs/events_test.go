package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/store"
)

// eventsOf returns the events of an app user, oldest first.
func eventsOf(t *testing.T, b *testBundle, appUser string) []store.Event {
	t.Helper()
	evs, err := b.Store.EventsSince(context.Background(), appUser, 0, 10000)
	require.NoError(t, err)
	return evs
}

func decode[T any](t *testing.T, ev store.Event) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(ev.Payload, &v))
	return v
}

func TestSyncsEmitEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerLink), time.Minute))

	// The first sync: every account is new, then the sync's counts.
	evs := eventsOf(t, b, link.AppUserRef)
	require.Len(t, evs, 2)
	require.Equal(t, string(events.AccountsChanged), evs[0].Type)
	changed := decode[events.AccountsChangedData](t, evs[0])
	require.Len(t, changed.Added, b.count(t, `SELECT count(*) FROM accounts WHERE link_id = $1`, link.ID))
	require.Empty(t, changed.Inactivated)
	require.Equal(t, string(events.SyncCompleted), evs[1].Type)
	runs, err := b.Store.SyncRuns(context.Background(), link.ID, 1)
	require.NoError(t, err)
	done := decode[events.SyncCompletedData](t, evs[1])
	require.Equal(t, runs[0].ID, done.SyncRunID)
	require.Equal(t, "link", done.Trigger)
	require.Equal(t, runs[0].Added, done.Added)
	require.Positive(t, done.Added)
	require.Equal(t, runs[0].Accounts, done.Accounts)
	for _, ev := range evs {
		require.Equal(t, link.ID, ev.LinkID)
		require.Equal(t, store.EventNotConfigured, ev.DeliveryStatus, "no endpoint configured")
	}

	// The bank moves on: removals are reported per account, in the
	// transaction that tombstones them.
	_, err = b.Sandbox.Clock().Advance(60 * 24 * time.Hour)
	require.NoError(t, err)
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), time.Minute))
	removed := 0
	after := evs[len(evs)-1].Seq
	evs = eventsOf(t, b, link.AppUserRef)
	var last store.Event
	for _, ev := range evs {
		if ev.Seq <= after {
			continue
		}
		if ev.Type == string(events.TransactionsRemoved) {
			removed += decode[events.TransactionsRemovedData](t, ev).Removed
		}
		last = ev
	}
	require.Equal(t, b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'removed'`, link.ID), removed)
	require.Positive(t, removed)
	require.Equal(t, string(events.SyncCompleted), last.Type)
	require.Equal(t, removed, decode[events.SyncCompletedData](t, last).Removed)

	// The user revokes the grant at the bank: the link's status change is
	// reported once, with its error class.
	require.Equal(t, 1, b.Sandbox.Disconnect(b.Sandbox.Bank().UserID(1)))
	require.Equal(t, "cancelled", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))
	require.Equal(t, "cancelled", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))
	evs = eventsOf(t, b, link.AppUserRef)
	status := evs[len(evs)-1]
	require.Equal(t, string(events.LinkStatusChanged), status.Type)
	require.Equal(t, events.LinkStatusChangedData{OldStatus: "active", NewStatus: "reauth_required", ErrorClass: "consent_revoked"},
		decode[events.LinkStatusChangedData](t, status))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE type = 'link.status_changed'`))
}

// TestRepairsAreToldAsRemovals lets a bank drop pending transactions
// silently (profile silent-pending) while no repair runs, then runs a
// sync that reconciles, through a worker: every row its reconciliation
// and the stale-pending rule tombstone is told in transactions.removed,
// as many as the change feed's removed entries and the run's count.
func TestRepairsAreToldAsRemovals(t *testing.T) {
	t.Parallel()
	b, link := driftBySilentPending(t)
	ctx := context.Background()
	removedChanges := func() int {
		return b.count(t, `SELECT count(*) FROM transaction_changes WHERE link_id = $1 AND change = 'removed'`, link.ID)
	}
	changesBefore := removedChanges()
	var after int64
	if evs := eventsOf(t, b, link.AppUserRef); len(evs) > 0 {
		after = evs[len(evs)-1].Seq
	}

	worker := b.startWorker(t, jobs.SyncConfig{ReconcileEvery: time.Nanosecond}, jobs.ClientConfig{})
	require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerScheduled), time.Minute))
	runs, err := b.Store.SyncRuns(ctx, link.ID, 1)
	require.NoError(t, err)
	require.True(t, runs[0].Reconcile.Ran)
	require.Positive(t, runs[0].Reconcile.Removed, "the reconciliation repaired the drift")

	told := 0
	for _, ev := range eventsOf(t, b, link.AppUserRef) {
		if ev.Seq > after && ev.Type == string(events.TransactionsRemoved) {
			told += decode[events.TransactionsRemovedData](t, ev).Removed
		}
	}
	require.Equal(t, removedChanges()-changesBefore, told)
	require.Equal(t, runs[0].Removed, told)
}
