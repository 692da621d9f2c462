ALTER TABLE sync_state ADD COLUMN reconciled_through timestamptz;

COMMENT ON COLUMN sync_state.reconciled_through IS 'The bank''s clock at the account''s last reconciliation (or at the start of its schedule): the next pass re-reads posted dates from the reconcile window before it, so a change made while no pass ran is never outside the window.';
