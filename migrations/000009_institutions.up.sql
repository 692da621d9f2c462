-- Institutions pfmsync is registered with as an OAuth client.

CREATE TABLE institutions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    display_name text NOT NULL CHECK (display_name <> ''),
    issuer_url   text NOT NULL CHECK (issuer_url ~ '^https?://'),
    api_base_url text NOT NULL CHECK (api_base_url ~ '^https?://'),
    client_id    text NOT NULL CHECK (client_id <> ''),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE institutions IS 'Banno institutions pfmsync is registered with. The client secret is never stored here: it comes from the environment or a secret file.';
COMMENT ON COLUMN institutions.slug IS 'Short stable name used in URLs and configuration, e.g. garden-fi.';
COMMENT ON COLUMN institutions.issuer_url IS 'OpenID Connect issuer: {base}/a/consumer/api/v0/oidc.';
COMMENT ON COLUMN institutions.api_base_url IS 'Consumer API base: {base}/a/consumer/api/v0.';
