-- A customer's analysis results and stage changes go with the customer by
-- a trigger instead of foreign keys. A foreign key checks each inserted
-- row by locking its customer's row, which changes the customer's page:
-- after a checkpoint PostgreSQL logs each such page whole. A refresh of
-- 10,000 customers saved in 0.41-0.57 s with the key (98 MB of log) and
-- in 0.19-0.20 s without it (27 MB); a first run's million stage changes
-- took 12.4 s to check. The writers of results remove rows of customers
-- deleted meanwhile themselves (see `kehu-storage/src/analytics.rs`), and
-- hold a lock that makes this trigger wait for them.
ALTER TABLE customer_analytics DROP CONSTRAINT IF EXISTS customer_analytics_customer_id_fkey;
ALTER TABLE lifecycle_changes DROP CONSTRAINT IF EXISTS lifecycle_changes_customer_id_fkey;

CREATE FUNCTION customers_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_analytics WHERE customer_id IN (SELECT id FROM gone);
    DELETE FROM lifecycle_changes WHERE customer_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_deleted AFTER DELETE ON customers
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION customers_deleted();
