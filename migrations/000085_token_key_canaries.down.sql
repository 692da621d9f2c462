DROP TABLE token_key_canaries;
