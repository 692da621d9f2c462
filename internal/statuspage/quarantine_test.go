package statuspage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/store"
)

// A link's page shows its own unresolved quarantined records: how many,
// each one's reason and sightings, never their raw JSON, and never
// another link's records.
func TestStatusLinkQuarantine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.insertFixture(t)
	ctx := context.Background()
	account := func(link, provider string) string {
		var id string
		require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO accounts (link_id, provider_account_id, account_type, raw)
			VALUES ($1, $2, 'Deposit', '{}') RETURNING id`, b.links[link], provider).Scan(&id))
		return id
	}
	g1, g2 := account("g1", "acct-g1"), account("g2", "acct-g2")
	const g1Secret, g2Secret = "MEMO-OF-ALICE-7f3a", "MEMO-OF-BOB-91c2"
	require.NoError(t, b.store.Quarantine(ctx, b.links["g1"], g1, []store.QuarantinedRecord{
		{ProviderID: "tx-nan", Reason: `amount "NaN" is not a decimal`, Raw: `{"id":"tx-nan","amount":"NaN","memo":"` + g1Secret + `"}`},
		{Reason: "record without an id", Raw: `{"amount":"1.00","memo":"` + g1Secret + `"}`},
	}, ago(3*time.Hour)))
	// Seen again an hour ago: the last sighting moves, the first stays.
	require.NoError(t, b.store.Quarantine(ctx, b.links["g1"], g1, []store.QuarantinedRecord{
		{ProviderID: "tx-nan", Reason: `amount "NaN" is not a decimal`, Raw: `{"id":"tx-nan","amount":"NaN","memo":"` + g1Secret + `"}`},
	}, ago(time.Hour)))
	require.NoError(t, b.store.Quarantine(ctx, b.links["g2"], g2, []store.QuarantinedRecord{
		{ProviderID: "tx-bob", Reason: "bob's own reason", Raw: `{"id":"tx-bob","memo":"` + g2Secret + `"}`},
	}, ago(time.Hour)))
	// A resolved record is not shown.
	require.NoError(t, b.store.Quarantine(ctx, b.links["g1"], g1, []store.QuarantinedRecord{
		{ProviderID: "tx-fixed", Reason: "was broken once", Raw: `{"id":"tx-fixed"}`},
	}, ago(2*time.Hour)))
	_, err := b.store.ResolveQuarantine(ctx, g1, []string{"tx-fixed"}, ago(30*time.Minute))
	require.NoError(t, err)

	body := b.getOK(t, "/links/"+b.links["g1"])
	require.Contains(t, body, `<dd id="link-quarantined">2</dd>`)
	q := table(t, body, "link-quarantine")
	require.Equal(t, 2, strings.Count(q, "<tr data-quarantine-id="))
	nan := q[strings.Index(q, "tx-nan"):]
	nan = nan[:strings.Index(nan, "</tr>")]
	require.Contains(t, nan, `amount &#34;NaN&#34; is not a decimal`)
	require.Contains(t, nan, `<td class="num times-seen">2</td>`)
	require.Contains(t, between(t, nan, `<td class="first-seen">`, "</td>"), ago(3*time.Hour).Format("2006-01-02"))
	require.Contains(t, between(t, nan, `<td class="first-seen">`, "</td>"), "3h ago")
	require.Contains(t, between(t, nan, `<td class="last-seen">`, "</td>"), "1h ago")
	require.Contains(t, q, `<span class="none">no id</span>`)
	require.Contains(t, q, "record without an id")
	require.NotContains(t, body, "was broken once", "resolved records are not listed")
	require.NotContains(t, body, g1Secret, "the raw JSON is never shown")
	require.NotContains(t, body, g2Secret)
	require.NotContains(t, body, "bob&#39;s own reason", "another link's records are not shown")

	body = b.getOK(t, "/links/"+b.links["g2"])
	require.Contains(t, body, `<dd id="link-quarantined">1</dd>`)
	require.Contains(t, table(t, body, "link-quarantine"), "tx-bob")
	require.NotContains(t, body, g2Secret)

	body = b.getOK(t, "/links/"+b.links["r1"])
	require.Contains(t, body, `<dd id="link-quarantined">0</dd>`)
	require.NotContains(t, body, `id="link-quarantine"`)
}
