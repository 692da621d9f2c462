package store_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/testdb"
)

// TestReportingRecurring detects hand-made series: monthly, biweekly and
// annual ones, a bill whose amount drifts, a cancelled subscription, and
// noise that must not be detected.
func TestReportingRecurring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	var inst int64
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO institutions (slug, display_name, issuer_url, api_base_url, client_id)
		VALUES ('garden', 'Garden Financial', 'https://garden.example/oidc', 'https://garden.example/api', 'c')
		RETURNING id`).Scan(&inst))
	account := func(user, name string) string {
		var link, id string
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO links (institution_id, app_user_ref, banno_user_id) VALUES ($1, $2, $3) RETURNING id`,
			inst, user, "b-"+user+name).Scan(&link))
		require.NoError(t, pool.QueryRow(ctx, `
			INSERT INTO accounts (link_id, provider_account_id, name, account_type, balance, raw)
			VALUES ($1, $2, $2, 'Deposit', '0', '{}') RETURNING id`, link, name).Scan(&id))
		return id
	}
	chk := account("r1", "Checking")
	other := account("r2", "Checking")

	today := time.Now().UTC().Truncate(24 * time.Hour)
	n := 0
	add := func(acct, merchant, category string, day time.Time, amount string) {
		n++
		_, err := pool.Exec(ctx, `
			INSERT INTO transactions (account_id, provider_transaction_id, amount, signed_amount, posted_at, pending,
			                          merchant_name, category, type, raw)
			VALUES ($1, $2, $3::numeric, $3::numeric, $4, false, $5, $6, 'POS', '{}')`,
			acct, fmt.Sprint("t", n), amount, day.Add(14*time.Hour), merchant, category)
		require.NoError(t, err)
	}
	monthly := func(last time.Time, count int) []time.Time {
		var out []time.Time
		for i := count - 1; i >= 0; i-- {
			out = append(out, last.AddDate(0, -i, 0))
		}
		return out
	}
	every := func(last time.Time, count, step int) []time.Time {
		var out []time.Time
		for i := count - 1; i >= 0; i-- {
			out = append(out, last.AddDate(0, 0, -i*step))
		}
		return out
	}
	medianGap := func(days []time.Time) int {
		var gaps []int
		for i := 1; i < len(days); i++ {
			gaps = append(gaps, int(days[i].Sub(days[i-1]).Hours()/24))
		}
		sort.Ints(gaps)
		return gaps[(len(gaps)+1)/2-1] // percentile_disc(0.5)
	}

	stream := monthly(today.AddDate(0, 0, -10), 6)
	// A price change from 15.49 to 17.99 (16%) does not break the series,
	// and the typical amount follows it.
	for i, d := range stream {
		add(chk, "Streamflix", "entertainment", d, []string{"-15.49", "-15.49", "-15.49", "-17.99", "-17.99", "-17.99"}[i])
	}

	power := monthly(today.AddDate(0, 0, -3), 6)
	for i, d := range power {
		add(chk, "City Power", "utilities", d, []string{"-60.00", "-64.00", "-69.50", "-73.00", "-78.25", "-84.00"}[i])
	}
	pay := every(today.AddDate(0, 0, -2), 8, 14)
	for _, d := range pay {
		add(chk, "Acme Payroll", "income", d, "2000.00")
	}
	// Two amounts: the typical one is the lower middle value.
	gym := []time.Time{today.AddDate(0, 0, -400), today.AddDate(0, 0, -35)}
	add(chk, "Iron Gym", "health", gym[0], "-120.00")
	add(chk, "Iron Gym", "health", gym[1], "-129.00")
	music := monthly(today.AddDate(0, 0, -120), 5)
	for _, d := range music {
		add(chk, "MusicBox", "entertainment", d, "-9.99")
	}
	// Noise: irregular visits with varied amounts; a monthly rhythm with
	// random amounts; two purchases only.
	d := today.AddDate(0, 0, -60)
	for i, gap := range []int{3, 11, 5, 20, 2, 9, 1} {
		d = d.AddDate(0, 0, gap)
		add(chk, "Fresh Market", "groceries", d, []string{"-45.12", "-12.30", "-88.00", "-23.45", "-150.20", "-9.99", "-60.00"}[i])
	}
	for i, day := range monthly(today.AddDate(0, 0, -5), 4) {
		add(chk, "Corner Cafe", "diningout", day, []string{"-5.00", "-42.00", "-13.00", "-77.00"}[i])
	}
	add(chk, "Bike Shop", "personal", today.AddDate(0, 0, -50), "-300.00")
	add(chk, "Bike Shop", "personal", today.AddDate(0, 0, -20), "-300.00")
	// Another app user's subscription never shows in r1's.
	for _, day := range monthly(today.AddDate(0, 0, -1), 4) {
		add(other, "Streamflix", "entertainment", day, "-15.49")
	}

	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	got := rowsText(t, pool, `
		SELECT merchant, category, direction, cadence, interval_days::text, typical_amount::text, last_amount::text,
		       occurrences::text, first_date::text, last_date::text, active, coalesce(next_expected_date::text, 'NULL'), account_name
		FROM reporting.recurring WHERE app_user_ref = 'r1' ORDER BY merchant`)
	require.Equal(t, [][]string{
		{"Acme Payroll", "income", "inflow", "biweekly", "14", "2000.00", "2000.00", "8", date(pay[0]), date(pay[7]), "true", date(pay[7].AddDate(0, 0, 14)), "Checking"},
		{"City Power", "utilities", "outflow", "monthly", fmt.Sprint(medianGap(power)), "78.25", "84.00", "6", date(power[0]), date(power[5]), "true", date(power[5].AddDate(0, 1, 0)), "Checking"},
		{"Iron Gym", "health", "outflow", "annual", "365", "120.00", "129.00", "2", date(gym[0]), date(gym[1]), "true", date(gym[1].AddDate(1, 0, 0)), "Checking"},
		{"MusicBox", "entertainment", "outflow", "monthly", fmt.Sprint(medianGap(music)), "9.99", "9.99", "5", date(music[0]), date(music[4]), "false", "NULL", "Checking"},
		{"Streamflix", "entertainment", "outflow", "monthly", fmt.Sprint(medianGap(stream)), "17.99", "17.99", "6", date(stream[0]), date(stream[5]), "true", date(stream[5].AddDate(0, 1, 0)), "Checking"},
	}, got)
}
