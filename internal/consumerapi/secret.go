package consumerapi

import (
	"fmt"
	"log/slog"
)

// redacted is what every rendering of a non-empty Secret prints.
const redacted = "[REDACTED]"

// Secret is a string that must never be logged or shown: a client secret, an
// access token, a refresh token, an ID token or a PKCE code verifier.
//
// Every way the standard library renders a value (fmt verbs including %v, %+v,
// %#v and %q, slog, encoding/json and encoding.TextMarshaler users) prints
// "[REDACTED]" instead of the value; an empty Secret prints as an empty string
// so that "not set" stays visible. The value itself is only available through
// [Secret.Reveal], which makes every use of it easy to find.
type Secret string

// Reveal returns the secret value. Call it only where the value is sent to the
// institution or handed to sealed storage.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String returns "[REDACTED]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("consumerapi.Secret(%q)", s.String()) }

// Format implements fmt.Formatter so that no verb can print the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = fmt.Fprint(f, s.GoString())
			return
		}
		_, _ = fmt.Fprint(f, s.String())
	case 'q':
		_, _ = fmt.Fprintf(f, "%q", s.String())
	default:
		_, _ = fmt.Fprint(f, s.String())
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form, so a Secret can never leak through a
// JSON log line or an API response by accident.
func (s Secret) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%q", s.String()), nil
}

// MarshalText encodes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
