-- Customer lists filter by a model's result (RFM segment, pyramid layer,
-- A-E group, lifecycle stage, selection quadrant) by probing each listed
-- customer's result row through its key, in the list's own order: every
-- value of these columns holds a sizeable share of the customers, so a
-- page fills after a few hundred probes (BENCHMARKS.md measures it at 1M
-- customers). The per-column indexes served no query and cost every full
-- run a rebuild over a million rows (4-5 s of a 15-20 s run).
DROP INDEX customer_analytics_segment;
DROP INDEX customer_analytics_layer;
DROP INDEX customer_analytics_group;
DROP INDEX customer_analytics_stage;
DROP INDEX customer_analytics_quadrant;
DROP INDEX customer_analytics_clv;
