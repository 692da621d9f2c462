DROP TABLE IF EXISTS institution_sync_slots;
DROP TABLE IF EXISTS institution_budgets;
