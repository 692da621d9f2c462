package config

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reader reads typed values from the environment and collects every error,
// so that one start-up attempt reports all bad values together.
type reader struct {
	getenv func(string) string
	errs   []error
	// institutionsJSON is PFMSYNC_INSTITUTIONS, parsed after every
	// setting is read (it may name client-secret variables).
	institutionsJSON string
}

func (r *reader) fail(name, msg string) {
	r.errs = append(r.errs, fmt.Errorf("%s %s", name, msg))
}

func (r *reader) raw(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *reader) str(name, def string) string {
	if v := r.raw(name); v != "" {
		return v
	}
	return def
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	v := r.raw(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, fmt.Sprintf("must be a whole number from %d to %d, got %q", lo, hi, v))
		return def
	}
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.raw(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be true or false, got %q", v))
		return def
	}
	return b
}

func (r *reader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := r.raw(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		r.fail(name, fmt.Sprintf("must be a duration from %s to %s (e.g. 90s, 15m), got %q", lo, hi, v))
		return def
	}
	return d
}

func (r *reader) level(name string, def slog.Level) slog.Level {
	v := r.raw(name)
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, fmt.Sprintf("must be debug, info, warn or error, got %q", v))
		return def
	}
	return l
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.raw(name))
	if v == "" {
		return def
	}
	if !slices.Contains(allowed, v) {
		r.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
		return def
	}
	return v
}

// list reads a comma-separated list, dropping empty items.
func (r *reader) list(name string) []string {
	var out []string
	for _, item := range strings.Split(r.raw(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
