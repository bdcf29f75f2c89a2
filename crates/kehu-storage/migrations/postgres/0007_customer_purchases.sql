-- Each customer's completed orders in one row, rebuilt with the aggregates
-- in every transaction that writes an order of the customer. A full
-- analysis run reads every completed order: as one row per customer it
-- reads a tenth of the rows (1M instead of 10M), already grouped by
-- customer and sorted by date. The text is the orders by date then id,
-- separated by ';', each 'DAY,AMOUNT,COST' (days since 1970-01-01, minor
-- units, cost empty when unknown). Built here from the orders already
-- stored; the same statement rebuilds single customers at run time.
CREATE TABLE customer_purchases (
    customer_id BIGINT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    orders      TEXT NOT NULL
);
INSERT INTO customer_purchases (customer_id, orders)
SELECT customer_id,
       string_agg((order_date::date - DATE '1970-01-01')::text || ',' || amount::text || ','
                  || COALESCE(cost::text, ''), ';' ORDER BY order_date, id)
FROM orders WHERE status = 'completed' GROUP BY customer_id;
