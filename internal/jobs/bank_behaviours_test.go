package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/store"
)

func withProfile(t *testing.T, name string) setupOptions {
	b, err := sandbox.Profile(name)
	require.NoError(t, err)
	return setupOptions{sandbox: func(o *sandbox.Options) { o.Behaviour = b }}
}

func TestAccountClosedAtLinkIsStoredWithItsHistory(t *testing.T) {
	t.Parallel()
	// The demo's seed: its user2 has a savings account already closed.
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) { o.Bank.Seed = 1 }})
	n := 0
	for u := 1; u <= 4 && n == 0; u++ {
		truth, ok := b.Sandbox.Bank().Truth(b.Sandbox.Bank().UserID(u), b.Sandbox.Clock().Now())
		require.True(t, ok)
		if len(truth.InactivatedAccountIDs) > 0 {
			n = u
		}
	}
	require.NotZero(t, n, "a sandbox user has an account already closed when linking")
	link := b.consent(t, n)
	s := b.syncer(t, jobs.SyncConfig{}, 4)
	require.NoError(t, s.Sync(context.Background(), jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 0, 1))
	require.Positive(t, b.count(t, `SELECT count(*) FROM accounts WHERE link_id = $1 AND inactive_at IS NOT NULL`, link.ID), "the closed account is stored, inactive")
	require.Positive(t, b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND a.inactive_at IS NOT NULL`, link.ID), "with its history")
	b.requireMatchesTruth(t, link, n)
}

// driftBySilentPending links sandbox user 1 of a bank that drops pending
// transactions silently (profile silent-pending) and syncs it with no
// repair: a first sync, which matches the bank, and one 20 bank days
// later, after which pendings the bank dropped are still live.
func driftBySilentPending(t *testing.T) (*testBundle, pfm.Link) {
	t.Helper()
	b := setup(t, withProfile(t, "silent-pending"))
	link := b.consent(t, 1)
	ctx := context.Background()
	noRepair := b.syncer(t, jobs.SyncConfig{DisableReconcile: true, StalePendingAge: -1}, 4)
	require.NoError(t, noRepair.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 0, 1))
	b.requireMatchesTruth(t, link, 1)

	_, err := b.Sandbox.Clock().Advance(20 * 24 * time.Hour)
	require.NoError(t, err)
	require.NoError(t, noRepair.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}, 0, 1))
	return b, link
}

func TestSilentPendingDriftIsRepairedByOneReconciliation(t *testing.T) {
	t.Parallel()
	b, link := driftBySilentPending(t)
	ctx := context.Background()
	truth, ok := b.Sandbox.Bank().Truth(b.Sandbox.Bank().UserID(1), b.Sandbox.Clock().Now())
	require.True(t, ok)
	want := 0
	for _, list := range truth.Transactions {
		want += len(list)
	}
	live := b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.link_id = $1 AND t.removed_at IS NULL`, link.ID)
	require.Greater(t, live, want, "drift: pendings the bank dropped silently are still live")

	repair := b.syncer(t, jobs.SyncConfig{ReconcileEvery: time.Nanosecond}, 4)
	require.NoError(t, repair.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}, 0, 1))
	b.requireMatchesTruth(t, link, 1)
	runs, err := b.Store.SyncRuns(ctx, link.ID, 1)
	require.NoError(t, err)
	require.True(t, runs[0].Reconcile.Ran)
	require.Equal(t, live-want, runs[0].Reconcile.Removed+runs[0].StalePendingRemoved)
	require.Positive(t, b.count(t, `SELECT count(*) FROM transactions WHERE removal_reason = $1`, store.RemovalReconciled))

	// Nothing changed: the next pass repairs nothing and writes no row.
	feed := b.count(t, `SELECT count(*) FROM transaction_changes`)
	require.NoError(t, repair.Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerScheduled}, 0, 1))
	require.Equal(t, feed, b.count(t, `SELECT count(*) FROM transaction_changes`))
	runs, err = b.Store.SyncRuns(ctx, link.ID, 1)
	require.NoError(t, err)
	require.True(t, runs[0].Reconcile.Ran)
	require.Zero(t, runs[0].Reconcile.Repairs())
}

func TestMalformedRecordIsQuarantinedAndTheRestStored(t *testing.T) {
	t.Parallel()
	// Every page carries one record whose amount is not a decimal.
	b := setup(t, setupOptions{sandbox: func(o *sandbox.Options) {
		o.Behaviour = sandbox.Behaviour{PendingDatePosted: sandbox.DatePostedNull,
			MalformedRecord: &sandbox.MalformedRecord{Kind: sandbox.MalformedAmount, Position: -1}}
	}})
	link := b.consent(t, 1)
	ctx := context.Background()
	require.NoError(t, b.syncer(t, jobs.SyncConfig{}, 4).Sync(ctx, jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, 0, 1))
	runs, err := b.Store.SyncRuns(ctx, link.ID, 1)
	require.NoError(t, err)
	require.Equal(t, pfm.OutcomePartial, runs[0].Outcome)
	require.Equal(t, "quarantined", runs[0].PartialReason)
	require.Positive(t, runs[0].Quarantined)
	q, err := b.Store.LinkQuarantine(ctx, link.ID, 100)
	require.NoError(t, err)
	require.NotEmpty(t, q)
	require.Contains(t, q[0].Raw, `"NaN"`)
	require.NotEmpty(t, q[0].Reason)
	// Pending rows with a null datePosted are stored, dated by their date.
	require.Positive(t, b.count(t, `SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE a.link_id = $1 AND t.pending AND t.raw->'datePosted' = 'null'::jsonb`, link.ID))
}
