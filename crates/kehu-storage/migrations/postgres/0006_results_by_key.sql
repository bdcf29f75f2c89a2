-- The results of the customer value analysis keep only their key. The
-- per-column indexes served no query, and every full run rebuilt them over
-- a million rows (4-5 s of a 15-20 s run). A list sorted by creation date
-- and filtered by a result cannot use them well either: results correlate
-- with customer age, so the engines walk past up to 200,000 customers to
-- fill a page. Filtered lists of results need the result next to the sort
-- key, which is for the segments that come with campaigns to add.
DROP INDEX customer_analytics_segment;
DROP INDEX customer_analytics_layer;
DROP INDEX customer_analytics_group;
DROP INDEX customer_analytics_stage;
DROP INDEX customer_analytics_quadrant;
DROP INDEX customer_analytics_clv;
