package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// setting is one environment variable: its name, default, whether it is
// secret, its documentation, how it is read into a Config, and how its
// value is shown. The table in settings.go is the only place a variable is
// described: Load, String/LogValue, Variables and the table in
// docs/operations.md all come from it.
type setting struct {
	// name is the variable; aliases are read, in order, when it is unset.
	name    string
	aliases []string
	// key names the value in the redacted dump ("" leaves it out).
	key string
	// def is the default as documented ("" for none).
	def string
	// secret settings are shown only as set or unset.
	secret bool
	// doc is the description in docs/operations.md (Markdown).
	doc string
	// load reads the variable into c, reporting bad values to r.
	load func(r *reader, c *Config)
	// show renders the loaded value (secret settings are never shown).
	show func(c *Config) string
}

// value renders s's value in c for the dump, secrets redacted.
func (s setting) value(c *Config) string {
	v := s.show(c)
	if s.secret {
		return redactSet(v)
	}
	return v
}

// The constructors below give each kind of value one parser, one range
// check and one rendering, so that an entry of the table is a single line
// of facts.

func durationSetting(name, key string, def, lo, hi time.Duration, field func(*Config) *time.Duration, doc string) setting {
	return setting{
		name: name, key: key, def: FormatDuration(def),
		doc:  fmt.Sprintf("%s; %s to %s", doc, FormatDuration(lo), FormatDuration(hi)),
		load: func(r *reader, c *Config) { *field(c) = r.duration(name, def, lo, hi) },
		show: func(c *Config) string { return FormatDuration(*field(c)) },
	}
}

func intSetting[T ~int | ~int32](name, key string, def, lo, hi T, field func(*Config) *T, doc string) setting {
	return setting{
		name: name, key: key, def: strconv.Itoa(int(def)),
		doc:  fmt.Sprintf("%s; %d to %d", doc, lo, hi),
		load: func(r *reader, c *Config) { *field(c) = T(r.intRange(name, int(def), int(lo), int(hi))) },
		show: func(c *Config) string { return strconv.Itoa(int(*field(c))) },
	}
}

func boolSetting(name, key string, def bool, field func(*Config) *bool, doc string) setting {
	return setting{
		name: name, key: key, def: strconv.FormatBool(def), doc: doc,
		load: func(r *reader, c *Config) { *field(c) = r.boolean(name, def) },
		show: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

// stringSetting reads free text; secret ones are never shown or echoed.
func stringSetting(name, key, def string, secret bool, field func(*Config) *string, doc string) setting {
	return setting{
		name: name, key: key, def: def, secret: secret, doc: doc,
		load: func(r *reader, c *Config) { *field(c) = r.str(name, def) },
		show: func(c *Config) string { return *field(c) },
	}
}

func listenSetting(name, key, def string, field func(*Config) *string, doc string) setting {
	return setting{
		name: name, key: key, def: def, doc: doc + fmt.Sprintf("; `%s` disables it", addrOff),
		load: func(r *reader, c *Config) { *field(c) = r.listenAddr(name, def) },
		show: func(c *Config) string {
			if *field(c) == "" {
				return addrOff
			}
			return *field(c)
		},
	}
}

// FormatDuration renders d the way an operator writes it: 1h, 30m, 1h30m,
// 90s, 250ms (not time.Duration's 1h0m0s).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// levelName renders a slog level as PFMSYNC_LOG_LEVEL spells it.
func levelName(l slog.Level) string { return strings.ToLower(l.String()) }
