package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
)

// TestSyncQueuesTheTransferVerdicts: a sync queues the fill of its app
// user's transfer verdicts in its final transaction; once the fill ran,
// no verdict is missing and every stored one equals the test computed from
// scratch.
func TestSyncQueuesTheTransferVerdicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, setupOptions{})
	worker := b.startWorker(t, jobs.DefaultSyncConfig(), jobs.ClientConfig{})
	link := b.consent(t, 1)

	fills := func() int {
		return b.count(t, `SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'app_user_ref' = $2`,
			jobs.TransferVerdictsArgs{}.Kind(), link.AppUserRef)
	}
	for i, advance := range []time.Duration{0, 10 * 24 * time.Hour} {
		if advance > 0 {
			_, err := b.Sandbox.Clock().Advance(advance)
			require.NoError(t, err)
		}
		require.Equal(t, "completed", b.waitJob(t, b.enqueue(t, worker, link.ID, jobs.TriggerManual), time.Minute))
		require.Equal(t, i+1, fills(), "one fill queued per sync")
		var id int64
		require.NoError(t, b.Pool.QueryRow(ctx, `SELECT max(id) FROM river_job WHERE kind = $1`, jobs.TransferVerdictsArgs{}.Kind()).Scan(&id))
		require.Equal(t, "completed", b.waitJob(t, id, time.Minute))

		missing, err := b.Store.MissingTransferVerdicts(ctx, link.AppUserRef)
		require.NoError(t, err)
		require.Zero(t, missing, "sync %d: every verdict stored", i+1)
	}
	require.Positive(t, b.count(t, `SELECT count(*) FROM transaction_transfer_verdicts WHERE is_transfer`),
		"the sandbox's own-account transfers have stored verdicts")
	// The stored verdicts are those computed from scratch (with the
	// stored ones deleted, in a transaction rolled back).
	read := func(q interface {
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}) map[int64]bool {
		rows, err := q.Query(ctx, `SELECT transaction_id, is_transfer FROM reporting.transactions WHERE app_user_ref = $1`, link.AppUserRef)
		require.NoError(t, err)
		out := map[int64]bool{}
		for rows.Next() {
			var id int64
			var v bool
			require.NoError(t, rows.Scan(&id, &v))
			out[id] = v
		}
		require.NoError(t, rows.Err())
		return out
	}
	stored := read(b.Pool)
	tx, err := b.Pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // rolled back on purpose
	_, err = tx.Exec(ctx, `DELETE FROM transaction_transfer_verdicts`)
	require.NoError(t, err)
	require.Equal(t, read(tx), stored)
}
