package consumerapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTopLevelValue(t *testing.T) {
	t.Parallel()
	const key = "inactivatedTransactionIds"
	for body, want := range map[string]struct {
		raw string
		ok  bool
	}{
		`{"transactions":[{"inactivatedTransactionIds":[1]}],"inactivatedTransactionIds":["a","b"]}`: {`["a","b"]`, true},
		`{ "inactivatedTransactionIds" : null , "x": "}" }`:                                          {`null`, true},
		`{"transactions":[]}`: {"", true},
		`{"inactivatedTransactionIds":[],"inactivatedTransactionIds":["a"]}`: {"", false},
		`{"InactivatedTransactionIds":["a"]}`:                                {"", false},
		`{"inactivatedTransactionIds":["a"],"k\u0065y":1}`:                   {"", false},
		`["inactivatedTransactionIds"]`:                                      {"", false},
	} {
		raw, ok := topLevelValue([]byte(body), key)
		require.Equal(t, want.ok, ok, body)
		require.Equal(t, want.raw, string(raw), body)
	}
}

func TestDecodeFallsBackWhenTheInactivatedKeyIsAmbiguous(t *testing.T) {
	t.Parallel()
	// encoding/json matches keys case-insensitively (the last one wins);
	// the fast path must not pick a different list than it would.
	body := []byte(`{"transactions":[],"inactivatedTransactionIds":["a"],"InactivatedTransactionIDs":["b"]}`)
	page, err := decodeTransactionPage(body)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, page.InactivatedTransactionIDs)
}

func TestRepeatedListStillChecksTheRestOfThePage(t *testing.T) {
	t.Parallel()
	good := []byte(`{"transactions":[{"id":"t1","amount":"1.00"}],"inactivatedTransactionIds":["a","b"],"limit":500}`)
	first, err := decodeTransactionPage(good)
	require.NoError(t, err)
	again, err := decodeTransactionPageAfter(good, first.TransactionPage)
	require.NoError(t, err)
	require.True(t, again.InactivatedRepeated)
	require.Equal(t, "t1", again.Transactions[0].ID)
	require.JSONEq(t, `{"id":"t1","amount":"1.00"}`, string(again.Transactions[0].Raw))
	require.Equal(t, 500, again.Limit)

	for _, bad := range []string{
		`{"transactions":[{"id":"t1","amount":"1.00"],"inactivatedTransactionIds":["a","b"],"limit":500}`,
		`{"transactions":[{"id":"t1","amount":1.00x}],"inactivatedTransactionIds":["a","b"]}`,
		`{"transactions":[{"amount":"1.00"}],"inactivatedTransactionIds":["a","b"]}`,
		`{"transactions":[],"inactivatedTransactionIds":["a","b"]`,
	} {
		_, err := decodeTransactionPageAfter([]byte(bad), first.TransactionPage)
		require.Error(t, err, bad)
	}
}
