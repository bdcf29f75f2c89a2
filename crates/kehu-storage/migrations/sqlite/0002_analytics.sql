-- Customer value analytics (see crates/kehu-analytics): the latest results
-- per customer, every lifecycle stage change, and a summary of each run.
-- Money stays BIGINT minor units; scores and probabilities are REAL
-- (DOUBLE PRECISION on PostgreSQL).

-- One row per analysed customer, replaced as a whole by each full run.
-- Columns are NULL where a model does not apply (no purchase in the
-- window, no CLV fit).
CREATE TABLE customer_analytics (
    customer_id           INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    computed_at           BIGINT NOT NULL,
    as_of                 TEXT NOT NULL,
    recency_days          BIGINT,
    frequency             BIGINT,
    monetary              BIGINT,
    r_score               BIGINT,
    f_score               BIGINT,
    m_score               BIGINT,
    rfm_segment           TEXT,
    revenue               BIGINT NOT NULL,
    profit                BIGINT NOT NULL,
    pyramid_layer         TEXT,
    value_group           TEXT NOT NULL,
    lifecycle_stage       TEXT NOT NULL,
    lifecycle_since       TEXT NOT NULL,
    lifecycle_reason      TEXT NOT NULL,
    value_score           REAL,
    capability_score      REAL,
    selection_quadrant    TEXT,
    selection_explanation TEXT,
    probability_alive     REAL,
    expected_purchases    REAL,
    expected_order_value  BIGINT,
    clv                   BIGINT
);
-- Lists filter by each model's result and sort by value.
CREATE INDEX customer_analytics_segment ON customer_analytics(rfm_segment, customer_id);
CREATE INDEX customer_analytics_layer ON customer_analytics(pyramid_layer, customer_id);
CREATE INDEX customer_analytics_group ON customer_analytics(value_group, customer_id);
CREATE INDEX customer_analytics_stage ON customer_analytics(lifecycle_stage, customer_id);
CREATE INDEX customer_analytics_quadrant ON customer_analytics(selection_quadrant, customer_id);
CREATE INDEX customer_analytics_clv ON customer_analytics(clv, customer_id);

-- Every lifecycle stage change, observed on a run's as-of date.
CREATE TABLE lifecycle_changes (
    id           INTEGER PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    from_stage   TEXT,
    to_stage     TEXT NOT NULL,
    changed_on   TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX lifecycle_changes_customer ON lifecycle_changes(customer_id, changed_on);
CREATE INDEX lifecycle_changes_day ON lifecycle_changes(changed_on, to_stage);

-- Each run: its settings and the company-level results (layer shares,
-- curves, grids, fitted parameters) as JSON.
CREATE TABLE analysis_runs (
    id           INTEGER PRIMARY KEY,
    computed_at  BIGINT NOT NULL,
    as_of        TEXT NOT NULL,
    customers    BIGINT NOT NULL,
    orders       BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    summary      TEXT NOT NULL
);
