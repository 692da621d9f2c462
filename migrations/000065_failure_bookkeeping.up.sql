ALTER TABLE sync_runs ADD COLUMN request_id text;
COMMENT ON COLUMN sync_runs.request_id IS 'x-request-id header of the failed institution response, for the institution''s support; NULL when the run did not fail on an institution response.';

ALTER TABLE links ADD COLUMN consecutive_auth_failures integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN links.consecutive_auth_failures IS 'Refreshes refused in a row with a non-standard authentication error (400/401 other than invalid_grant or invalid_client); at the configured threshold the link moves to reauth_required. Reset by a successful sync.';

ALTER TABLE links ADD COLUMN last_discarded_job_id bigint;
ALTER TABLE links ADD COLUMN last_discarded_at timestamptz;
COMMENT ON COLUMN links.last_discarded_job_id IS 'Latest sync job of the link that River discarded (attempts exhausted); the link was scheduled again when it was recorded.';
COMMENT ON COLUMN links.last_discarded_at IS 'When the job in last_discarded_job_id was discarded.';
