package consumerapi

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pageDecodeCases are bodies on which the one-pass decoder and
// encoding/json could differ: key spellings encoding/json matches
// case-insensitively or through escapes, duplicate keys (the last wins),
// invalid UTF-8, lone surrogates, white space everywhere, records that
// are not objects, and bodies cut short or followed by more.
var pageDecodeCases = []string{
	`{"transactions":[{"id":"t1","amount":"-1.50","memo":"a"}],"inactivatedTransactionIds":["x"],"offset":0,"limit":500}`,
	` { "transactions" : [ { "id" : "t1" , "amount" : "2" } , {"id":"t2"} ] , "inactivatedTransactionIds" : null } `,
	"{\n\t\"transactions\":\n[\n{\"id\":\"t1\"}\n,\n{\"id\":\"t2\"}\n]\n}",
	`{"Transactions":[{"ID":"t1","AMOUNT":"3.00"}],"INACTIVATEDTRANSACTIONIDS":["x"]}`,
	`{"transaction\u0073":[{"i\u0064":"t1"}],"inactivatedTransactionId\u0073":["y"]}`,
	`{"transactions":[{"id":"t1"}],"transactions":[{"id":"t2"},{"id":"t3"}]}`,
	`{"transactions":[{"id":"t1","id":"t9","amount":"1","amount":"2"}]}`,
	`{"transactions":[{"id":"t1","memo":"caf\u00e9 \ud800 \"q\" \\ \/"}],"inactivatedTransactionIds":["\u0041"]}`,
	"{\"transactions\":[{\"id\":\"t1\",\"memo\":\"bad \xff\xfe utf8\"}]}",
	`{"transactions":[{"id":"t1","merchant":{"name":"M","extra":{"deep":[1,2,{"x":null}]}},"tags":["a","b"]}]}`,
	`{"transactions":[{"id":"t1","unknown":[{"transactions":[{"id":"inner"}]}]}]}`,
	`{"transactions":[null]}`,
	`{"transactions":[[]]}`,
	`{"transactions":[{"amount":"1"}]}`,
	`{"transactions":[{"id":""}]}`,
	`{"transactions":null,"inactivatedTransactionIds":[]}`,
	`{"transactions":[],"inactivatedTransactionIds":["a"],"InactivatedTransactionIDs":["b"]}`,
	`{"transactions":[{"id":"t1","amount":1.5}]}`,
	`{"transactions":[{"id":"t1","amount":"1e5"}]}`,
	`{"transactions":[{"id":"t1","sequence":"7"}]}`,
	`{"transactions":[{"id":7}]}`,
	`{"transactions":{"id":"t1"}}`,
	`{"transactions":[{"id":"t1"}],"offset":"0"}`,
	`{"transactions":[{"id":"t1"}]} trailing`,
	`{"transactions":[{"id":"t1"}`,
	`{"transactions":[{"id":"t1"},]}`,
	`[]`,
	`null`,
	``,
}

// TestOnePassPageDecodeMatchesEncodingJSON decodes each body with the
// one-pass decoder and with encoding/json element by element
// (decodeTransactionPageSlow): both accept or both refuse it, and what
// they accept decodes to the same page, raw JSON included.
func TestOnePassPageDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, body := range pageDecodeCases {
		requireSameDecode(t, []byte(body))
	}
	requireSameDecode(t, transactionsBody(t, 0, 500, 500))
	requireSameDecode(t, fixture(t, "transactions_page.json"))
	requireSameDecode(t, fixture(t, "transactions_credit_card.json"))
}

func FuzzOnePassPageDecodeMatchesEncodingJSON(f *testing.F) {
	for _, body := range pageDecodeCases {
		f.Add([]byte(body))
	}
	f.Add(fixture(f, "transactions_page.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		requireSameDecode(t, body)
	})
}

func requireSameDecode(t *testing.T, body []byte) {
	t.Helper()
	name := fmt.Sprintf("%.80q", body)
	fast, fastErr := decodeTransactionPage(body)
	slow, slowErr := decodeTransactionPageSlow(body)
	if err := requireObject(body); err != nil {
		slowErr = err // the slow path's callers check this first
	}
	require.Equal(t, slowErr == nil, fastErr == nil, "%s: one pass %v, encoding/json %v", name, fastErr, slowErr)
	if fastErr != nil {
		// The client tells a body cut short from a malformed one.
		fast, slow := decodeError(fastErr), decodeError(slowErr)
		require.Equal(t, errors.Is(slow, ErrTruncatedBody), errors.Is(fast, ErrTruncatedBody), "%s: %v / %v", name, fast, slow)
		require.Equal(t, errors.Is(slow, ErrMalformedBody), errors.Is(fast, ErrMalformedBody), "%s: %v / %v", name, fast, slow)
		return
	}
	require.Equal(t, slow, fast, name)
	for i, tx := range fast.Transactions {
		require.False(t, strings.ContainsAny(string(tx.Raw[:1]), ",: \t\r\n"), "%s: transaction %d raw %q", name, i, tx.Raw)
		require.Equal(t, len(tx.Raw), cap(tx.Raw), "%s: transaction %d raw must not reach past itself", name, i)
	}
}
