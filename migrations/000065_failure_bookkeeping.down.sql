ALTER TABLE links DROP COLUMN last_discarded_at;
ALTER TABLE links DROP COLUMN last_discarded_job_id;
ALTER TABLE links DROP COLUMN consecutive_auth_failures;
ALTER TABLE sync_runs DROP COLUMN request_id;
