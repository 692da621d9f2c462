-- One request budget and one set of sync slots per institution for the
-- whole deployment: every worker process takes request tokens from the
-- same row and leases its concurrent-sync slots from the same table, so N
-- processes together stay within what the institution allows. A pause
-- asked for by the institution (Retry-After) is shared the same way.

CREATE TABLE institution_budgets (
    institution_slug text PRIMARY KEY REFERENCES institutions (slug) ON DELETE CASCADE ON UPDATE CASCADE,
    tokens           double precision NOT NULL CHECK (tokens >= 0),
    refilled_at      timestamptz NOT NULL DEFAULT now(),
    paused_until     timestamptz,
    pause_reason     text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE institution_budgets IS 'Deployment-wide token bucket of requests to an institution, shared by every worker process.';
COMMENT ON COLUMN institution_budgets.tokens IS 'Requests that may be sent now, as of refilled_at; refilled at the configured requests_per_second up to the bucket size.';
COMMENT ON COLUMN institution_budgets.paused_until IS 'No request is sent to the institution before this instant (set from a Retry-After or a budget 429).';

CREATE TABLE institution_sync_slots (
    institution_slug text NOT NULL REFERENCES institutions (slug) ON DELETE CASCADE ON UPDATE CASCADE,
    slot             integer NOT NULL CHECK (slot >= 1),
    lease_id         uuid,
    holder           text,
    expires_at       timestamptz,
    PRIMARY KEY (institution_slug, slot),
    CHECK ((lease_id IS NULL) = (expires_at IS NULL))
);

COMMENT ON TABLE institution_sync_slots IS 'Concurrent-sync slots of an institution (max_concurrent_syncs rows), leased by running syncs in any worker process.';
COMMENT ON COLUMN institution_sync_slots.expires_at IS 'The lease ends here unless its holder renews it; a slot of a killed process is free again after this.';
COMMENT ON COLUMN institution_sync_slots.holder IS 'Process and job that hold the lease, for operators.';
