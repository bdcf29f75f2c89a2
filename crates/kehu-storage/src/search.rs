//! The search table: terms of each customer (see `kehu_domain::search`),
//! rebuilt whenever a searchable field of the customer or its contacts
//! changes, in the same transaction.

use kehu_domain::search::{prefix_upper_bound, query_prefixes, Terms};
use kehu_domain::{CustomerId, Email, Mobile};
use sqlx::{AnyConnection, Row};

use crate::error::StoreResult;
use crate::sql::{insert_rows, Arg, Sql};

/// The searchable fields of one customer and its contacts.
#[derive(Debug, Default, Clone)]
pub struct Searchable {
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// Contacts' (name, mobile, email).
    pub contacts: Vec<(String, Option<String>, Option<String>)>,
}

impl Searchable {
    /// Every term under which the customer is found.
    pub fn terms(&self) -> Vec<String> {
        let mut t = Terms::new();
        t.name(&kehu_domain::text::company_key(&self.name));
        let contact_points = |t: &mut Terms, m: &Option<String>, e: &Option<String>| {
            if let Some(m) = m {
                t.phone(&Mobile::from_stored(m.clone()));
            }
            if let Some(e) = e {
                t.email(&Email::from_stored(e.clone()));
            }
        };
        contact_points(&mut t, &self.mobile, &self.email);
        for (name, m, e) in &self.contacts {
            t.name(name);
            contact_points(&mut t, m, e);
        }
        t.into_vec()
    }
}

/// Replaces the terms of one customer from what is stored now.
pub(crate) async fn rebuild(conn: &mut AnyConnection, id: CustomerId) -> StoreResult<()> {
    let c = Sql::new("SELECT name, mobile, email FROM customers WHERE id = ")
        .bind(id.0)
        .query()
        .fetch_optional(&mut *conn)
        .await?;
    Sql::new("DELETE FROM customer_search WHERE customer_id = ")
        .bind(id.0)
        .query()
        .execute(&mut *conn)
        .await?;
    let Some(c) = c else { return Ok(()) };
    let contacts = Sql::new("SELECT name, mobile, email FROM contacts WHERE customer_id = ")
        .bind(id.0)
        .query()
        .fetch_all(&mut *conn)
        .await?;
    let s = Searchable {
        name: c.try_get("name")?,
        mobile: c.try_get("mobile")?,
        email: c.try_get("email")?,
        contacts: contacts
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("name")?,
                    r.try_get("mobile")?,
                    r.try_get("email")?,
                ))
            })
            .collect::<StoreResult<_>>()?,
    };
    insert_terms(conn, id, s.terms()).await
}

pub(crate) async fn insert_terms(
    conn: &mut AnyConnection,
    id: CustomerId,
    terms: Vec<String>,
) -> StoreResult<()> {
    insert_rows(
        conn,
        "INSERT INTO customer_search (term, customer_id)",
        2,
        terms
            .into_iter()
            .map(|t| vec![Arg::Text(t), Arg::I64(id.0)])
            .collect::<Vec<_>>(),
    )
    .await?;
    Ok(())
}

/// Above this many matching terms a search is "dense": walking the list
/// in its sort order and probing each customer's terms finds a page sooner
/// than collecting every match first.
pub(crate) const DENSE: i64 = 3000;

/// How many terms match the query's prefixes, counting at most `DENSE`.
pub(crate) async fn matches_at_least(conn: &mut AnyConnection, q: &str) -> StoreResult<i64> {
    let prefixes = query_prefixes(q);
    if prefixes.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 FROM customer_search s WHERE ",
    );
    ranges(&mut sql, &prefixes);
    sql.push(" LIMIT ").bind(DENSE).push(") m");
    Ok(sql.query().fetch_one(conn).await?.try_get("n")?)
}

fn ranges(sql: &mut Sql, prefixes: &[String]) {
    for (i, p) in prefixes.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(s.term >= ")
            .bind(p.as_str())
            .push(" AND s.term < ")
            .bind(prefix_upper_bound(p))
            .push(")");
    }
}

/// Appends the search condition on customer alias `c`. A selective query
/// collects the matching ids first (`IN`); a dense one (`dense`) probes each
/// customer's own terms as the list is walked (`EXISTS`), which stops as
/// soon as a page is full. Returns false when the query has nothing
/// searchable.
pub(crate) fn filter(sql: &mut Sql, q: &str, dense: bool) -> bool {
    let prefixes = query_prefixes(q);
    if prefixes.is_empty() {
        return false;
    }
    if dense {
        sql.push(" AND EXISTS (SELECT 1 FROM customer_search s WHERE s.customer_id = c.id AND (");
        ranges(sql, &prefixes);
        sql.push("))");
    } else {
        sql.push(" AND c.id IN (SELECT s.customer_id FROM customer_search s WHERE ");
        ranges(sql, &prefixes);
        sql.push(")");
    }
    true
}
