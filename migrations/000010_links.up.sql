-- Links (one consent each), their sealed refresh tokens, and one-time
-- consent requests.

CREATE TYPE link_status AS ENUM ('active', 'reauth_required', 'revoked', 'disabled');

COMMENT ON TYPE link_status IS 'active: synced on schedule. reauth_required: the bank refused the refresh token (invalid_grant); the user must consent again. revoked: the user or the app unlinked it. disabled: an operator stopped syncing it.';

CREATE TABLE links (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    institution_id       bigint NOT NULL REFERENCES institutions (id),
    app_user_ref         text NOT NULL CHECK (app_user_ref <> '' AND length(app_user_ref) <= 200),
    banno_user_id        text NOT NULL CHECK (banno_user_id <> ''),
    status               link_status NOT NULL DEFAULT 'active',
    granted_scopes       text[] NOT NULL DEFAULT '{}',
    missing_scopes       text[] NOT NULL DEFAULT '{}',
    sync_interval        interval NOT NULL DEFAULT '6 hours' CHECK (sync_interval >= '1 minute'),
    next_sync_at         timestamptz,
    last_attempt_at      timestamptz,
    last_success_at      timestamptz,
    last_error_class     text,
    last_error           text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    consented_at         timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (institution_id, banno_user_id, app_user_ref)
);

CREATE INDEX links_due_idx ON links (next_sync_at) WHERE status = 'active';
CREATE INDEX links_app_user_idx ON links (app_user_ref);

COMMENT ON TABLE links IS 'One consent: a PFM app user connected to their Banno user at one institution. Re-consent updates the row, never duplicates it.';
COMMENT ON COLUMN links.app_user_ref IS 'The PFM app''s own reference for its user (opaque to pfmsync).';
COMMENT ON COLUMN links.banno_user_id IS 'The Banno user id (the ID token''s sub), used in every Consumer API path.';
COMMENT ON COLUMN links.granted_scopes IS 'Scopes the user granted at consent (the token response''s scope).';
COMMENT ON COLUMN links.missing_scopes IS 'Scopes pfmsync asked for but cannot use: not granted, or refused with 403 during a sync. Data behind them is not synced.';
COMMENT ON COLUMN links.next_sync_at IS 'When the scheduler next queues a sync; NULL while the link is not active.';
COMMENT ON COLUMN links.last_error_class IS 'Class of the last failure: rate_limited, transient, permanent, consent_revoked, forbidden, ...';

CREATE TABLE link_tokens (
    link_id    uuid PRIMARY KEY REFERENCES links (id) ON DELETE CASCADE,
    sealed     bytea NOT NULL,
    key_id     text NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE link_tokens IS 'Each link''s refresh token, sealed (envelope encryption bound to the link id). Kept apart from links so that reporting roles can never read it.';
COMMENT ON COLUMN link_tokens.sealed IS 'The sealed refresh token (see docs/tokenseal.md); never plaintext.';
COMMENT ON COLUMN link_tokens.key_id IS 'Id of the key-encryption key that sealed it, for key rotation.';
COMMENT ON COLUMN link_tokens.version IS 'Incremented on every write.';

CREATE TABLE consent_requests (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    state_hash      bytea NOT NULL UNIQUE,
    nonce           text NOT NULL,
    sealed_verifier bytea NOT NULL,
    institution_id  bigint NOT NULL REFERENCES institutions (id),
    app_user_ref    text NOT NULL,
    link_id         uuid REFERENCES links (id) ON DELETE CASCADE,
    return_url      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);

CREATE INDEX consent_requests_expires_idx ON consent_requests (expires_at);

COMMENT ON TABLE consent_requests IS 'One-time authorization requests: created when a user starts linking, consumed by the callback.';
COMMENT ON COLUMN consent_requests.state_hash IS 'SHA-256 of the OAuth state; the state itself is never stored.';
COMMENT ON COLUMN consent_requests.sealed_verifier IS 'The PKCE code verifier, sealed and bound to this request''s id.';
COMMENT ON COLUMN consent_requests.link_id IS 'Set for a re-consent of an existing link.';
