DROP TABLE transaction_changes;
DROP TABLE sync_runs;
DROP TABLE sync_state;
DROP TABLE transactions;
DROP TABLE balance_snapshots;
DROP TABLE accounts;
