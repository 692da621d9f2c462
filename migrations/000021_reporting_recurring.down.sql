-- Drop the recurring-payments view.

DROP VIEW reporting.recurring;
