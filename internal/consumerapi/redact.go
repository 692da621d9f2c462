package consumerapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text received from the institution (error_description, error bodies,
// callback parameters) is untrusted: a provider may echo the request back,
// client secret, code, verifier or token included. Every such text is passed
// through redact before it is kept in an error, so that nothing a log line,
// a stored error or a status page shows can carry a secret pfmsync knows.

// Caps of provider text kept in errors.
const (
	maxProviderText = 300
	maxErrorCode    = 64
	maxRequestID    = 128
)

// requestIDHeader is the response header Jack Henry's support asks for.
const requestIDHeader = "X-Request-Id"

// redactor knows the secrets of one call, and the client's memory of the
// secrets it handled recently, and removes both from text.
type redactor struct {
	needles []string
	recent  *recentSecrets
}

// minSecretLen keeps very short values (which would match ordinary words)
// out of the needles; no real secret is that short.
const minSecretLen = 4

// newRedactor builds a redactor for the institution's client secret and the
// given per-call secrets (code, verifier, tokens). Each secret is matched
// raw, URL-encoded and, for the client secret, inside a Basic credential.
// The per-call secrets join the client's memory of recent secrets, which the
// redactor consults too.
func (c *Client) newRedactor(secrets ...Secret) redactor {
	c.recent.remember(secrets...)
	r := redactor{recent: c.recent}
	add := func(v string) {
		if len(v) >= minSecretLen {
			r.needles = append(r.needles, v)
		}
	}
	all := append([]Secret{c.inst.ClientSecret}, secrets...)
	for _, s := range all {
		v := s.Reveal()
		add(v)
		if q := url.QueryEscape(v); q != v {
			add(q)
		}
		if p := url.PathEscape(v); p != v {
			add(p)
		}
	}
	if !c.inst.ClientSecret.IsZero() {
		for _, cred := range []string{
			c.inst.ClientID + ":" + c.inst.ClientSecret.Reveal(),
			url.QueryEscape(c.inst.ClientID) + ":" + url.QueryEscape(c.inst.ClientSecret.Reveal()),
		} {
			add(base64.StdEncoding.EncodeToString([]byte(cred)))
			add(base64.RawStdEncoding.EncodeToString([]byte(cred)))
		}
	}
	return r
}

// text redacts every known secret from s, drops control characters and
// caps the result at maxProviderText.
func (r redactor) text(s string) string { return r.capped(s, maxProviderText) }

// code redacts and caps an OAuth error code (the structured field kept in
// stored errors).
func (r redactor) code(s string) string { return r.capped(s, maxErrorCode) }

func (r redactor) capped(s string, n int) string {
	if s == "" {
		return ""
	}
	s = r.scrub(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s)
	return capText(s, n)
}

// err returns err unchanged unless its text contains a known secret; then it
// returns an error with the redacted text that still unwraps to err (so that
// errors.Is keeps working).
func (r redactor) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.scrub(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: capText(clean, maxProviderText), err: err}
}

// span is the byte range [start, end) of a secret found in a text.
type span struct{ start, end int }

// scrub replaces every occurrence of a secret of the call or of the
// client's recent secrets by [REDACTED]. Occurrences are found in the
// original text first and overlapping ones merged, so that removing one
// secret can never cut another into a piece no longer recognized.
func (r redactor) scrub(s string) string {
	var spans []span
	for _, needle := range r.needles {
		for i := 0; i <= len(s)-len(needle); {
			k := strings.Index(s[i:], needle)
			if k < 0 {
				break
			}
			spans = append(spans, span{i + k, i + k + len(needle)})
			i += k + 1
		}
	}
	spans = r.recent.find(s, spans)
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out strings.Builder
	out.Grow(len(s))
	done := 0
	for i := 0; i < len(spans); {
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start <= end; i++ {
			end = max(end, spans[i].end)
		}
		out.WriteString(s[done:start])
		out.WriteString(redacted)
		done = end
	}
	out.WriteString(s[done:])
	return out.String()
}

// redactedError is an error whose text had a secret removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// capText cuts s to at most n bytes on a rune boundary, marking the cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// requestIDOf reads the institution's request id from a response, keeping
// only a short printable token.
func requestIDOf(h http.Header) string {
	v := strings.TrimSpace(h.Get(requestIDHeader))
	if v == "" {
		return ""
	}
	v = strings.Map(func(c rune) rune {
		if c < 0x21 || c > 0x7e {
			return -1
		}
		return c
	}, v)
	return capText(v, maxRequestID)
}
