package consumerapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const accountsRoute = "GET /users/{userId}/accounts"

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    func(t *testing.T, w http.ResponseWriter, r *http.Request)
		modify     func(*Institution)
		kind       ErrorKind
		status     int
		attempts   int // requests the bank receives
		cause      error
		retryAfter time.Duration // approximate, ±2s
		check      func(t *testing.T, e *APIError)
	}{
		{
			name: "400 permanent with Banno error body",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeFixture(t, w, http.StatusBadRequest, "error_fetch_400.json")
			},
			kind: KindPermanent, status: 400, attempts: 1,
			check: func(t *testing.T, e *APIError) {
				require.Equal(t, "400", e.ErrorCode)
				require.Equal(t, "User is not fully authenticated", e.Messages)
			},
		},
		{
			name: "401 unauthorized, not renewable",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
			},
			kind: KindUnauthorized, status: 401, attempts: 1,
		},
		{
			name: "403 forbidden with messages array",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeFixture(t, w, http.StatusForbidden, "error_forbidden.json")
			},
			kind: KindForbidden, status: 403, attempts: 1,
			check: func(t *testing.T, e *APIError) {
				require.Equal(t, "403", e.ErrorCode)
				require.Contains(t, e.Messages, "Missing required scope")
			},
		},
		{
			name: "404 not found with non-JSON body",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				http.Error(w, "<html>nope</html>", http.StatusNotFound)
			},
			kind: KindNotFound, status: 404, attempts: 1,
		},
		{
			name: "429 Retry-After seconds beyond the cap is returned at once",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			kind: KindRateLimited, status: 429, attempts: 1, retryAfter: 120 * time.Second,
		},
		{
			name: "429 Retry-After HTTP-date beyond the cap",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", time.Now().Add(91*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
			},
			kind: KindRateLimited, status: 429, attempts: 1, retryAfter: 90 * time.Second,
		},
		{
			name: "429 within the cap is retried until attempts run out",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			kind: KindRateLimited, status: 429, attempts: 3, retryAfter: time.Second,
		},
		{
			name: "503 with Retry-After is rate limiting",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			kind: KindRateLimited, status: 503, attempts: 1, retryAfter: time.Hour,
		},
		{
			name: "503 without Retry-After is transient and retried",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			kind: KindTransient, status: 503, attempts: 3,
		},
		{
			name: "500 retried then given up",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
			},
			kind: KindTransient, status: 500, attempts: 3,
		},
		{
			name: "malformed JSON is permanent, not retried",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, []byte(`{"accounts": [{"id": "a", "balance": 12.3.4}]}`))
			},
			kind: KindPermanent, status: 200, attempts: 1, cause: ErrMalformedBody,
		},
		{
			name: "amount with exponent is malformed",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, []byte(`{"accounts": [{"id": "a", "balance": "1e3"}]}`))
			},
			kind: KindPermanent, status: 200, attempts: 1, cause: ErrInvalidDecimal,
		},
		{
			name: "account without id is malformed",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, []byte(`{"accounts": [{"name": "x"}]}`))
			},
			kind: KindPermanent, status: 200, attempts: 1, cause: ErrMalformedBody,
		},
		{
			name: "null body is malformed",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, []byte(`null`))
			},
			kind: KindPermanent, status: 200, attempts: 1, cause: ErrMalformedBody,
		},
		{
			name: "JSON cut short is truncated and retried",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, []byte(`{"accounts": [{"id": "a", "bal`))
			},
			kind: KindTransient, status: 200, attempts: 3, cause: ErrTruncatedBody,
		},
		{
			// The decoder stops on the last byte, as it does on a body cut
			// short, but no body cut short ends on an invalid byte.
			name: "JSON with an invalid last byte is malformed, not retried",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, []byte(`{"accounts": []}x`))
			},
			kind: KindPermanent, status: 200, attempts: 1, cause: ErrMalformedBody,
		},
		{
			name: "Content-Length larger than the body",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				hijackWrite(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"+`{"accounts": [`)
			},
			kind: KindTransient, status: 200, attempts: 3, cause: ErrTruncatedBody,
		},
		{
			name: "connection closed mid chunked body",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				hijackWrite(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"accounts\": [{\"")
			},
			kind: KindTransient, status: 200, attempts: 3, cause: ErrTruncatedBody,
		},
		{
			name: "connection closed before any response",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				hijackWrite(t, w, "")
			},
			kind: KindTransient, status: 0, attempts: 3,
		},
		{
			name: "oversized body by Content-Length",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				writeFixture(t, w, http.StatusOK, "accounts.json")
			},
			modify: func(i *Institution) { i.MaxBodyBytes = 1024 },
			kind:   KindPermanent, status: 200, attempts: 1, cause: ErrBodyTooLarge,
		},
		{
			name: "oversized chunked body",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(fixture(t, "accounts.json"))
			},
			modify: func(i *Institution) { i.MaxBodyBytes = 1024 },
			kind:   KindPermanent, status: 200, attempts: 1, cause: ErrBodyTooLarge,
		},
		{
			name: "timeout is transient",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
			},
			modify: func(i *Institution) {
				i.HTTPTimeout = 50 * time.Millisecond
				i.Retry.MaxAttempts = 2
			},
			kind: KindTransient, status: 0, attempts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) { tt.handler(t, w, r) })
			var mods []func(*Institution)
			if tt.modify != nil {
				mods = append(mods, tt.modify)
			}
			c := bank.newClient(t, mods...)

			list, err := c.Session(testUserID, StaticToken(testAccess)).Accounts(context.Background())
			require.Error(t, err)
			require.Nil(t, list)
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.kind, ae.Kind, "kind %s: %v", ae.Kind, err)
			require.Equal(t, tt.kind, Classify(err))
			require.Equal(t, tt.status, ae.StatusCode)
			require.Equal(t, accountsRoute, ae.Endpoint)
			require.Equal(t, tt.attempts, bank.hitCount(accountsRoute), "requests made")
			require.Equal(t, tt.attempts, ae.Attempts)
			if tt.cause != nil {
				require.ErrorIs(t, err, tt.cause)
			}
			if tt.retryAfter > 0 {
				got, ok := RetryAfter(err)
				require.True(t, ok)
				require.InDelta(t, tt.retryAfter.Seconds(), got.Seconds(), 2)
			}
			if tt.check != nil {
				tt.check(t, ae)
			}
			require.NotContains(t, err.Error(), testAccess.Reveal())
			require.NotContains(t, err.Error(), testUserID, "errors name the route template, not the URL")
			require.NotContains(t, c.logs.String(), testAccess.Reveal())
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failures  []func(w http.ResponseWriter)
		wantDelay []time.Duration // exact for Retry-After, 0 = backoff (checked by range)
	}{
		{
			name: "500 then 500 then success",
			failures: []func(w http.ResponseWriter){
				func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) },
				func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			},
			wantDelay: []time.Duration{0, 0},
		},
		{
			name: "429 Retry-After seconds then success",
			failures: []func(w http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "2")
					w.WriteHeader(http.StatusTooManyRequests)
				},
			},
			wantDelay: []time.Duration{2 * time.Second},
		},
		{
			name: "503 Retry-After in the past then success",
			failures: []func(w http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")
					w.WriteHeader(http.StatusServiceUnavailable)
				},
			},
			wantDelay: []time.Duration{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bank := newFakeBank(t)
			var n int
			bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
				if n < len(tt.failures) {
					n++
					tt.failures[n-1](w)
					return
				}
				writeFixture(t, w, http.StatusOK, "accounts.json")
			})
			c := bank.newClient(t)
			list, err := c.Session(testUserID, StaticToken(testAccess)).Accounts(context.Background())
			require.NoError(t, err)
			require.Len(t, list.Accounts, 4)
			delays := c.delays()
			require.Len(t, delays, len(tt.wantDelay))
			for i, want := range tt.wantDelay {
				if want == 0 && tt.failures != nil && strings.Contains(tt.name, "500") {
					// Jittered backoff: between half and all of base<<i, capped.
					base := time.Millisecond << i
					require.GreaterOrEqual(t, delays[i], base/2)
					require.LessOrEqual(t, delays[i], 5*time.Millisecond)
					continue
				}
				require.Equal(t, want, delays[i])
			}
			require.Contains(t, c.logs.String(), "retrying")
		})
	}
}

func TestUnauthorizedRenewsOnce(t *testing.T) {
	t.Parallel()
	t.Run("renewed token succeeds", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer fresh-token" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			writeFixture(t, w, http.StatusOK, "accounts.json")
		})
		c := bank.newClient(t)
		ts := &countingSource{token: "stale-token", renewed: "fresh-token"}
		list, err := c.Session(testUserID, ts).Accounts(context.Background())
		require.NoError(t, err)
		require.Len(t, list.Accounts, 4)
		require.Equal(t, 1, ts.renewals)
		require.Equal(t, Secret("stale-token"), ts.rejected)
		require.Equal(t, 2, bank.hitCount(accountsRoute))
	})
	t.Run("second 401 is returned", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})
		c := bank.newClient(t)
		ts := &countingSource{token: "stale-token", renewed: "also-rejected"}
		_, err := c.Session(testUserID, ts).Accounts(context.Background())
		require.True(t, IsUnauthorized(err))
		require.Equal(t, 1, ts.renewals, "renewed once only")
		require.Equal(t, 2, bank.hitCount(accountsRoute))
	})
	t.Run("renewal failure is returned", func(t *testing.T) {
		t.Parallel()
		bank := newFakeBank(t)
		bank.handle(accountsRoute, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})
		c := bank.newClient(t)
		ts := &countingSource{token: "stale-token", renewErr: fmt.Errorf("refresh: %w", ErrConsentRevoked)}
		_, err := c.Session(testUserID, ts).Accounts(context.Background())
		require.ErrorIs(t, err, ErrConsentRevoked)
		require.Equal(t, KindConsentRevoked, Classify(err))
		require.Equal(t, 1, bank.hitCount(accountsRoute))
	})
}

// countingSource is a TokenSource that records renewals.
type countingSource struct {
	token, renewed Secret
	renewErr       error
	renewals       int
	rejected       Secret
}

func (s *countingSource) AccessToken(context.Context) (Secret, error) { return s.token, nil }

func (s *countingSource) RenewAccessToken(_ context.Context, rejected Secret) (Secret, error) {
	s.renewals++
	s.rejected = rejected
	if s.renewErr != nil {
		return "", s.renewErr
	}
	s.token = s.renewed
	return s.renewed, nil
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Fri, 20 Nov 2026 12:01:30 GMT", 90 * time.Second, true},
		{"Friday, 20-Nov-26 12:00:10 GMT", 10 * time.Second, true},
		{"Fri Nov 20 12:00:05 2026", 5 * time.Second, true},
		{"Thu, 19 Nov 2026 12:00:00 GMT", 0, true},
		{"99999999999999", 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		require.Equal(t, tt.ok, ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestClassifyCauses(t *testing.T) {
	t.Parallel()
	require.Equal(t, KindCanceled, Classify(fmt.Errorf("x: %w", context.Canceled)))
	require.Equal(t, KindTransient, Classify(context.DeadlineExceeded))
	require.Equal(t, KindPermanent, Classify(ErrSinceWithUpdatedSince))
	require.Equal(t, KindUnknown, Classify(errors.New("something")))
	require.Equal(t, KindUnknown, Classify(nil))
	require.Equal(t, "rate_limited", KindRateLimited.String())
	_, ok := RetryAfter(errors.New("x"))
	require.False(t, ok)
}
