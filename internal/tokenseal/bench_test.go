package tokenseal

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkSealOpen measures one Seal and one Open of a refresh-token-sized
// value, the cost a sync pays per link when the token rotates.
func BenchmarkSealOpen(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			s := New(testRing(b, "v2", "v1"))
			c := Context{Purpose: PurposeRefreshToken, Subject: "6f1c2a9e-3b5d-4c1e-9a7f-0d2e4b6c8a10"}
			plain := bytes.Repeat([]byte("t"), size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				sv, err := s.Seal(b.Context(), plain, c)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Open(b.Context(), sv, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReseal measures moving one value to the current key, the
// per-row cost of the re-seal command.
func BenchmarkReseal(b *testing.B) {
	s := New(testRing(b, "v2", "v1"))
	c := Context{Purpose: PurposeRefreshToken, Subject: "link"}
	sv, err := New(testRing(b, "v1")).Seal(b.Context(), bytes.Repeat([]byte("t"), 512), c)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Reseal(b.Context(), sv, c); err != nil {
			b.Fatal(err)
		}
	}
}
