package bank

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// This file holds the wire encoding of transactions and pages, written
// directly into a byte slice. Its output is byte-identical to what
// encoding/json produces for the same values (field order, omitempty, HTML
// escaping, float format); the tests hold it to that.

// AppendJSON appends t as the Consumer API serves it. It fails only for a
// merchant location whose coordinates are not finite, as json.Marshal does.
func (t Transaction) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, t.ID)
	b = append(b, `,"accountId":`...)
	b = appendJSONString(b, t.AccountID)
	b = append(b, `,"amount":`...)
	b = t.Amount.AppendJSON(b)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, t.Currency)
	b = append(b, `,"datePosted":`...)
	b = t.DatePosted.AppendJSON(b)
	b = append(b, `,"date":`...)
	b = t.Date.AppendJSON(b)
	b = append(b, `,"pendingStatus":`...)
	b = appendJSONString(b, t.PendingStatus)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, t.Type)
	b = append(b, `,"subtype":`...)
	b = appendJSONString(b, t.Subtype)
	b = append(b, `,"memo":`...)
	b = appendJSONString(b, t.Memo)
	b = appendOptionalString(b, `,"filteredMemo":`, t.FilteredMemo)
	b = appendOptionalString(b, `,"displayName":`, t.DisplayName)
	b = appendOptionalString(b, `,"displayCity":`, t.DisplayCity)
	b = appendOptionalString(b, `,"displayState":`, t.DisplayState)
	b = appendOptionalString(b, `,"checkNumber":`, t.CheckNumber)
	if t.RunningBalance != nil {
		b = append(b, `,"runningBalance":`...)
		b = t.RunningBalance.AppendJSON(b)
	}
	b = append(b, `,"sequence":`...)
	b = strconv.AppendInt(b, int64(t.Sequence), 10)
	b = append(b, `,"lastUpdated":`...)
	b = t.LastUpdated.AppendJSON(b)
	if len(t.Tags) > 0 {
		b = append(b, `,"tags":`...)
		b = appendJSONStrings(b, t.Tags)
	}
	b = appendOptionalString(b, `,"notes":`, t.Notes)
	if m := t.Merchant; m != nil {
		b = append(b, `,"merchant":{"name":`...)
		b = appendJSONString(b, m.Name)
		b = appendOptionalString(b, `,"url":`, m.URL)
		b = appendOptionalString(b, `,"phone":`, m.Phone)
		b = appendOptionalString(b, `,"category":`, m.Category)
		if l := m.Location; l != nil {
			b = append(b, `,"location":{"city":`...)
			b = appendJSONString(b, l.City)
			b = append(b, `,"state":`...)
			b = appendJSONString(b, l.State)
			b = append(b, `,"zip":`...)
			b = appendJSONString(b, l.Zip)
			b = append(b, `,"lat":`...)
			var err error
			if b, err = appendJSONFloat(b, l.Lat); err != nil {
				return nil, err
			}
			b = append(b, `,"long":`...)
			if b, err = appendJSONFloat(b, l.Long); err != nil {
				return nil, err
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if e := t.Enrichments; e != nil {
		b = append(b, `,"enrichments":{`...)
		n := len(b)
		b = appendOptionalString(b, `,"cleanMemo":`, e.CleanMemo)
		b = appendOptionalString(b, `,"expenseCategory":`, e.ExpenseCategory)
		b = appendOptionalString(b, `,"customExpenseCategory":`, e.CustomExpenseCategory)
		b = appendOptionalString(b, `,"merchantId":`, e.MerchantID)
		b = appendOptionalString(b, `,"logo":`, e.Logo)
		if len(b) > n {
			// Drop the comma before the first field written.
			b = append(b[:n], b[n+1:]...)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// AppendJSON appends p as the transactions endpoint's response body:
// {"transactions":[...],"inactivatedTransactionIds":[...],"offset":n,
// "limit":n,"account":{"accountType":...,"accountSubType":...}}. Absent
// lists are served as empty arrays.
func (p Page) AppendJSON(b []byte) ([]byte, error) {
	return p.AppendJSONWith(b, func(b []byte, i int) ([]byte, error) {
		return p.Transactions[i].AppendJSON(b)
	})
}

// AppendJSONWith is [Page.AppendJSON] with transaction i of p.Transactions
// appended by txn, for servers that alter records on the way out. txn must
// append exactly one JSON value.
func (p Page) AppendJSONWith(b []byte, txn func(b []byte, i int) ([]byte, error)) ([]byte, error) {
	b = append(b, `{"transactions":[`...)
	for i := range p.Transactions {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = txn(b, i); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"inactivatedTransactionIds":`...)
	if p.InactivatedTransactionIDs == nil {
		b = append(b, "[]"...)
	} else {
		b = appendJSONStrings(b, p.InactivatedTransactionIDs)
	}
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(p.Offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(p.Limit), 10)
	b = append(b, `,"account":{"accountType":`...)
	b = appendJSONString(b, p.AccountType)
	b = append(b, `,"accountSubType":`...)
	b = appendJSONString(b, p.AccountSubType)
	return append(b, "}}"...), nil
}

// MarshalJSON encodes p as [Page.AppendJSON] does.
func (p Page) MarshalJSON() ([]byte, error) {
	return p.AppendJSON(nil)
}

// plainJSON marks the bytes encoding/json copies into a string unchanged:
// printable ASCII except the quote, the backslash and the HTML-escaped <, >
// and &.
var plainJSON = func() (set [256]bool) {
	for c := ' '; c < 0x7f; c++ {
		set[c] = true
	}
	for _, c := range `"\<>&` {
		set[c] = false
	}
	return set
}()

// appendJSONString appends s as encoding/json encodes a string. Plain
// strings (nearly all the sandbox serves) are copied between quotes; any
// other goes through json.Marshal, which owns escaping, HTML escaping and
// the replacement of invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			enc, err := json.Marshal(s)
			if err != nil {
				// A Go string always encodes; keep the output well formed
				// regardless.
				panic(fmt.Sprintf("encode string: %v", err))
			}
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendOptionalString appends key and s unless s is empty (omitempty).
func appendOptionalString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

// appendJSONStrings appends ss as a JSON array of strings; nil is null.
func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONFloat appends f as encoding/json encodes a float64: the
// shortest decimal that reads back as f, in exponent form below 1e-6 and
// from 1e21 in magnitude, with a one-digit negative exponent unpadded.
// NaN and infinities are not JSON and fail.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("encode float: unsupported value %v", f)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}
