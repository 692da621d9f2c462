DROP TRIGGER events_count_deletes ON events;
DROP TRIGGER events_count_updates ON events;
DROP TRIGGER events_count_inserts ON events;
DROP FUNCTION events_count_deliveries();
DROP TABLE event_delivery_counts;
DROP INDEX events_delivered_at_idx;
DROP INDEX events_undelivered_idx;
