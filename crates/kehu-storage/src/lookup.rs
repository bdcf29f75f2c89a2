//! Batch lookups for imports: many keys per query, each answered from an index.

use kehu_domain::{ContactId, CustomerId};
use sqlx::Row;

use crate::error::StoreResult;
use crate::sql::Sql;
use crate::Scoped;

const CHUNK: usize = 500;

/// Each key once, in order. Keys are looked up `CHUNK` per query: a key
/// repeated in two chunks would otherwise come back twice, and one
/// customer named on many rows would look like several.
fn distinct<T: Ord + Clone>(keys: &[T]) -> Vec<T> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    keys
}

impl Scoped<'_> {
    /// Visible customers by external id: (external id, customer).
    pub async fn customers_by_external_id(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<(String, CustomerId)>> {
        self.visible_by("external_id", keys).await
    }

    /// Visible customers by exact name: (name, customer); a name may match several.
    pub async fn customers_by_name(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<(String, CustomerId)>> {
        self.visible_by("name", keys).await
    }

    async fn visible_by(
        &self,
        column: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, CustomerId)>> {
        let mut out = Vec::new();
        let mut conn = self.store.pool().acquire().await?;
        for chunk in distinct(keys).chunks(CHUNK) {
            let mut sql = Sql::new(&format!(
                "SELECT c.{column} AS k, c.id FROM customers c WHERE c.{column} IN ("
            ));
            sql.bind_list(chunk.iter().map(String::as_str)).push(")");
            self.scope(&mut sql, "c");
            for r in sql.adapted(&conn).query().fetch_all(&mut *conn).await? {
                out.push((r.try_get("k")?, CustomerId(r.try_get("id")?)));
            }
        }
        Ok(out)
    }

    /// Contacts of the given customers: (customer, contact name, contact).
    pub async fn contact_names_of(
        &self,
        customers: &[CustomerId],
    ) -> StoreResult<Vec<(CustomerId, String, ContactId)>> {
        let mut out = Vec::new();
        let mut conn = self.store.pool().acquire().await?;
        for chunk in distinct(customers).chunks(CHUNK) {
            let mut sql = Sql::for_conn(
                "SELECT x.customer_id, x.name, x.id FROM contacts x JOIN customers c ON c.id = x.customer_id \
                 WHERE x.customer_id IN (",
                &conn,
            );
            sql.bind_list(chunk.iter().map(|c| c.0)).push(")");
            self.scope(&mut sql, "c");
            for r in sql.query().fetch_all(&mut *conn).await? {
                out.push((
                    CustomerId(r.try_get("customer_id")?),
                    r.try_get("name")?,
                    ContactId(r.try_get("id")?),
                ));
            }
        }
        Ok(out)
    }
}

impl crate::Store {
    /// Customer external ids already in use, company-wide.
    pub async fn taken_customer_external_ids(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<(String, CustomerId)>> {
        self.taken("customers", "external_id", keys).await
    }

    /// Customers with these name keys, company-wide: (name key, mobile, customer).
    pub async fn customers_by_name_key(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<(String, Option<String>, CustomerId)>> {
        let mut out = Vec::new();
        let mut conn = self.pool().acquire().await?;
        for chunk in distinct(keys).chunks(CHUNK) {
            let mut sql =
                Sql::new("SELECT name_key, mobile, id FROM customers WHERE name_key IN (");
            sql.bind_list(chunk.iter().map(String::as_str)).push(")");
            for r in sql.adapted(&conn).query().fetch_all(&mut *conn).await? {
                out.push((
                    r.try_get("name_key")?,
                    r.try_get("mobile")?,
                    CustomerId(r.try_get("id")?),
                ));
            }
        }
        Ok(out)
    }

    /// Order external ids already in use: (external id, order id).
    pub async fn taken_order_external_ids(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<(String, CustomerId)>> {
        self.taken("orders", "external_id", keys).await
    }

    async fn taken(
        &self,
        table: &str,
        column: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, CustomerId)>> {
        let mut out = Vec::new();
        let id = if table == "orders" {
            "customer_id"
        } else {
            "id"
        };
        let mut conn = self.pool().acquire().await?;
        for chunk in distinct(keys).chunks(CHUNK) {
            let mut sql = Sql::new(&format!(
                "SELECT {column} AS k, {id} AS id FROM {table} WHERE {column} IN ("
            ));
            sql.bind_list(chunk.iter().map(String::as_str)).push(")");
            for r in sql.adapted(&conn).query().fetch_all(&mut *conn).await? {
                out.push((r.try_get("k")?, CustomerId(r.try_get("id")?)));
            }
        }
        Ok(out)
    }
}

/// A contact or order with the customer it belongs to, for exports.
#[derive(Debug, Clone)]
pub struct WithCustomer<T> {
    pub item: T,
    pub customer_name: String,
    pub customer_external_id: Option<String>,
}

impl Scoped<'_> {
    /// Contacts of visible customers matching `filter`, in id order after `after`.
    pub async fn contacts_page(
        &self,
        filter: &crate::CustomerFilter,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<WithCustomer<kehu_domain::Contact>>> {
        let mut sql = Sql::new(&format!(
            "SELECT {}, c.name AS customer_name, c.external_id AS customer_external_id \
             FROM contacts x JOIN customers c ON c.id = x.customer_id WHERE x.id > ",
            crate::rows::CONTACT_COLS
        ));
        sql.bind(after);
        self.scope(&mut sql, "c");
        crate::customers::apply_filter(&mut sql, filter);
        sql.push(" ORDER BY x.id LIMIT ").bind(limit);
        let rows = sql.query().fetch_all(self.store.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(WithCustomer {
                    item: crate::rows::contact(r)?,
                    customer_name: r.try_get("customer_name")?,
                    customer_external_id: r.try_get("customer_external_id")?,
                })
            })
            .collect()
    }

    /// Orders of visible customers matching `filter`, in id order after `after`.
    pub async fn orders_page(
        &self,
        filter: &crate::CustomerFilter,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<WithCustomer<kehu_domain::Order>>> {
        let mut sql = Sql::new(&format!(
            "SELECT {}, c.name AS customer_name, c.external_id AS customer_external_id \
             FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id > ",
            crate::rows::ORDER_COLS
        ));
        sql.bind(after);
        self.scope(&mut sql, "c");
        crate::customers::apply_filter(&mut sql, filter);
        sql.push(" ORDER BY o.id LIMIT ").bind(limit);
        let rows = sql.query().fetch_all(self.store.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(WithCustomer {
                    item: crate::rows::order(r)?,
                    customer_name: r.try_get("customer_name")?,
                    customer_external_id: r.try_get("customer_external_id")?,
                })
            })
            .collect()
    }
}
