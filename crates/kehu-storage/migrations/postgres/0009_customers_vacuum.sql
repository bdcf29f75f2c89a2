-- Every order written updates its customer's aggregates, so a day's
-- imports leave thousands of customer rows updated, spread over the whole
-- table. Until VACUUM marks those pages all-visible again, the index-only
-- scans over customers (the analysis reading every id, lists scoped by
-- owner or team) visit the table for every row on them: at 1M customers,
-- after 20,000 updated by two imports of orders, reading every id made
-- 505,301 heap fetches and took 0.32 s instead of 0.13 s. Autovacuum's
-- default waits until a fifth of the table has changed (200,000 rows
-- here); for customers, one in two hundred.
ALTER TABLE customers SET (autovacuum_vacuum_scale_factor = 0.005);
