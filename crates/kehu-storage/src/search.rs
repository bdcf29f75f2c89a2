//! The search table: terms of each customer (see `kehu_domain::search`),
//! rebuilt whenever a searchable field of the customer or its contacts
//! changes, in the same transaction.

use kehu_domain::search::{prefix_upper_bound, query_prefixes, Terms};
use kehu_domain::{CustomerId, Email, Mobile};
use sqlx::{AnyConnection, Row};

use crate::error::StoreResult;
use crate::sql::{insert_rows, Arg, Sql};
use crate::Engine;

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
/// sorts them.
pub(crate) const FEW: usize = 2_000;
/// Up to this many, a search walks the list in its sort order and keeps
/// the rows among the matching ids: a page needs about
/// `50 × customers / matches` rows, read sequentially from the list's own
/// index (inside SQLite; on PostgreSQL by reading ids and sort keys). Above it, the walk probes each
/// row's terms in the database instead, and a page fills within a few
/// thousand rows. Measured at 1M customers, see BENCHMARKS.md.
pub(crate) const MANY: usize = 10_000;
/// Id lists longer than this travel as one JSON array parameter rather than
/// one parameter per id.
const IN_LIST_MAX: usize = 64;

/// Chooses the plan of a search from how many customers match it: one
/// index range read that stops as soon as the query is known to be dense.
pub(crate) async fn plan(conn: &mut AnyConnection, q: &str) -> StoreResult<Plan> {
    let prefixes = query_prefixes(q);
    if prefixes.is_empty() {
        return Ok(Plan::Ids(Vec::new()));
    }
    // A customer usually has one matching term, sometimes a few (name and
    // contact): twice the threshold in rows is enough to tell.
    let row_limit = 2 * MANY + 1;
    let mut sql = Sql::new("SELECT s.customer_id FROM customer_search s WHERE ");
    ranges(&mut sql, &prefixes);
    sql.push(" LIMIT ").bind(row_limit as i64);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    if rows.len() >= row_limit {
        return Ok(Plan::Probe);
    }
    let mut ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get("customer_id"))
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(if ids.len() <= FEW {
        Plan::Ids(ids)
    } else if ids.len() <= MANY {
        Plan::Walk(ids.into_iter().collect())
    } else {
        Plan::Probe
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
    /// Probe each customer's own terms while walking the list in its sort
    /// order; stops as soon as a page is full (dense queries).
    Probe,
    /// Walk the list reading ids and sort keys only, keeping these ids
    /// (queries of middling density).
    Walk(std::collections::HashSet<i64>),
    /// Only these customers (selective queries): the database reads them by
    /// key and sorts a few thousand rows at most, instead of walking the
    /// whole list.
    Ids(Vec<i64>),
}

/// Appends the search condition on customer alias `c`.
pub(crate) fn filter(sql: &mut Sql, q: &str, plan: &Plan, engine: Engine) {
    match plan {
        Plan::Probe => {
            let prefixes = query_prefixes(q);
            if prefixes.is_empty() {
                return;
            }
            // `OFFSET 0` keeps PostgreSQL from turning the probe into a
            // join that first collects every match (it does so when it
            // underestimates them, and then takes seconds); SQLite probes
            // per row either way.
            sql.push(
                " AND EXISTS (SELECT 1 FROM customer_search s WHERE s.customer_id = c.id AND (",
            );
            ranges(sql, &prefixes);
            sql.push(") LIMIT 1 OFFSET 0)");
        }
        Plan::Walk(ids) => {
            let mut ids: Vec<i64> = ids.iter().copied().collect();
            ids.sort_unstable();
            match engine {
                // SQLite walks the list itself: the unary `+` keeps it from
                // looking the ids up by key, so it reads the list's index
                // in order and tests each row against the ids (held in an
                // ephemeral index built once), returning only the page.
                Engine::Sqlite => {
                    let json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
                    sql.push(" AND +c.id IN (SELECT value FROM json_each(")
                        .bind(json)
                        .push("))");
                }
                // PostgreSQL is walked by the caller; reached only when a
                // plan is forced: the same rows, as an id list.
                Engine::Postgres => filter(sql, q, &Plan::Ids(ids), engine),
            }
        }
        Plan::Ids(ids) if ids.is_empty() => {
            sql.push(" AND 1 = 0");
        }
        Plan::Ids(ids) if ids.len() <= IN_LIST_MAX => {
            sql.push(" AND c.id IN (")
                .bind_list(ids.iter().copied())
                .push(")");
        }
        Plan::Ids(ids) => {
            // One parameter however many ids: `[1,2,3]`. The two engines
            // unpack a JSON array differently; both read it as a small
            // table of keys to look up.
            let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
            match engine {
                Engine::Sqlite => {
                    sql.push(" AND c.id IN (SELECT value FROM json_each(")
                        .bind(json)
                        .push("))");
                }
                Engine::Postgres => {
                    sql.push(" AND c.id IN (SELECT CAST(jsonb_array_elements_text(CAST(")
                        .bind(json)
                        .push(" AS jsonb)) AS BIGINT))");
                }
            }
        }
    }
}
