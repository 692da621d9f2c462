package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// feedFixture gives ref a link and an account with n added transactions
// (n change-feed entries) and returns the link.
func feedFixture(t *testing.T, s *store.Store, ref string, n int) pfm.Link {
	t.Helper()
	ctx := context.Background()
	link := linkFixture(t, s, ref)
	acct := accountFixture(t, s, link.ID, "acc-"+ref, "Deposit")
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for i := range n {
		require.NoError(t, s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, store.FeedScope{AppUserRef: ref, LinkID: link.ID, AccountID: acct.ID},
				[]store.TransactionInput{txn(ref+"-t"+string(rune('a'+i)), "-1.00", day, false)})
			return err
		}))
	}
	return link
}

// feedSince reads reporting.transaction_changes_since and returns the seqs.
func feedSince(ctx context.Context, s *store.Store, ref string, after int64) ([]int64, error) {
	return seqsSince(ctx, s, "transaction_changes_since", ref, after)
}

// seqsSince reads one of the reporting schema's cursor functions
// (transaction_changes_since, events_since) from after and returns the seqs.
func seqsSince(ctx context.Context, s *store.Store, function, ref string, after int64) ([]int64, error) {
	rows, err := s.Pool().Query(ctx, `SELECT seq FROM reporting.`+function+`($1, $2, 1000)`, ref, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

func TestChangeFeedRetentionMovesTheHorizon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	feedFixture(t, s, "u1", 5)
	feedFixture(t, s, "u2", 2)
	all, err := feedSince(ctx, s, "u1", 0)
	require.NoError(t, err)
	require.Len(t, all, 5)
	// u1's first three entries are old; u2's are recent.
	_, err = s.Pool().Exec(ctx, `UPDATE transaction_change_pages SET changed_at = now() - interval '40 days' WHERE last_seq = ANY($1)`, all[:3])
	require.NoError(t, err)

	n, err := s.DeleteTransactionChangesBefore(ctx, time.Now().Add(-30*24*time.Hour), 2)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "bounded batch")
	n, err = s.DeleteTransactionChangesBefore(ctx, time.Now().Add(-30*24*time.Hour), 2)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = s.DeleteTransactionChangesBefore(ctx, time.Now().Add(-30*24*time.Hour), 2)
	require.NoError(t, err)
	require.Zero(t, n)

	// A cursor before the horizon gets a clear error, not a silent gap.
	for _, cursor := range []int64{0, all[0], all[1]} {
		_, err = feedSince(ctx, s, "u1", cursor)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "cursor %d: %v", cursor, err)
		require.Equal(t, "PF001", pgErr.Code)
		require.Contains(t, pgErr.Message, "older than the horizon")
		require.Contains(t, pgErr.Hint, "reporting.transaction_changes_head")
	}
	// A cursor at the horizon or later reads on.
	rest, err := feedSince(ctx, s, "u1", all[2])
	require.NoError(t, err)
	require.Equal(t, all[3:], rest)
	var head int64
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT reporting.transaction_changes_head('u1')`).Scan(&head))
	require.Equal(t, all[4], head)
	// u2 is untouched and has no horizon.
	u2, err := feedSince(ctx, s, "u2", 0)
	require.NoError(t, err)
	require.Len(t, u2, 2)
}

func TestPurgeRevokedLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	old := feedFixture(t, s, "u1", 2)
	recent := feedFixture(t, s, "u2", 1)
	active := feedFixture(t, s, "u3", 1)
	require.NoError(t, s.SetLinkStatus(ctx, old.ID, pfm.LinkRevoked, "", ""))
	require.NoError(t, s.SetLinkStatus(ctx, recent.ID, pfm.LinkRevoked, "", ""))
	var revokedAt *time.Time
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT revoked_at FROM links WHERE id = $1`, recent.ID).Scan(&revokedAt))
	require.NotNil(t, revokedAt, "revoked_at follows the status")
	_, err := s.Pool().Exec(ctx, `UPDATE links SET revoked_at = now() - interval '40 days' WHERE id = $1`, old.ID)
	require.NoError(t, err)
	u1Head, err := feedSince(ctx, s, "u1", 0)
	require.NoError(t, err)

	n, err := s.PurgeRevokedLinks(ctx, time.Now().Add(-30*24*time.Hour), 10)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	_, err = s.Link(ctx, old.ID)
	require.ErrorIs(t, err, pfm.ErrNotFound)
	var left int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM accounts WHERE link_id = $1) + (SELECT count(*) FROM transaction_changes WHERE link_id = $1)`, old.ID).Scan(&left))
	require.Zero(t, left)
	for _, id := range []string{recent.ID, active.ID} {
		_, err = s.Link(ctx, id)
		require.NoError(t, err)
	}
	// u1's consumer, even one that had read everything, is told to reload.
	_, err = feedSince(ctx, s, "u1", u1Head[len(u1Head)-1])
	require.ErrorContains(t, err, "older than the horizon")

	// Re-consent clears revoked_at.
	require.NoError(t, s.SetLinkStatus(ctx, recent.ID, pfm.LinkActive, "", ""))
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT revoked_at FROM links WHERE id = $1`, recent.ID).Scan(&revokedAt))
	require.Nil(t, revokedAt)
}
