package consumerapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDecodedRecordsKeepOnlyTheirOwnBytes decodes the same records from
// a body that is nearly all records (what a listDiverter leaves) and
// from one that also carries a long inactivated list. The first body
// backs the records' raw JSON itself, with no second copy; the second is
// copied, so that the records do not keep its list alive. Both decode to
// the same records.
func TestDecodedRecordsKeepOnlyTheirOwnBytes(t *testing.T) {
	lean := transactionsBody(t, 0, 20, 500)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(lean, &fields))
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprintf("inactivated-%06d", i)
	}
	var err error
	fields["inactivatedTransactionIds"], err = json.Marshal(ids)
	require.NoError(t, err)
	withList, err := json.Marshal(fields)
	require.NoError(t, err)

	for _, c := range []struct {
		name   string
		body   []byte
		shared bool
	}{
		{"records only", lean, true},
		{"with a long list", withList, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := bytes.Clone(c.body)
			page, err := decodeTransactionPage(body)
			require.NoError(t, err)
			require.Len(t, page.Transactions, 20)
			var sent struct {
				Transactions []json.RawMessage `json:"transactions"`
			}
			require.NoError(t, json.Unmarshal(c.body, &sent))
			raws := make([]string, len(page.Transactions))
			for i, tx := range page.Transactions {
				raws[i] = string(tx.Raw)
				require.JSONEq(t, string(sent.Transactions[i]), raws[i])
			}
			// Overwrite the body: records that share it change with it.
			for i := range body {
				body[i] = 'x'
			}
			changed := false
			for i, tx := range page.Transactions {
				changed = changed || string(tx.Raw) != raws[i]
			}
			require.Equal(t, c.shared, changed)
		})
	}
}

// TestDecodingAPageAllocatesItsRecordsOnce counts the bytes decoding a
// full page of 500 records allocates: less than twice the body (the
// decoded fields and the records' slice, sized once). The records' raw
// JSON copied out of the body and a slice grown by doubling record by
// record took 3.2 times the body.
func TestDecodingAPageAllocatesItsRecordsOnce(t *testing.T) {
	body := transactionsBody(t, 0, 500, 500)
	const runs = 5
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		page, err := decodeTransactionPage(body)
		require.NoError(t, err)
		require.Len(t, page.Transactions, 500)
	}
	runtime.ReadMemStats(&after)
	perPage := float64(after.TotalAlloc-before.TotalAlloc) / runs
	require.Less(t, perPage, 2*float64(len(body)), "bytes allocated per page of %d bytes", len(body))
}
