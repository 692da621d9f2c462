package jobs

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// TestBackfillProgressSavesOnlyWithoutAGap commits an account's backfill
// windows out of order, as two readers do, in both orders a window's
// transaction and a later window's commit can take: the state saved
// reaches back only as far as the windows committed without a gap, is
// saved with the transaction that closes the gap or once the page after
// it has committed, never moves back, and carries the first window's
// watermark.
func TestBackfillProgressSavesOnlyWithoutAGap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := synctest.New(t, synctest.Options{})
	link := env.Consent(t, 1)
	accounts, err := env.Store.UpsertAccounts(ctx, link.ID, []store.AccountInput{{ProviderID: "a1", Name: "Checking", Type: "Deposit", Status: "Open", Raw: []byte(`{}`)}})
	require.NoError(t, err)
	accountID := accounts["a1"].ID

	ref := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	windows := slices.Collect(backfillWindows(nil, ref, ref.Add(-120*24*time.Hour), 30*24*time.Hour))
	require.Len(t, windows, 4)
	seen := ref.Add(-time.Hour)

	saved := func() store.SyncState {
		t.Helper()
		st, err := env.Store.AccountSyncState(ctx, accountID)
		require.NoError(t, err)
		return st
	}
	requireReach := func(n int) {
		t.Helper()
		st := saved()
		if n == 0 {
			require.Nil(t, st.BackfillBefore)
			return
		}
		require.NotNil(t, st.BackfillBefore)
		require.True(t, st.BackfillBefore.Equal(windows[n-1].start), "backfill_before %v, want window %d's start %v", st.BackfillBefore, n-1, windows[n-1].start)
		require.Equal(t, n == len(windows), st.BackfillComplete)
		require.NotNil(t, st.Watermark)
		require.True(t, st.Watermark.Equal(seen), "the first window's watermark")
	}
	// commit runs window k's last transaction; between runs in it after
	// finish, before the commit.
	commit := func(p *backfillProgress, k int, between func()) {
		t.Helper()
		require.NoError(t, env.Store.Transact(ctx, func(tx *store.Store) error {
			var maxSeen *time.Time
			if k == 0 {
				maxSeen = &seen
			}
			if err := p.finish(ctx, tx, k, maxSeen); err != nil {
				return err
			}
			if between != nil {
				between()
			}
			return nil
		}))
		require.NoError(t, p.afterCommit(ctx, k))
	}

	t.Run("a later window commits first", func(t *testing.T) {
		_, err := env.Pool.Exec(ctx, `DELETE FROM sync_state`)
		require.NoError(t, err)
		p := newBackfillProgress(env.Store, store.SyncState{AccountID: accountID}, windows, ref)
		commit(p, 0, nil)
		requireReach(1)
		commit(p, 2, nil)
		requireReach(1) // window 1 is missing
		commit(p, 1, func() { requireReach(1) })
		requireReach(3) // saved with window 1's page, in its transaction
		commit(p, 3, nil)
		requireReach(4)
		st := p.state(store.SyncState{})
		require.True(t, st.BackfillBefore.Equal(windows[3].start) && st.BackfillComplete, "the state as saved")
	})

	t.Run("a later window commits while the gap's transaction is open", func(t *testing.T) {
		_, err := env.Pool.Exec(ctx, `DELETE FROM sync_state`)
		require.NoError(t, err)
		p := newBackfillProgress(env.Store, store.SyncState{AccountID: accountID}, windows, ref)
		commit(p, 0, nil)
		commit(p, 1, func() {
			// Window 2 commits after window 1's finish, before its
			// commit: it cannot save past window 1, which is not stored.
			commit(p, 2, nil)
			requireReach(1)
		})
		requireReach(3) // saved on its own once window 1 committed
		commit(p, 3, nil)
		requireReach(4)
	})

	t.Run("a backfill that resumes keeps its watermark", func(t *testing.T) {
		_, err := env.Pool.Exec(ctx, `DELETE FROM sync_state`)
		require.NoError(t, err)
		before := windows[0].start
		rest := slices.Collect(backfillWindows(&before, ref, ref.Add(-120*24*time.Hour), 30*24*time.Hour))
		require.Len(t, rest, 3)
		p := newBackfillProgress(env.Store, store.SyncState{AccountID: accountID, Watermark: &seen, BackfillBefore: &before}, rest, ref)
		require.Equal(t, &before, p.state(store.SyncState{AccountID: accountID, BackfillBefore: &before}).BackfillBefore, "nothing saved yet")
		require.NoError(t, env.Store.Transact(ctx, func(tx *store.Store) error { return p.finish(ctx, tx, 0, nil) }))
		require.NoError(t, p.afterCommit(ctx, 0))
		st := saved()
		require.True(t, st.BackfillBefore.Equal(rest[0].start))
		require.True(t, st.Watermark.Equal(seen))
	})
}
