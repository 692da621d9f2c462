package bank

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// referencePage is the transactions body as encoding/json encodes it: the
// reference the appended page must match byte for byte.
type referencePage struct {
	Transactions              []Transaction `json:"transactions"`
	InactivatedTransactionIDs []string      `json:"inactivatedTransactionIds"`
	Offset                    int           `json:"offset"`
	Limit                     int           `json:"limit"`
	Account                   struct {
		AccountType    string `json:"accountType"`
		AccountSubType string `json:"accountSubType"`
	} `json:"account"`
}

// requireSameJSON checks that t appends exactly what json.Marshal encodes.
// json.Marshal reaches Money and Instant through their MarshalJSON, which
// share their appenders; those formats are checked on their own against
// Money.String's tests and time.Format.
func requireSameJSON(t *testing.T, x Transaction) {
	t.Helper()
	want, err := json.Marshal(x)
	require.NoError(t, err)
	got, err := x.AppendJSON(nil)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	// Appending after existing bytes leaves them alone.
	got, err = x.AppendJSON([]byte("prefix,"))
	require.NoError(t, err)
	require.Equal(t, "prefix,"+string(want), string(got))
}

// TestTransactionAppendJSONMatchesEncodingJSON compares every transaction
// of generated banks, at the start and at the end of their timelines, with
// json.Marshal.
func TestTransactionAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for _, seed := range []int64{1, 42, 977} {
		cfg := Config{Start: FixedStart, Seed: seed, Users: 6, HistoryDays: 200, FutureDays: 60, Density: 2}
		b := newTestBank(t, cfg)
		for _, now := range []time.Time{cfg.Start, cfg.Start.AddDate(0, 0, cfg.FutureDays)} {
			for n := 1; n <= cfg.Users; n++ {
				accounts, _, ok := b.Accounts(b.UserID(n), now)
				require.True(t, ok)
				for _, a := range accounts {
					page, err := b.Transactions(b.UserID(n), a.ID, now, Query{})
					require.NoError(t, err)
					for _, x := range page.Transactions {
						requireSameJSON(t, x)
						seen["all"]++
						if x.Merchant != nil {
							seen["merchant"]++
						}
						if x.RunningBalance != nil {
							seen["runningBalance"]++
						}
						if len(x.Tags) > 0 {
							seen["tags"]++
						}
						if x.Notes != "" {
							seen["notes"]++
						}
						if x.CheckNumber != "" {
							seen["checkNumber"]++
						}
						if x.PendingStatus == StatusInstitutionPending {
							seen["pending"]++
						}
						if x.Enrichments != nil && x.Enrichments.CustomExpenseCategory != "" {
							seen["customCategory"]++
						}
						if x.Merchant != nil && !isPlain(x.Merchant.Name) {
							seen["escaped"]++
						}
					}
				}
			}
		}
	}
	// The banks cover every optional part of a transaction, and names that
	// need escaping (AT&T, Barnes & Noble).
	for _, k := range []string{"all", "merchant", "runningBalance", "tags", "notes", "checkNumber", "pending", "customCategory", "escaped"} {
		require.Positive(t, seen[k], "no transaction with %s", k)
	}
}

// isPlain reports whether s takes the copy path of appendJSONString.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			return false
		}
	}
	return true
}

// oddStrings need escaping, or nearly do.
var oddStrings = []string{
	"",
	"plain",
	"AT&T <script>alert(1)</script>",
	`say "hi"`,
	`C:\path\to`,
	"tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f",
	"café — naïve 日本語 😀",
	"bad \xff\xfe utf-8 \xc3",
	"truncated \xe2\x80",
	"line\u2028para\u2029sep",
	"~ ` ! @ # $ % ^ * ( ) - _ = + [ ] { } | ; : ' , . / ?",
	"\"",
	"\\",
	"<>&",
}

// TestTransactionAppendJSONOddValues compares hand-made transactions whose
// every string, amount, instant and coordinate is unusual.
func TestTransactionAppendJSONOddValues(t *testing.T) {
	t.Parallel()
	running := Money(-123456789)
	base := Transaction{
		ID: "id", AccountID: "acct", Amount: 5, Currency: CurrencyUSD,
		DatePosted:    Instant{time.Date(2026, 2, 3, 4, 5, 6, 789_999_999, time.UTC)},
		Date:          Instant{time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("X", -5*3600))},
		LastUpdated:   Instant{time.Date(2000, 1, 1, 0, 0, 0, 1_000_000, time.UTC)},
		PendingStatus: StatusReconciled, Type: TxPOS, Subtype: SubPinDebit, Memo: "memo",
	}
	requireSameJSON(t, base)
	requireSameJSON(t, Transaction{})

	for _, s := range oddStrings {
		x := base
		x.ID, x.AccountID, x.Currency, x.PendingStatus, x.Type, x.Subtype, x.Memo = s, s, s, s, s, s, s
		x.FilteredMemo, x.DisplayName, x.DisplayCity, x.DisplayState, x.CheckNumber, x.Notes = s, s, s, s, s, s
		x.Tags = []string{s, "plain", s}
		x.RunningBalance = &running
		x.Merchant = &Merchant{Name: s, URL: s, Phone: s, Category: s,
			Location: &Location{City: s, State: s, Zip: s, Lat: 39.7392, Long: -104.9903}}
		x.Enrichments = &Enrichments{CleanMemo: s, ExpenseCategory: s, CustomExpenseCategory: s, MerchantID: s, Logo: s}
		requireSameJSON(t, x)
	}

	// Optional parts present but empty, and each enrichment alone.
	for _, x := range []Transaction{
		{Tags: []string{}, Enrichments: &Enrichments{}, Merchant: &Merchant{}},
		{Tags: []string{""}, Merchant: &Merchant{Location: &Location{}}},
		{Enrichments: &Enrichments{CleanMemo: "a"}},
		{Enrichments: &Enrichments{ExpenseCategory: "gifts & donations"}},
		{Enrichments: &Enrichments{CustomExpenseCategory: "c"}},
		{Enrichments: &Enrichments{MerchantID: "m"}},
		{Enrichments: &Enrichments{Logo: "https://logo.example/a.png?x=1&y=2"}},
		{Sequence: -42, Amount: -1},
		{Sequence: math.MaxInt64, Amount: Money(math.MinInt64)},
	} {
		requireSameJSON(t, x)
	}

	// Coordinates across both float formats.
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 5e-324,
		123456789.123, 1e20, 1e21, 1.7976931348623157e308, -2.5e-9, 3.000001, 1e-10, 1.23e-100} {
		x := base
		x.Merchant = &Merchant{Name: "n", Location: &Location{Lat: f, Long: -f}}
		requireSameJSON(t, x)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		x := base
		x.Merchant = &Merchant{Name: "n", Location: &Location{Lat: 1, Long: f}}
		_, wantErr := json.Marshal(x)
		require.Error(t, wantErr)
		_, err := x.AppendJSON(nil)
		require.Error(t, err, "%v", f)
	}

	// Instants outside the digit-by-digit range, and at its edges.
	for _, tm := range []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-12345, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
		time.UnixMilli(-1),
	} {
		x := base
		x.DatePosted, x.Date, x.LastUpdated = Instant{tm}, Instant{tm.In(time.FixedZone("Y", 3600))}, Instant{tm}
		requireSameJSON(t, x)
	}
}

// TestAppendJSONStringMatchesEncodingJSON feeds random byte strings, mostly
// printable ASCII with some of everything else, to the string appender.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	pool := []string{"<", ">", "&", `"`, `\`, "\n", "\x00", "\x7f", "\xff", "é", "\u2028", "\u2029", "😀", "\xe2\x80", "\xed\xa0\x80"}
	for range 20000 {
		var b []byte
		for range rng.IntN(24) {
			if rng.IntN(8) == 0 {
				b = append(b, pool[rng.IntN(len(pool))]...)
			} else {
				b = append(b, byte(' '+rng.IntN(0x5f)))
			}
		}
		s := string(b)
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)), "%q", s)
	}
}

// TestInstantTextMatchesTimeFormat checks the digit-by-digit instant format
// against time.Format over random instants, half of them near today and the
// rest anywhere from year 0 to 9999.
func TestInstantTextMatchesTimeFormat(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 5))
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	near := FixedStart.Unix()
	for i := range 20000 {
		sec := near + rng.Int64N(10*365*86400) - 5*365*86400
		if i%2 == 1 {
			sec = lo + rng.Int64N(hi-lo)
		}
		tm := time.Unix(sec, rng.Int64N(1e9)).In(time.FixedZone("Z", rng.IntN(48*1800)-24*1800))
		want := tm.UTC().Format(instantLayout)
		require.Equal(t, want, Instant{tm}.String())
		js, err := Instant{tm}.MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, `"`+want+`"`, string(js))
	}
	for _, tm := range []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(123456, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-12345, 6, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		require.Equal(t, tm.UTC().Format(instantLayout), Instant{tm}.String())
		require.Equal(t, `"`+tm.UTC().Format(instantLayout)+`"`, string(Instant{tm}.AppendJSON(nil)))
	}
}

// TestPageAppendJSONMatchesEncodingJSON compares page bodies, with and
// without absent lists, with the encoding/json reference.
func TestPageAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 42, Users: 3, HistoryDays: 120, FutureDays: 30})
	now := FixedStart.AddDate(0, 0, 30)
	reference := func(p Page) string {
		r := referencePage{Transactions: p.Transactions, InactivatedTransactionIDs: p.InactivatedTransactionIDs,
			Offset: p.Offset, Limit: p.Limit}
		if r.Transactions == nil {
			r.Transactions = []Transaction{}
		}
		if r.InactivatedTransactionIDs == nil {
			r.InactivatedTransactionIDs = []string{}
		}
		r.Account.AccountType, r.Account.AccountSubType = p.AccountType, p.AccountSubType
		return string(mustJSON(t, r))
	}
	pages := 0
	for n := 1; n <= 3; n++ {
		accounts, _, ok := b.Accounts(b.UserID(n), now)
		require.True(t, ok)
		for _, a := range accounts {
			for _, q := range []Query{{}, {Paginate: true, Limit: 7, Offset: 3}, {Paginate: true, Offset: 1 << 20}} {
				p, err := b.Transactions(b.UserID(n), a.ID, now, q)
				require.NoError(t, err)
				got, err := p.AppendJSON(nil)
				require.NoError(t, err)
				require.Equal(t, reference(p), string(got))
				js, err := json.Marshal(p)
				require.NoError(t, err)
				require.Equal(t, reference(p), string(js))
				pages++
			}
		}
	}
	require.Positive(t, pages)

	for _, p := range []Page{
		{},
		{Transactions: []Transaction{}, InactivatedTransactionIDs: []string{}},
		{InactivatedTransactionIDs: oddStrings, Offset: -1, Limit: math.MaxInt64, AccountType: "a&b", AccountSubType: "<c>"},
	} {
		got, err := p.AppendJSON(nil)
		require.NoError(t, err)
		require.Equal(t, reference(p), string(got))
	}
}
