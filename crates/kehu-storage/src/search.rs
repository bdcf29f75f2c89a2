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
    /// The searchable fields of a customer about to be written, without contacts.
    pub fn of_draft(d: &kehu_domain::inputs::CustomerDraft) -> Self {
        Searchable {
            name: d.name.clone(),
            mobile: d.mobile.as_ref().map(|m| m.as_str().to_owned()),
            email: d.email.as_ref().map(|e| e.as_str().to_owned()),
            contacts: Vec::new(),
        }
    }

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

/// Up to this many matching customers, a search fetches them by key and
/// sorts them: cheapest for selective queries.
pub(crate) const FEW: i64 = 1_000;
/// Above this many, a search walks the list in its sort order and probes
/// each customer's terms with one index seek: a page fills after a few
/// hundred rows. In between, the database collects the matches and walks
/// the list until a page is full. Measured at 1M customers, see
/// BENCHMARKS.md.
pub(crate) const DENSE: i64 = 20_000;

/// Chooses the plan of a search from how many customers match it.
pub(crate) async fn plan(conn: &mut AnyConnection, q: &str) -> StoreResult<Plan> {
    let prefixes = query_prefixes(q);
    if prefixes.is_empty() {
        return Ok(Plan::Ids(Vec::new()));
    }
    let mut sql = Sql::new("SELECT DISTINCT s.customer_id FROM customer_search s WHERE ");
    ranges(&mut sql, &prefixes);
    sql.push(" LIMIT ").bind(FEW + 1);
    let ids: Vec<i64> = sql
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("customer_id"))
        .collect::<Result<_, _>>()?;
    if ids.len() as i64 <= FEW {
        return Ok(Plan::Ids(ids));
    }
    let mut sql = Sql::new(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM \
         (SELECT DISTINCT s.customer_id FROM customer_search s WHERE ",
    );
    ranges(&mut sql, &prefixes);
    sql.push(" LIMIT ").bind(DENSE + 1).push(") m");
    let n: i64 = sql.query().fetch_one(conn).await?.try_get("n")?;
    Ok(if n > DENSE {
        Plan::Probe
    } else {
        Plan::Collect
    })
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

/// How a search narrows the customer list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Let the database collect the matching customers and walk the list
    /// until a page is full.
    Collect,
    /// Probe each customer's own terms while walking the list in its sort
    /// order; stops as soon as a page is full (dense queries).
    Probe,
    /// Only these customers (selective queries): the database reads them by
    /// key and sorts a few rows, instead of walking the whole list.
    Ids(Vec<i64>),
}

/// Appends the search condition on customer alias `c`.
pub(crate) fn filter(sql: &mut Sql, q: &str, plan: &Plan) {
    match plan {
        Plan::Collect => {
            let prefixes = query_prefixes(q);
            if prefixes.is_empty() {
                return;
            }
            sql.push(" AND c.id IN (SELECT s.customer_id FROM customer_search s WHERE ");
            ranges(sql, &prefixes);
            sql.push(")");
        }
        Plan::Probe => {
            let prefixes = query_prefixes(q);
            if prefixes.is_empty() {
                return;
            }
            sql.push(
                " AND EXISTS (SELECT 1 FROM customer_search s WHERE s.customer_id = c.id AND (",
            );
            ranges(sql, &prefixes);
            sql.push("))");
        }
        Plan::Ids(ids) if ids.is_empty() => {
            sql.push(" AND 1 = 0");
        }
        Plan::Ids(ids) => {
            sql.push(" AND c.id IN (")
                .bind_list(ids.iter().copied())
                .push(")");
        }
    }
}
