package consumerapi

import (
	"testing"
)

// BenchmarkDecodeTransactionPage measures decoding a full 500-row page
// (built from the page fixture's first transaction, ~1 KB per row).
func BenchmarkDecodeTransactionPage(b *testing.B) {
	body := transactionsBody(b, 0, 500, 500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		page, err := decodeTransactionPage(body)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Transactions) != 500 {
			b.Fatalf("got %d transactions", len(page.Transactions))
		}
	}
	b.StopTimer()
	txs := float64(b.N) * 500
	b.ReportMetric(txs/b.Elapsed().Seconds(), "tx/s")
	allocs := testing.AllocsPerRun(5, func() { _, _ = decodeTransactionPage(body) })
	b.ReportMetric(allocs/500, "allocs/tx")
}
