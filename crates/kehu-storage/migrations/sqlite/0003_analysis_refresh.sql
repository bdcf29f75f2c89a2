-- Refreshing customer value analytics between full runs: which customers'
-- orders changed since a run began reading, and what the run fixed
-- (breakpoints, thresholds, models, distributions) to score them with.

-- When the customer's counted orders last changed (ms since the epoch),
-- stamped with the aggregates in every transaction that writes an order.
ALTER TABLE customers ADD COLUMN orders_changed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX customers_orders_changed ON customers(orders_changed_at);

-- When the run began reading (ms); changes from then on are a refresh's.
ALTER TABLE analysis_runs ADD COLUMN read_from BIGINT NOT NULL DEFAULT 0;
-- The run's pins as JSON; NULL for runs before refreshes existed.
ALTER TABLE analysis_runs ADD COLUMN pins TEXT;

-- Each refresh of a run: the customers it re-scored.
CREATE TABLE analysis_refreshes (
    id            INTEGER PRIMARY KEY,
    run_id        BIGINT NOT NULL REFERENCES analysis_runs(id) ON DELETE CASCADE,
    refreshed_at  BIGINT NOT NULL,
    read_from     BIGINT NOT NULL,
    customers     BIGINT NOT NULL,
    orders        BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL
);
CREATE INDEX analysis_refreshes_run ON analysis_refreshes(run_id, read_from);
