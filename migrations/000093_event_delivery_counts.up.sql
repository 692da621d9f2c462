-- Webhook delivery figures without counting the whole events table
-- (docs/events.md): counts per delivery status kept by statement triggers,
-- and small indexes for the undelivered events (the sweeper, the oldest
-- pending event, the last error) and the latest delivery.

-- Undelivered events (pending or dead) are few: the sweeper, the oldest
-- pending event and the last delivery error read them through this index.
CREATE INDEX events_undelivered_idx ON events (seq) WHERE delivery_status IN ('pending', 'dead');
CREATE INDEX events_delivered_at_idx ON events (delivered_at) WHERE delivered_at IS NOT NULL;

-- Delivery counts: each statement that writes events appends its net
-- change per status; the scheduler pass folds the rows into one per
-- status. Appending (not updating one row) keeps writers from queuing on a
-- hot row.
CREATE TABLE event_delivery_counts (
    id bigserial PRIMARY KEY,
    delivery_status event_delivery_status NOT NULL,
    n bigint NOT NULL
);

COMMENT ON TABLE event_delivery_counts IS 'Events per delivery status, as deltas appended by triggers on events: sum(n) per status is the count. The scheduler pass folds the rows.';

CREATE FUNCTION events_count_deliveries() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_delivery_counts (delivery_status, n)
        SELECT delivery_status, count(*) FROM new_rows GROUP BY 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO event_delivery_counts (delivery_status, n)
        SELECT delivery_status, -count(*) FROM old_rows GROUP BY 1;
    ELSE
        INSERT INTO event_delivery_counts (delivery_status, n)
        SELECT s, sum(d) FROM (
            SELECT delivery_status AS s, -1 AS d FROM old_rows
            UNION ALL
            SELECT delivery_status, 1 FROM new_rows) c
        GROUP BY s HAVING sum(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION events_count_deliveries() IS 'Appends the net change of a statement on events to event_delivery_counts.';

CREATE TRIGGER events_count_inserts AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_count_deliveries();
CREATE TRIGGER events_count_updates AFTER UPDATE ON events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_count_deliveries();
CREATE TRIGGER events_count_deletes AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_count_deliveries();

-- The triggers hold off writers until this transaction commits, so the
-- starting counts are exact.
INSERT INTO event_delivery_counts (delivery_status, n)
SELECT delivery_status, count(*) FROM events GROUP BY 1;
