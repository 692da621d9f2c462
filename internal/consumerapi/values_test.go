package consumerapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		text  string
		valid bool
		err   bool
	}{
		{"12.34", "12.34", true, false},
		{"-0.005", "-0.005", true, false},
		{"1.50", "1.50", true, false},
		{"+7", "7", true, false},
		{"007.10", "7.10", true, false},
		{"-0.00", "0.00", true, false},
		{" 42 ", "42", true, false},
		{"123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789", true, false},
		{"", "", false, false},
		{"1e3", "", false, true},
		{"1.", "", false, true},
		{".5", "", false, true},
		{"1,000.00", "", false, true},
		{"NaN", "", false, true},
		{"--1", "", false, true},
		{"0x10", "", false, true},
		{"1.2.3", "", false, true},
	}
	for _, tt := range tests {
		d, err := ParseDecimal(tt.in)
		if tt.err {
			require.ErrorIs(t, err, ErrInvalidDecimal, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.valid, d.Valid(), tt.in)
		require.Equal(t, tt.text, d.String(), tt.in)
	}
	require.True(t, MustParseDecimal("0.1").Value().Add(MustParseDecimal("0.2").Value()).Equal(decimal.RequireFromString("0.3")), "exact, no float")
}

func TestDecimalJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D, E Decimal
	}
	require.NoError(t, json.Unmarshal([]byte(`{"A":"-12.340","B":12.5,"C":null,"D":"","F":"x"}`), &v))
	require.Equal(t, "-12.340", v.A.String())
	require.Equal(t, "12.5", v.B.String())
	require.False(t, v.C.Valid())
	require.False(t, v.D.Valid())
	require.False(t, v.E.Valid())
	out, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"A":"-12.340","B":"12.5","C":null,"D":null,"E":null}`, string(out))

	for _, bad := range []string{`true`, `{}`, `[1]`, `"1e5"`, `1e5`, `nul`} {
		var d Decimal
		require.Error(t, json.Unmarshal([]byte(bad), &d), bad)
	}
	require.True(t, MustParseDecimal("1.5").Equal(MustParseDecimal("1.50")))
	require.False(t, MustParseDecimal("1.5").Equal(Decimal{}))
	require.True(t, Decimal{}.Equal(Decimal{}))
}

func TestParseInstant(t *testing.T) {
	t.Parallel()
	want := time.Date(2017, 7, 23, 12, 30, 12, 123e6, time.UTC)
	wantSec := time.Date(2017, 7, 23, 12, 30, 12, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2017-07-23T12:30:12.123Z", want},
		{"2017-07-23T12:30:12Z", wantSec},
		{"2017-07-23T14:30:12.123+02:00", want},
		{"2017-07-23T07:30:12-05:00", wantSec},
		{"2017-07-23T14:30:12.123+0200", want},
		{"2017-07-23T14:30:12+02", wantSec},
		{"2017-07-23T12:30:12.123", want},
		{"2017-07-23T12:30:12.123456789Z", time.Date(2017, 7, 23, 12, 30, 12, 123456789, time.UTC)},
		{"2017-07-23t12:30:12z", wantSec},
		{"2017-07-23T12:30Z", time.Date(2017, 7, 23, 12, 30, 0, 0, time.UTC)},
		{"2017-07-23", time.Date(2017, 7, 23, 0, 0, 0, 0, time.UTC)},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		got, err := ParseInstant(tt.in)
		require.NoError(t, err, tt.in)
		require.True(t, tt.want.Equal(got), "%s: got %s", tt.in, got)
	}
	for _, bad := range []string{"yesterday", "2017-13-01", "2017-07-23T25:00:00Z", "1500000000", "2017-07-23T12:30:12+25:00x", "2017/07/23"} {
		_, err := ParseInstant(bad)
		require.ErrorIs(t, err, ErrInvalidTime, bad)
	}
}

func TestInstantAndDateJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		I, J, K Instant
		D, E, F Date
	}
	require.NoError(t, json.Unmarshal([]byte(`{"I":"2026-11-20T13:45:02.517Z","J":null,"K":"","D":"2026-12-05","E":null,"F":"2026-12-05T23:30:00-06:00"}`), &v))
	require.Equal(t, time.Date(2026, 11, 20, 13, 45, 2, 517e6, time.UTC), v.I.Time)
	require.True(t, v.J.IsZero())
	require.True(t, v.K.IsZero())
	require.Equal(t, Date{2026, time.December, 5}, v.D)
	require.True(t, v.E.IsZero())
	require.Equal(t, Date{2026, time.December, 5}, v.F, "calendar date in its own offset")
	require.Equal(t, "2026-12-05", v.D.String())
	out, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"I":"2026-11-20T13:45:02.517Z","J":null,"K":null,"D":"2026-12-05","E":null,"F":"2026-12-05"}`, string(out))

	var d Date
	require.Error(t, json.Unmarshal([]byte(`"2026-02-30"`), &d))
	require.Error(t, json.Unmarshal([]byte(`20261205`), &d))
	var i Instant
	require.Error(t, json.Unmarshal([]byte(`1700000000`), &i))
}
