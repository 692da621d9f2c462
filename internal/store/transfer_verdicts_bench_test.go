package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// verdictTriggers are the statement triggers of migration 000100 on
// transactions.
var verdictTriggers = []string{
	"transactions_transfer_verdicts_insert",
	"transactions_transfer_verdicts_update",
	"transactions_transfer_verdicts_delete",
}

// BenchmarkIngestTransferVerdicts measures what the transfer-verdict
// triggers cost the sync's write path: UpsertTransactions in 500-row pages
// (as BenchmarkIngest) with the triggers and without them, in the same run,
// each against a raw COPY of the same rows (the COPY always without the
// triggers). Three page mixes: purchases only (no row can pair: the
// triggers only scan the transition table); one row in five a transfer
// that pairs with a counterpart in the app user's savings account whose
// verdict is stored (the triggers look the counterparts up and delete
// their verdicts); and the same rows in an app user's first sync, before
// any fill has stored a verdict (the triggers find none stored and stop).
//
//	go test -run '^$' -bench BenchmarkIngestTransferVerdicts -benchtime 1x -count 3 ./internal/store/
func BenchmarkIngestTransferVerdicts(b *testing.B) {
	for _, mix := range []struct {
		name              string
		transfers, stored bool
	}{
		{"purchases", false, false},
		{"transfers=20%", true, true},
		{"transfers=20%,first-sync", true, false},
	} {
		for _, triggers := range []bool{true, false} {
			b.Run(fmt.Sprintf("mix=%s/triggers=%t", mix.name, triggers), func(b *testing.B) {
				benchmarkIngestVerdicts(b, mix.transfers, mix.stored, triggers)
			})
		}
	}
}

// benchmarkIngestVerdicts writes one mix; stored: the counterparts'
// verdicts are stored before the pages are written.
func benchmarkIngestVerdicts(b *testing.B, transfers, stored, triggers bool) {
	const n, page = 50_000, 500
	ctx := context.Background()
	rows := benchRows(n)
	var counterparts []store.TransactionInput
	if transfers {
		for i := range rows {
			if i%5 != 0 {
				continue
			}
			amount := fmt.Sprintf("%d.00", 100+i%50)
			rows[i].Amount, rows[i].SignedAmount = "-"+amount, "-"+amount
			rows[i].Category, rows[i].Type, rows[i].MerchantName = "transfer", "TRANSFER", ""
			c := rows[i]
			c.ProviderID = "cp-" + c.ProviderID
			c.Amount, c.SignedAmount = amount, amount
			c.Raw = []byte(fmt.Sprintf(`{"id":%q}`, c.ProviderID))
			counterparts = append(counterparts, c)
		}
	}
	toggle := func(pool *pgxpool.Pool, on bool) {
		verb := "DISABLE"
		if on {
			verb = "ENABLE"
		}
		for _, tr := range verdictTriggers {
			_, err := pool.Exec(ctx, `ALTER TABLE transactions `+verb+` TRIGGER `+tr)
			require.NoError(b, err)
		}
	}
	for range b.N {
		b.StopTimer()
		s, bundle := setupBench(b)
		link := linkFixtureTB(b, s, "bench-user")
		acct := accountFixtureTB(b, s, link.ID, "acc-1", "Deposit")
		savings := accountFixtureTB(b, s, link.ID, "acc-savings", "Deposit")
		baseline := accountFixtureTB(b, s, link.ID, "acc-copy", "Deposit")
		scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: acct.ID}
		if len(counterparts) > 0 {
			require.NoError(b, s.Transact(ctx, func(tx *store.Store) error {
				_, err := tx.UpsertTransactions(ctx, store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: savings.ID}, counterparts)
				return err
			}))
		}
		if stored {
			filled, err := s.FillTransferVerdicts(ctx, link.AppUserRef, 0)
			require.NoError(b, err)
			require.Equal(b, len(counterparts), filled)
		}
		toggle(bundle.pool, false)
		b.StartTimer()

		copyTime := copyBaseline(b, bundle.pool, baseline.ID, rows)

		b.StopTimer()
		toggle(bundle.pool, triggers)
		b.StartTimer()
		upsertTime := upsertPages(b, s, scope, rows, page)

		b.StopTimer()
		if triggers && stored {
			// The counterparts' verdicts went when their pairs arrived.
			missing, err := s.MissingTransferVerdicts(ctx, link.AppUserRef)
			require.NoError(b, err)
			require.GreaterOrEqual(b, missing, len(counterparts))
		}
		b.StartTimer()

		b.ReportMetric(float64(n)/copyTime.Seconds(), "copy_rows/s")
		b.ReportMetric(float64(n)/upsertTime.Seconds(), "upsert_rows/s")
		b.ReportMetric(copyTime.Seconds()/upsertTime.Seconds(), "x_copy")
	}
}
