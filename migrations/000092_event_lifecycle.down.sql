CREATE OR REPLACE FUNCTION reporting.events_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.events
LANGUAGE sql
STABLE
AS $$
    SELECT *
    FROM reporting.events e
    WHERE e.app_user_ref = events_since.app_user_ref
      AND e.seq > coalesce(events_since.after_seq, 0)
    ORDER BY e.seq
    LIMIT greatest(1, least(coalesce(events_since.max_rows, 500), 10000))
$$;

COMMENT ON FUNCTION reporting.events_since(text, bigint, integer) IS 'One page of the events of one app user: those after the cursor after_seq, in seq order, at most max_rows (default 500, between 1 and 10000). Store the last seq returned as the next cursor; an empty page means up to date.';

DROP FUNCTION reporting.events_head(text);
DROP VIEW reporting.event_horizons;
DROP TABLE event_horizons;
