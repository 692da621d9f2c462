-- The events outbox: what pfmsync tells the app (docs/events.md). A row is
-- written in the same transaction as the change it reports, so an event is
-- never lost and never sent for a change that rolled back. Webhook delivery
-- state lives on the row; the row itself is the history behind
-- reporting.events_since and the pfmsync_events NOTIFY channel.

CREATE TYPE event_delivery_status AS ENUM ('pending', 'delivered', 'dead', 'not_configured');

CREATE TABLE events (
    seq             bigserial PRIMARY KEY,
    id              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    app_user_ref    text NOT NULL,
    -- No foreign key: the events of a purged link outlive it until the app
    -- user is erased or retention removes them.
    link_id         uuid,
    type            text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivery_status event_delivery_status NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz,
    delivered_at    timestamptz
);

CREATE INDEX events_user_idx ON events (app_user_ref, seq);
CREATE INDEX events_pending_link_idx ON events (link_id, seq) WHERE delivery_status = 'pending';
CREATE INDEX events_created_idx ON events (created_at);

COMMENT ON TABLE events IS 'Outbox of events for the app (docs/events.md), written in the transaction of the change they report; seq is in commit order per app user (writers serialize per app user).';
COMMENT ON COLUMN events.id IS 'Idempotency id: the same on every delivery attempt and in every channel.';
COMMENT ON COLUMN events.delivery_status IS 'Webhook delivery: pending (queued or retrying), delivered (a 2xx answer), dead (attempts exhausted), not_configured (no endpoint when written).';

CREATE VIEW reporting.events AS
SELECT e.seq, e.id AS event_id, e.app_user_ref, e.link_id, e.type, e.payload, e.created_at
FROM events e;

COMMENT ON VIEW reporting.events IS 'Events pfmsync reported for the app (docs/events.md), the same as its webhooks and NOTIFY channel carry. seq is in commit order per app user: keep one cursor per app user and read with reporting.events_since.';

CREATE FUNCTION reporting.events_since(app_user_ref text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 500)
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

REVOKE ALL ON FUNCTION reporting.events_since(text, bigint, integer) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pfm_reader') THEN
        GRANT SELECT ON reporting.events TO pfm_reader;
        GRANT EXECUTE ON FUNCTION reporting.events_since(text, bigint, integer) TO pfm_reader;
    END IF;
END
$$;
