-- The events outbox's retention (docs/events.md): a per-app-user horizon
-- that retention moves, so a reporting.events_since cursor older than the
-- deleted events fails with SQLSTATE PF001 instead of skipping them, and a
-- head function to resume from.

CREATE TABLE event_horizons (
    app_user_ref text PRIMARY KEY,
    horizon_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE event_horizons IS 'Per app user, the highest events seq deleted by retention: a reporting.events_since cursor below it has missed events.';

CREATE VIEW reporting.event_horizons AS
SELECT app_user_ref, horizon_seq, updated_at FROM event_horizons;

COMMENT ON VIEW reporting.event_horizons IS 'Per app user, the events horizon: events up to horizon_seq may have been deleted. reporting.events_since refuses a cursor below it.';

CREATE FUNCTION reporting.events_head(app_user_ref text)
RETURNS bigint
LANGUAGE sql
STABLE
AS $$
    SELECT greatest(
        (SELECT max(e.seq) FROM reporting.events e WHERE e.app_user_ref = events_head.app_user_ref),
        (SELECT h.horizon_seq FROM reporting.event_horizons h WHERE h.app_user_ref = events_head.app_user_ref),
        0)
$$;

COMMENT ON FUNCTION reporting.events_head(text) IS 'The latest seq of an app user''s events (0 when none): the cursor to resume from after the cursor fell behind the horizon, or to start from now.';

REVOKE ALL ON FUNCTION reporting.events_head(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION reporting.events_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
RETURNS SETOF reporting.events
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    horizon bigint;
BEGIN
    SELECT h.horizon_seq INTO horizon
    FROM reporting.event_horizons h
    WHERE h.app_user_ref = events_since.app_user_ref;
    IF horizon IS NOT NULL AND coalesce(after_seq, 0) < horizon THEN
        RAISE EXCEPTION 'events cursor % is older than the horizon %: events up to % were deleted', coalesce(after_seq, 0), horizon, horizon
            USING ERRCODE = 'PF001',
                  HINT = 'Events older than the retention (PFMSYNC_RETENTION_EVENT_DAYS) are gone: refresh this app user''s state from the reporting views and resume from reporting.events_head(app_user_ref), read before the refresh.';
    END IF;
    RETURN QUERY
    SELECT *
    FROM reporting.events e
    WHERE e.app_user_ref = events_since.app_user_ref
      AND e.seq > coalesce(events_since.after_seq, 0)
    ORDER BY e.seq
    LIMIT greatest(1, least(coalesce(events_since.max_rows, 500), 10000));
END
$$;

COMMENT ON FUNCTION reporting.events_since(text, bigint, integer) IS 'One page of the events of one app user: those after the cursor after_seq, in seq order, at most max_rows (default 500, between 1 and 10000). Store the last seq returned as the next cursor; an empty page means up to date. A cursor below the app user''s horizon (reporting.event_horizons) fails with SQLSTATE PF001: resume from reporting.events_head.';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
        GRANT SELECT ON reporting.event_horizons TO pfm_reader;
        GRANT EXECUTE ON FUNCTION reporting.events_head(text) TO pfm_reader;
    END IF;
END
$$;
