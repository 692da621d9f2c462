// Package logging builds pfmsync's structured logger: slog with JSON or text
// output, snake_case keys, and a last line of defence that redacts attributes
// whose names say they hold a secret.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// Redacted is what a secret-named attribute is replaced with.
const Redacted = "[redacted]"

// New returns a logger writing to w in format "json" or "text" at level.
func New(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactSecrets}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Discard returns a logger that drops everything, for tests and defaults.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// secretKeyParts are attribute-name fragments that mark a secret value.
var secretKeyParts = []string{"token", "secret", "password", "verifier", "authorization", "cookie", "private_key", "auth_code", "api_key"}

// redactSecrets replaces the value of any attribute whose key names a secret.
// Code should never log such values in the first place; this catches mistakes.
// Keys ending in _id, _count or _class (e.g. token_family_id, error_class)
// describe secrets without holding them and are kept.
func redactSecrets(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		return a
	}
	if IsSecretKey(a.Key) {
		a.Value = slog.StringValue(Redacted)
	}
	return a
}

// IsSecretKey reports whether an attribute or field named key is treated as
// holding a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, suffix := range []string{"_id", "_count", "_class", "_status", "_kind"} {
		if strings.HasSuffix(k, suffix) {
			return false
		}
	}
	for _, part := range secretKeyParts {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}
