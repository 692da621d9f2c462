ALTER TABLE consent_requests DROP COLUMN browser_hash;
