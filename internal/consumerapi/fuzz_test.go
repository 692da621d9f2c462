package consumerapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "12.34", "-42.17", "0.005", "2493.170", "+7", "007.10", "-0.00",
		"123456789012345678901234567890.123456789", "", " 1 ", "1e3", ".5", "1.", "NaN", "--1",
		"99999999999999999999999999999999999999999999999999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			return
		}
		if !d.Valid() {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("%q: absent without error", s)
			}
			return
		}
		// The canonical text parses back to the same value and text.
		again, err := ParseDecimal(d.String())
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", s, d.String(), err)
		}
		if !again.Equal(d) || again.String() != d.String() {
			t.Fatalf("%q: round trip %q -> %q", s, d.String(), again.String())
		}
		// And through JSON, in both string and number forms.
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON Decimal
		if err := json.Unmarshal(b, &fromJSON); err != nil || !fromJSON.Equal(d) {
			t.Fatalf("%q: JSON round trip %s: %v", s, b, err)
		}
		var fromNumber Decimal
		if err := json.Unmarshal([]byte(d.String()), &fromNumber); err != nil || !fromNumber.Equal(d) {
			t.Fatalf("%q: JSON number %s: %v", s, d.String(), err)
		}
	})
}

func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{
		"2017-07-23T12:30:12.123Z", "2017-07-23T12:30:12Z", "2017-07-23T14:30:12.123+02:00",
		"2017-07-23T07:30:12-05:00", "2017-07-23T14:30:12+0200", "2017-07-23T14:30:12+02",
		"2017-07-23T12:30:12.123", "2017-07-23", "2017-07-23t12:30:12z", "2017-07-23T12:30Z",
		"", "yesterday", "2017-13-01", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseInstant(s)
		if err != nil {
			return
		}
		if tm.IsZero() {
			return
		}
		b, err := json.Marshal(Instant{tm})
		if err != nil {
			t.Fatalf("%q: marshal: %v", s, err)
		}
		var back Instant
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q: %s does not parse back: %v", s, b, err)
		}
		if !back.Equal(tm) {
			t.Fatalf("%q: round trip %s -> %s", s, tm, back.Time)
		}
		if _, err := ParseDate(s); err != nil {
			t.Fatalf("%q: an instant must also give a date: %v", s, err)
		}
		_ = tm.Format(time.RFC3339Nano)
	})
}

func FuzzDecodeTransactionPage(f *testing.F) {
	for _, name := range []string{
		"transactions_page.json", "transactions_credit_card.json", "transactions_null.json", "transactions_missing.json",
	} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"transactions": [null]}`))
	f.Add([]byte(`{"transactions": [{"id": "x", "amount": 1.5}], "offset": 0}`))
	f.Add([]byte(`{"transactions": [{"id": "x", "amount": "1e5"}]}`))
	f.Add([]byte(`{"transactions": [{"id": "x"`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := decodeTransactionPage(body)
		if err != nil {
			return
		}
		// No silent loss: every transaction decoded has an id, and its
		// raw JSON decodes to the same id and amount.
		for i := range page.Transactions {
			tx := &page.Transactions[i]
			if tx.ID == "" {
				t.Fatalf("transaction %d has no id", i)
			}
			var fromRaw Transaction
			if err := json.Unmarshal(tx.Raw, &fromRaw); err != nil {
				t.Fatalf("raw of %s does not decode: %v", tx.ID, err)
			}
			if fromRaw.ID != tx.ID || !fromRaw.Amount.Equal(tx.Amount) {
				t.Fatalf("raw of %s differs", tx.ID)
			}
		}
		// Re-encoding round-trips ids and amounts.
		out, err := json.Marshal(page.TransactionPage)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decodeTransactionPage(out)
		if err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if len(again.Transactions) != len(page.Transactions) {
			t.Fatalf("count %d -> %d", len(page.Transactions), len(again.Transactions))
		}
		for i := range page.Transactions {
			a, b := &page.Transactions[i], &again.Transactions[i]
			if a.ID != b.ID || !a.Amount.Equal(b.Amount) || a.Amount.String() != b.Amount.String() ||
				!a.DatePosted.Equal(b.DatePosted.Time) || !a.RunningBalance.Equal(b.RunningBalance) {
				t.Fatalf("transaction %d: %+v -> %+v", i, a, b)
			}
		}
		if len(again.InactivatedTransactionIDs) != len(page.InactivatedTransactionIDs) {
			t.Fatalf("inactivated ids lost")
		}
	})
}
