-- Dense searches walk the customer list and probe each customer's terms
-- for a prefix: that wants (customer_id, term), not customer_id alone.
-- (SQLite needs no change: its WITHOUT ROWID index on customer_id already
-- carries the primary key's term column.)
DROP INDEX customer_search_customer;
CREATE INDEX customer_search_customer ON customer_search(customer_id, term);
