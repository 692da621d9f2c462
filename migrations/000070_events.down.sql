DROP FUNCTION IF EXISTS reporting.events_since(text, bigint, integer);
DROP VIEW IF EXISTS reporting.events;
DROP TABLE IF EXISTS events;
DROP TYPE IF EXISTS event_delivery_status;
