package consumerapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// streamDecode reads body the way a transactions response is read: in
// pieces of size bytes through a listDiverter, then decodes what was kept.
func streamDecode(body []byte, size int, prev *TransactionPage) (*TransactionPage, error) {
	return streamDecodeWith(body, size, newListDiverter(prev))
}

// streamDecodeWith is streamDecode through the listDiverter d.
func streamDecodeWith(body []byte, size int, d *listDiverter) (*TransactionPage, error) {
	resp := &http.Response{Body: io.NopCloser(iotest.HalfReader(&chunkReader{b: body, size: size})), ContentLength: int64(len(body))}
	kept, err := readFilteredBody(resp, 1<<30, d)
	if err != nil {
		return nil, err
	}
	p, err := decodeTransactionPage(kept)
	if err != nil {
		return nil, decodeError(err)
	}
	if err := d.apply(p.TransactionPage); err != nil {
		return nil, err
	}
	return p.TransactionPage, nil
}

// chunkReader returns at most size bytes per Read.
type chunkReader struct {
	b    []byte
	size int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// requireSameRefusal checks that a streamed read of body in pieces of
// size refused it (err) as decoding the whole body did (wantErr); d is a
// fresh diverter of the same read.
func requireSameRefusal(t *testing.T, size int, body []byte, err, wantErr error, d *listDiverter) {
	t.Helper()
	if err == nil {
		t.Fatalf("chunks of %d: %s: decoded, want %v", size, body, wantErr)
	}
	// A complete body whose syntax error lies on its last byte is guessed
	// truncated by decodeError; a streamed list reports its own syntax
	// errors as malformed.
	var se *json.SyntaxError
	lastByte := errors.As(wantErr, &se) && errors.Is(err, ErrMalformedBody)
	// A body cut short inside the list is refused as truncated even when
	// the list was also malformed before the cut.
	d.filter(nil, body)
	cutInList := !d.complete() && errors.Is(err, ErrTruncatedBody)
	if !lastByte && !cutInList && errors.Is(wantErr, ErrTruncatedBody) != errors.Is(err, ErrTruncatedBody) {
		t.Fatalf("chunks of %d: %s: error %v, want %v", size, body, err, wantErr)
	}
}

// requireSameAsWholeBody checks that streaming body gives what decoding
// it whole gives: the same error class or the same page.
func requireSameAsWholeBody(t *testing.T, body []byte, prev *TransactionPage) {
	t.Helper()
	want, wantErr := decodeTransactionPage(body)
	if wantErr != nil {
		wantErr = decodeError(wantErr)
	}
	// A list byte for byte prev's is reported repeated (and shares prev's
	// ids, which are the same).
	repeated := wantErr == nil && prev != nil && want.InactivatedDigest != ([sha256.Size]byte{}) &&
		want.InactivatedDigest == prev.InactivatedDigest
	for _, size := range []int{1, 2, 3, 7, 64, 1 << 20} {
		got, err := streamDecode(body, size, prev)
		if wantErr != nil {
			requireSameRefusal(t, size, body, err, wantErr, newListDiverter(prev))
			continue
		}
		if err != nil {
			t.Fatalf("chunks of %d: %s: %v", size, body, err)
		}
		w := want.TransactionPage
		if fmt.Sprintf("%q", got.InactivatedTransactionIDs) != fmt.Sprintf("%q", w.InactivatedTransactionIDs) ||
			(got.InactivatedTransactionIDs == nil) != (w.InactivatedTransactionIDs == nil) {
			t.Fatalf("chunks of %d: %s: ids %q, want %q", size, body, got.InactivatedTransactionIDs, w.InactivatedTransactionIDs)
		}
		if got.InactivatedDigest != w.InactivatedDigest || got.InactivatedRepeated != repeated {
			t.Fatalf("chunks of %d: %s: digest/repeated differ (%t, want %t)", size, body, got.InactivatedRepeated, repeated)
		}
		if len(got.Transactions) != len(w.Transactions) || got.Offset != w.Offset || got.Limit != w.Limit {
			t.Fatalf("chunks of %d: %s: page differs", size, body)
		}
		for i := range got.Transactions {
			if got.Transactions[i].ID != w.Transactions[i].ID || !bytes.Equal(got.Transactions[i].Raw, w.Transactions[i].Raw) {
				t.Fatalf("chunks of %d: %s: transaction %d differs", size, body, i)
			}
		}
	}
}

var listBodies = []string{
	`{"transactions":[{"id":"a","amount":1}],"inactivatedTransactionIds":["x","y"],"offset":0,"limit":2}`,
	`{"inactivatedTransactionIds" : [ "x" , "y" ] , "transactions":[{"id":"a","note":"in \"quotes\" ]}"}]}`,
	`{"transactions":[],"inactivatedTransactionIds":[]}`,
	`{"transactions":[],"inactivatedTransactionIds":null}`,
	`{"transactions":[]}`,
	`{"transactions":[],"inactivatedTransactionIds":["\u0078","y\"z","\ud83d\ude00","caf` + "\xc3\xa9" + `","bad` + "\xff" + `"]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x",null,"y"]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x",1]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x",["y"]]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x",{"y":"]"}]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x",]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x" "y"]}`,
	`{"transactions":[],"inactivatedTransactionIds":"x"}`,
	`{"transactions":[],"inactivatedTransactionIds":{"a":["x"]}}`,
	`{"transactions":[],"inactivatedTransactionIds":nul}`,
	`{"transactions":[],"inactivatedTransactionIds":["x"`,
	`{"transactions":[],"inactivatedTransactionIds":["x\`,
	`{"transactions":[],"inactivatedTransactionIds":["x"],"InactivatedTransactionIDs":["z"]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x"],"inactivatedTransactionIds":null}`,
	`{"transactions":[],"inactivated\u0054ransactionIds":["w"]}`,
	`{"transactions":[],"other":{"inactivatedTransactionIds":["nested"]},"inactivatedTransactionIds":["top"]}`,
	`{"transactions":[],"inactivatedTransactionIds":["x"]} trailing`,
	`["inactivatedTransactionIds"]`,
	`{"transactions":[],"inactivatedTransactionIds":["ctl` + "\x01" + `"]}`,
}

func TestStreamedListMatchesWholeBodyDecode(t *testing.T) {
	prevs := []*TransactionPage{nil}
	for _, body := range listBodies {
		if p, err := decodeTransactionPage([]byte(body)); err == nil && p.InactivatedDigest != ([sha256.Size]byte{}) {
			prevs = append(prevs, &TransactionPage{InactivatedTransactionIDs: p.InactivatedTransactionIDs, InactivatedDigest: p.InactivatedDigest})
		}
	}
	require.Greater(t, len(prevs), 5)
	for _, body := range listBodies {
		for _, prev := range prevs {
			requireSameAsWholeBody(t, []byte(body), prev)
		}
	}
}

func TestStreamedRepeatedListAllocatesNoIDs(t *testing.T) {
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprintf("inactivated-%08d", i)
	}
	body := []byte(`{"transactions":[],"inactivatedTransactionIds":["` + strings.Join(ids, `","`) + `"]}`)
	first, err := streamDecode(body, 4096, nil)
	require.NoError(t, err)
	require.Equal(t, ids, first.InactivatedTransactionIDs)
	require.False(t, first.InactivatedRepeated)
	require.Equal(t, sha256.Sum256(body[len(`{"transactions":[],"inactivatedTransactionIds":`):len(body)-1]), first.InactivatedDigest)

	// The same list again: shared, not decoded, and the kept body holds
	// null in its place.
	d := newListDiverter(first)
	kept := d.filter(nil, body)
	require.Equal(t, `{"transactions":[],"inactivatedTransactionIds":null}`, string(kept))
	again := &TransactionPage{}
	require.NoError(t, d.apply(again))
	require.True(t, again.InactivatedRepeated)
	require.Same(t, &first.InactivatedTransactionIDs[0], &again.InactivatedTransactionIDs[0])
	allocs := testing.AllocsPerRun(5, func() { newListDiverter(first).filter(make([]byte, 0, 64), body) })
	require.Less(t, allocs, 20.0, "a repeated list must not be decoded")

	// One id changed near the end: the new list shares nothing wrong.
	changed := bytes.Replace(body, []byte("inactivated-00004990"), []byte("inactivated-changed!"), 1)
	third, err := streamDecode(changed, 4096, first)
	require.NoError(t, err)
	require.False(t, third.InactivatedRepeated)
	require.Len(t, third.InactivatedTransactionIDs, len(ids))
	require.Equal(t, "inactivated-changed!", third.InactivatedTransactionIDs[4990])
	require.Equal(t, ids[4989], third.InactivatedTransactionIDs[4989])
	require.Equal(t, "inactivated-00004990", first.InactivatedTransactionIDs[4990], "the previous list is untouched")
}

func FuzzStreamedInactivatedList(f *testing.F) {
	for _, b := range listBodies {
		f.Add([]byte(b), []byte(`["x","y"]`))
	}
	f.Fuzz(func(t *testing.T, body, prevList []byte) {
		var prev *TransactionPage
		if p, err := decodeTransactionPage(append(append([]byte(`{"inactivatedTransactionIds":`), prevList...), '}')); err == nil && p.InactivatedDigest != ([sha256.Size]byte{}) {
			prev = &TransactionPage{InactivatedTransactionIDs: p.InactivatedTransactionIDs, InactivatedDigest: p.InactivatedDigest}
		}
		requireSameAsWholeBody(t, body, prev)
		var prevIDs []string
		if prev != nil {
			prevIDs = prev.InactivatedTransactionIDs
		}
		requireNewChunksSameAsWholeBody(t, body, prevIDs)
	})
}

// TestQuoteOrBackslashIsIndexAny compares quoteOrBackslash with
// bytes.IndexAny on inputs with quotes and backslashes in every order
// and position, none, and at the ends.
func TestQuoteOrBackslashIsIndexAny(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`ab-0"\`)
	for range 20_000 {
		p := make([]byte, rng.IntN(80))
		for i := range p {
			p[i] = alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(4) > 0 && p[i] != 'a' { // mostly plain bytes
				p[i] = 'a'
			}
		}
		require.Equal(t, bytes.IndexAny(p, `"\`), quoteOrBackslash(p), "%q", p)
	}
	require.Equal(t, -1, quoteOrBackslash(nil))
}
