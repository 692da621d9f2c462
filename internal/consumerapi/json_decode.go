package consumerapi

import (
	"bytes"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// v1Semantics makes the v2 decoder behave as encoding/json does:
// case-insensitive field names, the last of duplicate names, invalid
// UTF-8 replaced, and the types' UnmarshalJSON methods called as before.
var v1Semantics = jsonv1.DefaultOptionsV1()

// unmarshalV1 is json.Unmarshal, decoded by the v2 decoder of
// github.com/go-json-experiment/json (the code Go ships as
// encoding/json/v2 behind GOEXPERIMENT=jsonv2): the same values for
// every body encoding/json accepts, in one pass instead of a validating
// pass and a decoding pass, with fewer allocations. Its errors are not
// encoding/json's types: a caller that classifies errors decodes the
// refused body again with encoding/json (refusals are rare).
func unmarshalV1(body []byte, v any) error {
	return jsonv2.Unmarshal(body, v, v1Semantics)
}

// spanned is a value decoded by unmarshalV1 together with where its JSON
// lies in the body: a record's raw JSON is sliced out of the body by the
// same pass that decodes it, and always matches what was decoded.
type spanned[T any] struct {
	value      T
	start, end int64
	set        bool
}

// UnmarshalJSONFrom decodes the value into a zero T (never merging into
// an earlier one, so the fields are those of the span) and records its
// span.
func (s *spanned[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*s = spanned[T]{start: dec.InputOffset()}
	if err := jsonv2.UnmarshalDecode(dec, &s.value); err != nil {
		return err
	}
	s.end, s.set = dec.InputOffset(), true
	return nil
}

// raw returns the value's JSON in buf, a copy of the decoded body from
// its offset base on (the span starts after the previous token, a name
// or a value: the colon or comma and white space before the value are
// cut). The slice's
// capacity ends with it.
func (s *spanned[T]) raw(buf []byte, base int64) []byte {
	if !s.set {
		return nil
	}
	b := bytes.TrimLeft(buf[s.start-base:s.end-base], ",: \t\r\n")
	return b[:len(b):len(b)]
}

// skipped is a value only validated, not decoded.
type skipped struct{}

// UnmarshalJSONFrom validates and skips the value.
func (skipped) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return dec.SkipValue() }
