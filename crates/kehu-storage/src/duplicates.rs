//! Suggested duplicates: visible customers that share a normalized company
//! name (`华为技术有限公司` and `华为技术 公司`) or a mobile number.

use kehu_domain::Customer;
use sqlx::Row;

use crate::error::StoreResult;
use crate::rows::{self, CUSTOMER_COLS};
use crate::scoped::Scoped;
use crate::sql::Sql;

/// Customers that look like the same one, and why.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DuplicateGroup {
    /// `name` or `mobile`.
    pub reason: String,
    /// The shared normalized name or mobile.
    pub key: String,
    /// Oldest first.
    pub customers: Vec<Customer>,
}

/// At most this many customers are shown per group.
const PER_GROUP: usize = 10;

impl Scoped<'_> {
    /// Up to `limit` groups of likely duplicates by name and as many by
    /// mobile, within the actor's scope. Both sides of a pair must be
    /// visible: nobody is told about a record they cannot see.
    pub async fn duplicate_groups(&self, limit: i64) -> StoreResult<Vec<DuplicateGroup>> {
        let mut conn = self.store.pool().acquire().await?;
        let mut groups = Vec::new();
        for (reason, col) in [("name", "name_key"), ("mobile", "mobile")] {
            let mut sql = Sql::new(&format!(
                "SELECT c.{col} AS k FROM customers c WHERE c.{col} IS NOT NULL"
            ));
            self.scope(&mut sql, "c");
            sql.push(&format!(
                " GROUP BY c.{col} HAVING COUNT(*) > 1 ORDER BY c.{col} LIMIT "
            ))
            .bind(limit.clamp(1, 200));
            let keys: Vec<String> = sql
                .query()
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| r.try_get("k"))
                .collect::<Result<_, _>>()?;
            if keys.is_empty() {
                continue;
            }
            let mut sql = Sql::for_conn(
                &format!("SELECT {CUSTOMER_COLS}, c.{col} AS dup_key FROM customers c WHERE c.{col} IN ("),
                &conn,
            );
            sql.bind_list(keys.iter().map(String::as_str));
            sql.push(")");
            self.scope(&mut sql, "c");
            sql.push(&format!(" ORDER BY c.{col}, c.created_at, c.id"));
            let found = sql.query().fetch_all(&mut *conn).await?;
            let mut current: Option<DuplicateGroup> = None;
            for r in &found {
                let key: String = r.try_get("dup_key")?;
                let c = rows::customer(r)?;
                match &mut current {
                    Some(g) if g.key == key => {
                        if g.customers.len() < PER_GROUP {
                            g.customers.push(c);
                        }
                    }
                    _ => {
                        if let Some(g) = current.take() {
                            groups.push(g);
                        }
                        current = Some(DuplicateGroup {
                            reason: reason.into(),
                            key,
                            customers: vec![c],
                        });
                    }
                }
            }
            groups.extend(current);
        }
        Ok(groups)
    }
}
