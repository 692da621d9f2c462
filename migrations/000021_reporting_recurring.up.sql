-- Recurring payments: subscriptions, bills and regular income detected
-- from the posted history (same merchant, similar amount, regular cadence).

CREATE VIEW reporting.recurring AS
WITH tx AS (
    -- Posted, non-transfer money in or out, grouped by merchant and
    -- direction. The fence evaluates each row's transfer test once.
    SELECT t.app_user_ref, t.merchant, t.currency, t.amount < 0 AS outflow, t.posted_date,
           abs(t.amount) AS amount, t.category, t.account_id, t.account_name, t.transaction_id
    FROM reporting.transactions t
    CROSS JOIN LATERAL (SELECT t.flow OFFSET 0) f
    WHERE NOT t.pending
      AND f.flow <> 'transfer'
      AND t.amount <> 0
),
seq AS (
    SELECT tx.*,
           tx.posted_date - lag(tx.posted_date) OVER w AS gap,
           abs(tx.amount - lag(tx.amount) OVER w) <= 0.2 * lag(tx.amount) OVER w AS similar_to_previous,
           row_number() OVER (PARTITION BY tx.app_user_ref, tx.merchant, tx.currency, tx.outflow
                              ORDER BY tx.posted_date DESC, tx.transaction_id DESC) AS recency
    FROM tx
    WINDOW w AS (PARTITION BY tx.app_user_ref, tx.merchant, tx.currency, tx.outflow ORDER BY tx.posted_date, tx.transaction_id)
),
series AS (
    SELECT seq.app_user_ref, seq.merchant, seq.currency, seq.outflow,
           count(*) AS occurrences,
           count(seq.gap) AS gaps,
           count(*) FILTER (WHERE seq.similar_to_previous) AS similar_gaps,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY seq.gap) AS median_gap,
           count(*) FILTER (WHERE seq.gap BETWEEN 5 AND 9) AS weekly_gaps,
           count(*) FILTER (WHERE seq.gap BETWEEN 12 AND 16) AS biweekly_gaps,
           count(*) FILTER (WHERE seq.gap BETWEEN 26 AND 35) AS monthly_gaps,
           count(*) FILTER (WHERE seq.gap BETWEEN 80 AND 100) AS quarterly_gaps,
           count(*) FILTER (WHERE seq.gap BETWEEN 350 AND 380) AS annual_gaps,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY seq.amount) FILTER (WHERE seq.recency <= 3) AS typical_amount,
           min(seq.posted_date) AS first_date,
           max(seq.posted_date) AS last_date,
           max(seq.amount) FILTER (WHERE seq.recency = 1) AS last_amount,
           max(seq.category) FILTER (WHERE seq.recency = 1) AS category,
           (array_agg(seq.account_id) FILTER (WHERE seq.recency = 1))[1] AS account_id,
           max(seq.account_name) FILTER (WHERE seq.recency = 1) AS account_name
    FROM seq
    GROUP BY seq.app_user_ref, seq.merchant, seq.currency, seq.outflow
    HAVING count(*) >= 2
),
detected AS (
    SELECT s.*, c.cadence, c.step, c.grace,
           CASE c.cadence
               WHEN 'weekly' THEN s.weekly_gaps
               WHEN 'biweekly' THEN s.biweekly_gaps
               WHEN 'monthly' THEN s.monthly_gaps
               WHEN 'quarterly' THEN s.quarterly_gaps
               ELSE s.annual_gaps
           END AS regular_gaps
    FROM series s
    JOIN (VALUES
        ('weekly', 5, 9, interval '7 days', 3, 4),
        ('biweekly', 12, 16, interval '14 days', 4, 3),
        ('monthly', 26, 35, interval '1 month', 7, 3),
        ('quarterly', 80, 100, interval '3 months', 15, 3),
        ('annual', 350, 380, interval '1 year', 30, 2)
    ) AS c (cadence, lo, hi, step, grace, min_occurrences)
      ON s.median_gap BETWEEN c.lo AND c.hi AND s.occurrences >= c.min_occurrences
)
SELECT
    d.app_user_ref,
    d.merchant,
    d.category,
    d.currency,
    CASE WHEN d.outflow THEN 'outflow' ELSE 'inflow' END AS direction,
    d.cadence,
    d.median_gap AS interval_days,
    d.typical_amount,
    d.last_amount,
    d.occurrences,
    d.first_date,
    d.last_date,
    x.active,
    CASE WHEN x.active THEN x.next_date END AS next_expected_date,
    d.account_id,
    d.account_name
FROM detected d
CROSS JOIN LATERAL (
    SELECT (d.last_date + d.step)::date AS next_date,
           (now() AT TIME ZONE 'UTC')::date <= (d.last_date + d.step)::date + d.grace AS active
) x
-- Regular: at least three gaps in four at the cadence, and at least three
-- amounts in four within 20% of the one before (a slow price drift passes,
-- random amounts do not).
WHERE d.regular_gaps * 4 >= d.gaps * 3
  AND d.similar_gaps * 4 >= d.gaps * 3;

COMMENT ON VIEW reporting.recurring IS 'Recurring payments and income detected from posted, non-transfer transactions: per app user, merchant and direction, a series with a regular cadence (weekly, biweekly, monthly, quarterly, annual: at least 3 gaps in 4 at the cadence) and similar amounts (at least 3 in 4 within 20% of the previous one). Pending transactions and own-account transfers are left out.';
COMMENT ON COLUMN reporting.recurring.direction IS 'outflow (a subscription or bill) or inflow (a paycheck, a regular deposit).';
COMMENT ON COLUMN reporting.recurring.cadence IS 'weekly (5-9 days between charges), biweekly (12-16), monthly (26-35), quarterly (80-100) or annual (350-380); the median gap decides.';
COMMENT ON COLUMN reporting.recurring.interval_days IS 'Median number of days between two occurrences.';
COMMENT ON COLUMN reporting.recurring.typical_amount IS 'Median of the last three amounts, positive (follows a price change).';
COMMENT ON COLUMN reporting.recurring.last_amount IS 'The latest amount, positive.';
COMMENT ON COLUMN reporting.recurring.occurrences IS 'Posted transactions in the series.';
COMMENT ON COLUMN reporting.recurring.active IS 'The next occurrence is not overdue by more than a grace period (3 days weekly, 4 biweekly, 7 monthly, 15 quarterly, 30 annual): a cancelled subscription turns inactive.';
COMMENT ON COLUMN reporting.recurring.next_expected_date IS 'last_date plus one cadence step; NULL once the series is no longer active.';
COMMENT ON COLUMN reporting.recurring.account_id IS 'The account of the latest occurrence.';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
        GRANT SELECT ON reporting.recurring TO pfm_reader;
    END IF;
END
$$;
