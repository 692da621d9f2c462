package consumerapi

import (
	"encoding/json"
	"fmt"
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

// BenchmarkDecodeRepeatedInactivatedList measures decoding a 500-row page
// that carries a 28,000-id inactivatedTransactionIds list, the first time
// (the list decoded) and again after a page with the same list (reused:
// only validated and hashed).
func BenchmarkDecodeRepeatedInactivatedList(b *testing.B) {
	var page map[string]any
	if err := json.Unmarshal(transactionsBody(b, 0, 500, 500), &page); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 28_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("0b9d2c8e-%04x-4d2a-9c1e-%012x", i%65536, i)
	}
	page["inactivatedTransactionIds"] = ids
	body, err := json.Marshal(page)
	if err != nil {
		b.Fatal(err)
	}
	first, err := decodeTransactionPage(body)
	if err != nil {
		b.Fatal(err)
	}
	for _, prev := range []struct {
		name string
		page *TransactionPage
	}{{"first", nil}, {"repeated", first.TransactionPage}} {
		b.Run(prev.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				p, err := decodeTransactionPageAfter(body, prev.page)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.InactivatedTransactionIDs) != len(ids) || p.InactivatedRepeated != (prev.page != nil) {
					b.Fatalf("got %d ids, repeated %t", len(p.InactivatedTransactionIDs), p.InactivatedRepeated)
				}
			}
		})
	}
}
