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

// BenchmarkStreamedKnownInactivatedList measures the filter a
// transactions body streams through, on a page carrying a 28,000-id list
// that the reader has seen already: compared id by id with the previous
// page's decoded list (prev), or cut into chunks whose digests the
// sync's ListChunks knows (known), which is what the sync uses.
func BenchmarkStreamedKnownInactivatedList(b *testing.B) {
	ids := make([]string, 28_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("0b9d2c8e-%04x-4d2a-9c1e-%012x", i%65536, i)
	}
	list, err := json.Marshal(ids)
	if err != nil {
		b.Fatal(err)
	}
	body := append(append([]byte(`{"transactions":[],"inactivatedTransactionIds":`), list...), '}')
	first, err := decodeTransactionPage(body)
	if err != nil {
		b.Fatal(err)
	}
	known := NewListChunks()
	read := newListDiverterNewChunks(known)
	read.filter(nil, body)
	read1 := &TransactionPage{}
	if err := read.apply(read1); err != nil {
		b.Fatal(err)
	}
	known.Add(read1.InactivatedChunks)
	for _, c := range []struct {
		name string
		d    func() *listDiverter
	}{
		{"prev", func() *listDiverter { return newListDiverter(first.TransactionPage) }},
		{"known", func() *listDiverter { return newListDiverterNewChunks(known) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			kept := make([]byte, 0, 256)
			for b.Loop() {
				d := c.d()
				for p := body; len(p) > 0; p = p[min(len(p), filteredReadSize):] {
					kept = d.filter(kept[:0], p[:min(len(p), filteredReadSize)])
				}
				page := &TransactionPage{}
				if err := d.apply(page); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
