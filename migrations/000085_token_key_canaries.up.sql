-- One value sealed under each token key id the first time a process starts
-- with that key in its ring. Every later start opens it: a key that keeps
-- its id but whose bytes changed (a typo, the wrong secret mounted) is
-- refused at start instead of at the first refresh. Public schema, so the
-- pfm_reader role cannot read it.
CREATE TABLE token_key_canaries (
    key_id     text PRIMARY KEY,
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE token_key_canaries IS 'A known value sealed under each token key id when it was first seen; opened at every start to detect a key id whose bytes changed (see docs/tokenseal.md).';
COMMENT ON COLUMN token_key_canaries.sealed IS 'tokenseal envelope of a fixed, non-secret plaintext, purpose key_canary, subject the key id.';
