package jobs

import (
	"context"
	"net/http"
	"sync/atomic"
)

type callCounterKey struct{}

// withCallCounter returns a context whose outgoing bank requests are
// counted into n (see CountingTransport).
func withCallCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, callCounterKey{}, n)
}

// CountingTransport counts every HTTP request (retries included) made with
// a context from withCallCounter, so each sync run records its API calls.
// Give it to consumerapi.New with consumerapi.WithTransport.
func CountingTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return countingTransport{base: base}
}

type countingTransport struct{ base http.RoundTripper }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if n, ok := r.Context().Value(callCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	return t.base.RoundTrip(r)
}
