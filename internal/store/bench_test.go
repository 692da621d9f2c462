package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// benchRows builds n transaction-shaped rows like a Banno page's.
func benchRows(n int) []store.TransactionInput {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]store.TransactionInput, n)
	for i := range rows {
		posted := base.Add(time.Duration(i) * 7 * time.Minute)
		amount := fmt.Sprintf("-%d.%02d", 1+i%300, i%100)
		seq := int64(i%40 + 1)
		rows[i] = store.TransactionInput{
			ProviderID: fmt.Sprintf("0b9d2c8e-%04x-4d2a-9c1e-%012x", i%65536, i), Amount: amount, SignedAmount: amount,
			Currency: "USD", PostedAt: posted, PendingStatus: "NoReconciliation", Type: "POS", Subtype: "PinDebit",
			Memo: "POS PURCHASE WHOLEFDS #10233 AUSTIN TX", Description: "Whole Foods Market", MerchantName: "Whole Foods Market",
			Category: "groceries", Sequence: &seq, ProviderUpdatedAt: &posted,
			Raw: []byte(fmt.Sprintf(`{"id":"0b9d2c8e-%04x-4d2a-9c1e-%012x","amount":%q,"currency":"USD","datePosted":%q,"pendingStatus":"NoReconciliation","type":"POS","subtype":"PinDebit","memo":"POS PURCHASE WHOLEFDS #10233 AUSTIN TX","displayName":"Whole Foods Market","sequence":%d,"lastUpdated":%q,"enrichments":{"cleanMemo":"Whole Foods Market","expenseCategory":"groceries"}}`,
				i%65536, i, amount, posted.Format(time.RFC3339), seq, posted.Format(time.RFC3339))),
		}
	}
	return rows
}

// BenchmarkIngest compares the sync's write path (UpsertTransactions in
// page-sized transactions as the sync commits them, change feed and unique
// checks included) with a raw COPY of the same rows into the same table,
// measured in the same run. Reported: rows/s of each, their ratio (x_copy;
// 1.0 = as fast as COPY), and the rate of re-reporting unchanged rows.
//
// Two schemas are measured in the same run: the current one, and the
// transactions indexes as they were before the reporting indexes of
// migrations 000088 (the month index widened to a covering one) and 000089
// (the balance-history index), to show what those cost the writer.
func BenchmarkIngest(b *testing.B) {
	for _, schema := range []struct {
		name  string
		setup string
	}{
		{"indexes=current", ""},
		{"indexes=before-000088", `
			DROP INDEX transactions_balance_history_idx;
			CREATE INDEX transactions_reporting_month_account_idx
				ON transactions ((date_trunc('month', ((posted_at AT TIME ZONE 'UTC')::date)::timestamp)::date), account_id)
				WHERE removed_at IS NULL;
			DROP INDEX transactions_reporting_month_covering_idx;`},
	} {
		b.Run(schema.name, func(b *testing.B) { benchmarkIngest(b, schema.setup) })
	}
}

func benchmarkIngest(b *testing.B, schemaSetup string) {
	const n, page = 50_000, 500
	ctx := context.Background()
	rows := benchRows(n)
	for range b.N {
		b.StopTimer()
		s, bundle := setupBench(b)
		if schemaSetup != "" {
			_, err := bundle.pool.Exec(ctx, schemaSetup)
			require.NoError(b, err)
		}
		link := linkFixtureTB(b, s, "bench-user")
		acct := accountFixtureTB(b, s, link.ID, "acc-1", "Deposit")
		baseline := accountFixtureTB(b, s, link.ID, "acc-copy", "Deposit")
		scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
		b.StartTimer()

		// The baseline: a raw COPY of the same rows into the same table
		// (same indexes, same foreign key), under another account.
		copyTime := copyBaseline(b, bundle.pool, baseline.ID, rows)

		upsertTime := upsertPages(b, s, scope, rows, page)

		// The same rows again: the no-change path.
		start := time.Now()
		for off := 0; off < n; off += page {
			require.NoError(b, s.Transact(ctx, func(tx *store.Store) error {
				c, err := tx.UpsertTransactions(ctx, scope, rows[off:min(off+page, n)])
				if c != (store.WriteCounts{}) {
					return fmt.Errorf("unchanged rows were written: %+v", c)
				}
				return err
			}))
		}
		noopTime := time.Since(start)

		b.ReportMetric(float64(n)/copyTime.Seconds(), "copy_rows/s")
		b.ReportMetric(float64(n)/upsertTime.Seconds(), "upsert_rows/s")
		b.ReportMetric(copyTime.Seconds()/upsertTime.Seconds(), "x_copy")
		b.ReportMetric(float64(n)/noopTime.Seconds(), "unchanged_rows/s")
	}
}

// copyBaseline writes rows into transactions under accountID with one raw
// COPY, the baseline the write path is measured against, and returns how
// long it took.
func copyBaseline(b *testing.B, pool *pgxpool.Pool, accountID string, rows []store.TransactionInput) time.Duration {
	b.Helper()
	start := time.Now()
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"transactions"},
		[]string{"account_id", "provider_transaction_id", "amount", "signed_amount", "currency", "posted_at", "pending", "pending_status",
			"type", "subtype", "memo", "description", "merchant_name", "category", "sequence", "provider_updated_at", "raw"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{accountID, r.ProviderID, r.Amount, r.SignedAmount, r.Currency, r.PostedAt, r.Pending, r.PendingStatus,
				r.Type, r.Subtype, r.Memo, r.Description, r.MerchantName, r.Category, r.Sequence, r.ProviderUpdatedAt, string(r.Raw)}, nil
		}))
	require.NoError(b, err)
	return time.Since(start)
}

// upsertPages writes rows through UpsertTransactions in transactions of
// page rows, as the sync commits them, and returns how long it took.
func upsertPages(b *testing.B, s *store.Store, scope store.FeedScope, rows []store.TransactionInput, page int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	for off := 0; off < len(rows); off += page {
		require.NoError(b, s.Transact(ctx, func(tx *store.Store) error {
			_, err := tx.UpsertTransactions(ctx, scope, rows[off:min(off+page, len(rows))])
			return err
		}))
	}
	return time.Since(start)
}

func setupBench(b *testing.B) (*store.Store, *testBundle) {
	b.Helper()
	return setupTB(b)
}
