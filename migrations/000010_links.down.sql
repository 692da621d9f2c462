DROP TABLE consent_requests;
DROP TABLE link_tokens;
DROP TABLE links;
DROP TYPE link_status;
