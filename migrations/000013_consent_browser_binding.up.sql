-- Bind each consent request to the browser that started it, so an
-- authorization URL forwarded to someone else cannot complete a link for
-- the person who started it (consent fixation).

ALTER TABLE consent_requests ADD COLUMN browser_hash bytea;

COMMENT ON COLUMN consent_requests.browser_hash IS 'SHA-256 of the random value set as a cookie in the browser that started the consent; the callback requires the same cookie.';
