package reportbench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// runningBalanceDays is how far back the generated deposit accounts carry
// the bank's runningBalance (cores that send it often do so only for
// recent history).
const runningBalanceDays = 120

// fillLaterColumns fills the columns that migrations added after a
// datastore was generated (and that the generator's COPY leaves at their
// defaults), so the views that read them do their real work: the
// institution that holds each account (migration 000050) and the bank's
// runningBalance on recent deposit transactions. It runs once per
// datastore; the generation record says whether it has.
func fillLaterColumns(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	if _, err := pool.Exec(ctx, `ALTER TABLE bench_reporting_meta ADD COLUMN IF NOT EXISTS later_columns_filled boolean NOT NULL DEFAULT false`); err != nil {
		return fmt.Errorf("record the fill: %w", err)
	}
	var filled, hasInstitution bool
	if err := pool.QueryRow(ctx, `SELECT coalesce(bool_and(later_columns_filled), false) FROM bench_reporting_meta`).Scan(&filled); err != nil {
		return fmt.Errorf("read the fill record: %w", err)
	}
	if filled {
		return nil
	}
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name = 'institution_id')`).Scan(&hasInstitution); err != nil {
		return fmt.Errorf("look for accounts.institution_id: %w", err)
	}
	if !hasInstitution {
		return nil // an older schema: fill once it is migrated up
	}
	// The linking bank holds the account, except brokerage accounts, which
	// are external accounts held at a brokerage.
	if _, err := pool.Exec(ctx, `UPDATE accounts a
		SET institution_id = CASE WHEN a.account_type = 'Investment' THEN 'bench-brokerage' ELSE i.slug END,
		    institution_name = CASE WHEN a.account_type = 'Investment' THEN 'Bench Brokerage' ELSE i.display_name END
		FROM links l JOIN institutions i ON i.id = l.institution_id
		WHERE l.id = a.link_id AND a.institution_id = ''`); err != nil {
		return fmt.Errorf("fill the accounts' institutions: %w", err)
	}
	logger.Info("filled the accounts' institutions")
	// runningBalance: the balance after the transaction, consistent with
	// the account's current balance.
	tag, err := pool.Exec(ctx, `UPDATE transactions t
		SET running_balance = r.running_balance
		FROM (
		    SELECT t.id, a.balance - coalesce(sum(t.amount) OVER (PARTITION BY t.account_id ORDER BY t.posted_at DESC, t.id DESC
		                                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS running_balance
		    FROM transactions t JOIN accounts a ON a.id = t.account_id
		    WHERE a.account_type = 'Deposit' AND t.removed_at IS NULL AND NOT t.pending
		      AND t.posted_at >= now() - make_interval(days => $1)
		) r
		WHERE t.id = r.id AND t.running_balance IS NULL`, runningBalanceDays)
	if err != nil {
		return fmt.Errorf("fill running balances: %w", err)
	}
	logger.Info("filled running balances", "transactions", tag.RowsAffected())
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE accounts`); err != nil {
		return fmt.Errorf("vacuum analyze accounts: %w", err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE transactions`); err != nil {
		return fmt.Errorf("vacuum analyze transactions: %w", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE bench_reporting_meta SET later_columns_filled = true`); err != nil {
		return fmt.Errorf("record the fill: %w", err)
	}
	return nil
}

// fillTransferVerdicts stores the transfer verdicts of every app user
// (migration 000100), as the job queued after each sync does in
// production, when the datastore has the verdicts table and it is empty
// (a datastore generated or migrated up from before it). Below 000100 it
// does nothing.
func fillTransferVerdicts(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	var exists, empty bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('public.transaction_transfer_verdicts') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("look for the transfer verdicts: %w", err)
	}
	if !exists {
		return nil
	}
	if err := pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM transaction_transfer_verdicts)`).Scan(&empty); err != nil {
		return fmt.Errorf("look for the transfer verdicts: %w", err)
	}
	if !empty {
		return nil
	}
	rows, err := pool.Query(ctx, `SELECT DISTINCT app_user_ref FROM links ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("list app users: %w", err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list app users: %w", err)
	}
	start := time.Now()
	total := 0
	for i, ref := range refs {
		var n int
		if err := pool.QueryRow(ctx, `SELECT fill_transfer_verdicts($1, 1000000)`, ref).Scan(&n); err != nil {
			return fmt.Errorf("fill the transfer verdicts of %s: %w", ref, err)
		}
		if n < 0 {
			return fmt.Errorf("fill the transfer verdicts of %s: a write holds them", ref)
		}
		total += n
		if (i+1)%500 == 0 {
			logger.Info("filled transfer verdicts", "users", i+1, "verdicts", total, "elapsed", time.Since(start).Round(time.Second))
		}
	}
	logger.Info("filled transfer verdicts", "users", len(refs), "verdicts", total, "elapsed", time.Since(start).Round(time.Second))
	// Index-only reads of the verdicts need the visibility map.
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE transaction_transfer_verdicts`); err != nil {
		return fmt.Errorf("vacuum analyze transaction_transfer_verdicts: %w", err)
	}
	return nil
}
