package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStatusEventDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, e := range []struct {
		status  string
		created time.Time
		err     string
	}{
		{"pending", ago(90 * time.Minute), "post webhook: the endpoint answered 502 Bad Gateway"},
		{"pending", ago(5 * time.Minute), ""},
		{"dead", ago(3 * time.Hour), "post webhook: the endpoint answered 500 <b>Internal</b>"},
		{"delivered", ago(time.Hour), ""},
		{"delivered", ago(2 * time.Hour), ""},
		{"not_configured", ago(time.Hour), ""},
	} {
		_, err := b.pool.Exec(ctx, `INSERT INTO events (app_user_ref, type, created_at, delivery_status, last_error, delivered_at)
			VALUES ('u', 'sync.completed', $1::timestamptz, $2::event_delivery_status, nullif($3, ''), CASE WHEN $2::text = 'delivered' THEN $1::timestamptz + interval '1 minute' END)`,
			e.created, e.status, e.err)
		require.NoError(t, err)
	}
	body := b.getOK(t, "/")
	r := row(t, table(t, body, "events"), "data-events", "delivery")
	for class, want := range map[string]string{"pending": "2", "delivered": "2", "dead": "1", "not-configured": "1",
		"oldest-pending": "1h 30m", "last-delivered": "59m ago"} {
		require.Equal(t, want, cell(t, r, class), class)
	}
	// The latest failure is shown, escaped.
	require.Contains(t, body, `Last delivery error: post webhook: the endpoint answered 500 &lt;b&gt;Internal&lt;/b&gt;`)
}
