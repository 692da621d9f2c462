package consumerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrConsentRevoked means the token endpoint answered invalid_grant: the
	// refresh token (or authorization code) is no longer valid, typically
	// because the user removed the app under "Connected Apps" or the grant
	// expired. The link needs the user's consent again; retrying cannot help.
	// The *APIError in the chain carries the OAuth error and description.
	ErrConsentRevoked = errors.New("consent revoked or expired (invalid_grant): re-authorization needed")

	// ErrInvalidQuery is returned before any request is made when a query's
	// parameters are invalid (for example since combined with updatedSince).
	ErrInvalidQuery = errors.New("invalid query")

	// ErrSinceWithUpdatedSince is returned, wrapped with ErrInvalidQuery,
	// when a transactions query sets both Since and UpdatedSince, which Banno
	// rejects.
	ErrSinceWithUpdatedSince = fmt.Errorf("%w: since cannot be combined with updatedSince", ErrInvalidQuery)

	// ErrMalformedBody means a response body could not be decoded or failed
	// validation. It is permanent.
	ErrMalformedBody = errors.New("malformed response body")

	// ErrTruncatedBody means a response body ended early (connection closed
	// mid-body, Content-Length not honoured, JSON cut off). It is transient.
	ErrTruncatedBody = errors.New("truncated response body")

	// ErrBodyTooLarge means a response body exceeded the configured
	// MaxBodyBytes. It is permanent.
	ErrBodyTooLarge = errors.New("response body too large")

	// ErrInvalidIDToken means an ID token failed verification (signature,
	// issuer, audience, expiry or nonce).
	ErrInvalidIDToken = errors.New("invalid ID token")

	// ErrStateMismatch means an authorization callback's state does not
	// match the one sent.
	ErrStateMismatch = errors.New("authorization callback state mismatch")

	// ErrIssuerMismatch means an authorization callback's iss parameter (RFC
	// 9207) is missing where required or differs from the issuer.
	ErrIssuerMismatch = errors.New("authorization callback issuer mismatch")

	// ErrAccessDenied means the user declined consent (error=access_denied
	// on the callback).
	ErrAccessDenied = errors.New("access denied by the user")

	// ErrRevocationUnsupported means no revocation endpoint is known: the
	// discovery document has none and Institution.RevocationURL is empty.
	ErrRevocationUnsupported = errors.New("token revocation endpoint not known")

	// ErrRequestBudget means the institution's request budget (rate
	// limiter) could not grant a request before the context's deadline. It
	// is classified as rate limited and is not retried.
	ErrRequestBudget = errors.New("request budget exhausted before the deadline")

	// ErrNoRenewal is returned by a TokenSource that cannot renew its access
	// token (see StaticToken).
	ErrNoRenewal = errors.New("access token cannot be renewed")
)

// ErrorKind classifies a failure by what the caller should do about it.
type ErrorKind int

// Error kinds, see the table in docs/consumerapi.md.
const (
	// KindUnknown is an error this package did not produce or cannot classify.
	KindUnknown ErrorKind = iota
	// KindUnauthorized is a 401 from the Consumer API: refresh the access
	// token and retry once (Session does this by itself).
	KindUnauthorized
	// KindForbidden is a 403: the scope was not granted or the institution
	// does not allow it. Carry on with what is granted.
	KindForbidden
	// KindNotFound is a 404.
	KindNotFound
	// KindRateLimited is a 429 (and a 503 carrying Retry-After): slow down,
	// wait RetryAfter.
	KindRateLimited
	// KindTransient is a 5xx, a timeout, a connection reset or a truncated
	// body: retry later with backoff.
	KindTransient
	// KindPermanent is any other 4xx, a malformed or oversized body, or an
	// invalid request: retrying will not help.
	KindPermanent
	// KindConsentRevoked is invalid_grant from the token endpoint: the user
	// must consent again.
	KindConsentRevoked
	// KindCanceled means the caller's context was canceled.
	KindCanceled
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindUnauthorized:   "unauthorized",
	KindForbidden:      "forbidden",
	KindNotFound:       "not_found",
	KindRateLimited:    "rate_limited",
	KindTransient:      "transient",
	KindPermanent:      "permanent",
	KindConsentRevoked: "consent_revoked",
	KindCanceled:       "canceled",
}

// String returns a snake_case name suitable for logs and for a stored
// "error class" column.
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// APIError is a failed call to the institution: a non-2xx status, a
// transport failure, or a body that could not be read or decoded. It never
// holds a token or the client secret.
type APIError struct {
	// Kind classifies the error.
	Kind ErrorKind
	// StatusCode is the HTTP status, or 0 when no response was received.
	StatusCode int
	// Endpoint is the method and route template, e.g.
	// "GET /users/{userId}/accounts/{accountId}/transactions".
	Endpoint string
	// ErrorCode and Messages come from a Consumer API error body
	// ({"errorCode": 400, "messages": "..."}), when present.
	ErrorCode string
	Messages  string
	// OAuthError and OAuthDescription come from an RFC 6749 error body
	// ({"error": "invalid_grant", "error_description": "..."}).
	OAuthError       string
	OAuthDescription string
	// RetryAfter is the server's Retry-After (seconds or HTTP-date form,
	// converted to a duration), or 0.
	RetryAfter time.Duration
	// RequestID is the institution's x-request-id response header of the
	// failed response (Jack Henry's support asks for it), or "".
	RequestID string
	// Attempts is the number of HTTP attempts made for the call.
	Attempts int
	// Err is the underlying cause (transport error, decode error, one of
	// ErrTruncatedBody, ErrBodyTooLarge, ErrMalformedBody), or nil.
	Err error

	retryAfterSet bool
}

// Error renders the error without any secret.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("consumerapi: ")
	b.WriteString(e.Endpoint)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" " + t)
		}
	}
	if e.OAuthError != "" {
		b.WriteString(": " + e.OAuthError)
		if e.OAuthDescription != "" {
			b.WriteString(" (" + e.OAuthDescription + ")")
		}
	}
	if e.ErrorCode != "" {
		b.WriteString(": errorCode " + e.ErrorCode)
	}
	if e.Messages != "" {
		b.WriteString(": " + e.Messages)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		b.WriteString(" (x-request-id " + e.RequestID + ")")
	}
	fmt.Fprintf(&b, " [%s]", e.Kind)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *APIError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConsentRevoked) true for invalid_grant.
func (e *APIError) Is(target error) bool {
	return target == ErrConsentRevoked && e.Kind == KindConsentRevoked
}

// Classify returns the kind of err, looking through wrapping. Errors that
// are not *APIError are classified by cause: context cancellation,
// timeouts and connection failures, invalid queries.
func Classify(err error) ErrorKind {
	if err == nil {
		return KindUnknown
	}
	if errors.Is(err, ErrConsentRevoked) {
		return KindConsentRevoked
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return classifyCause(err)
}

// classifyCause classifies an error that did not come with an HTTP status.
func classifyCause(err error) ErrorKind {
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, ErrRequestBudget):
		return KindRateLimited
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrTruncatedBody),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return KindTransient
	case errors.Is(err, ErrInvalidQuery),
		errors.Is(err, ErrMalformedBody),
		errors.Is(err, ErrBodyTooLarge),
		errors.Is(err, ErrInvalidIDToken),
		errors.Is(err, ErrStateMismatch),
		errors.Is(err, ErrIssuerMismatch),
		errors.Is(err, ErrAccessDenied):
		return KindPermanent
	}
	var ne net.Error
	if errors.As(err, &ne) {
		// Timeouts, DNS failures, refused and reset connections: all worth
		// another try later.
		return KindTransient
	}
	return KindUnknown
}

// IsUnauthorized reports a 401 from the Consumer API.
func IsUnauthorized(err error) bool { return Classify(err) == KindUnauthorized }

// IsForbidden reports a 403 (scope not granted or not allowed).
func IsForbidden(err error) bool { return Classify(err) == KindForbidden }

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return Classify(err) == KindNotFound }

// IsRateLimited reports a 429, or a 503 that carried Retry-After.
func IsRateLimited(err error) bool { return Classify(err) == KindRateLimited }

// IsTransient reports a failure worth retrying later (5xx, timeout,
// connection reset, truncated body).
func IsTransient(err error) bool { return Classify(err) == KindTransient }

// IsPermanent reports a failure that retrying cannot fix (other 4xx,
// malformed or oversized body, invalid request).
func IsPermanent(err error) bool { return Classify(err) == KindPermanent }

// IsConsentRevoked reports invalid_grant: the user must consent again.
func IsConsentRevoked(err error) bool { return errors.Is(err, ErrConsentRevoked) }

// RetryAfter returns the server-requested delay carried by err, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// kindForStatus maps a Consumer API status to a kind.
func kindForStatus(status int, hasRetryAfter bool) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return KindUnauthorized
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusServiceUnavailable && hasRetryAfter:
		return KindRateLimited
	case status == http.StatusRequestTimeout, status >= 500:
		return KindTransient
	default:
		return KindPermanent
	}
}

// parseRetryAfter reads a Retry-After header in either form: delta-seconds
// or an HTTP-date. A date in the past yields zero (retry now).
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(365 * 24 * 3600)
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// errorBody is the union of the error bodies the institution sends: the
// Consumer API's {"errorCode", "messages"} and RFC 6749's {"error",
// "error_description"}.
type errorBody struct {
	ErrorCode        json.RawMessage `json:"errorCode"`
	Messages         json.RawMessage `json:"messages"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// fillFromBody copies what it can from an error body into e, with every
// secret r knows redacted and each text capped; a body that is not JSON is
// ignored (the status says enough) and is never kept.
func (e *APIError) fillFromBody(body []byte, r redactor) {
	var eb errorBody
	if len(body) == 0 || json.Unmarshal(body, &eb) != nil {
		return
	}
	// Redact the whole text before any cap: a cut through a secret would
	// leave a prefix the redactor no longer recognizes.
	e.ErrorCode = r.code(scalarRaw(eb.ErrorCode))
	e.Messages = r.text(messagesRaw(eb.Messages))
	e.OAuthError = r.code(eb.Error)
	e.OAuthDescription = r.text(eb.ErrorDescription)
}

// scalarText renders a JSON number or string as text.
func scalarText(raw json.RawMessage) string { return limitText(scalarRaw(raw)) }

// scalarRaw is scalarText without the length cap.
func scalarRaw(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// messagesRaw accepts "messages" as a string or an array of strings,
// uncapped (the redactor caps it).
func messagesRaw(raw json.RawMessage) string {
	if s := scalarRaw(raw); s != "" {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	return ""
}

// limitText keeps server-provided text in errors short. Text that may
// carry a secret goes through a redactor instead.
func limitText(s string) string { return capText(s, 512) }

// IsAuthFailure reports a refresh (or code exchange) the token endpoint
// refused with a non-standard authentication answer: a 400 or 401 whose
// error is neither invalid_grant (that is ErrConsentRevoked) nor a client
// configuration problem (invalid_client, unauthorized_client). Some
// providers answer an unknown refresh token with invalid_request or
// invalid_token; repeated, it means the grant is gone.
func IsAuthFailure(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Endpoint != tokenEndpoint || ae.Kind != KindPermanent {
		return false
	}
	if ae.StatusCode != http.StatusBadRequest && ae.StatusCode != http.StatusUnauthorized {
		return false
	}
	return ae.OAuthError != "invalid_client" && ae.OAuthError != "unauthorized_client"
}

// RequestIDOf returns the institution's x-request-id carried by err, or "".
func RequestIDOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RequestID
	}
	return ""
}

// OAuthErrorOf returns the OAuth error code (e.g. "invalid_grant") carried
// by err, or "".
func OAuthErrorOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.OAuthError
	}
	return ""
}
