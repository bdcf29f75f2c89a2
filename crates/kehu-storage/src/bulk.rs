//! Bulk loading for imports and the demo generator: multi-row inserts in one
//! transaction, so a load is applied completely or not at all, whatever
//! happens to the process in between.
//!
//! Ids are reserved up front (a dialect branch: PostgreSQL draws them from
//! the identity sequence, SQLite counts on from the largest id while it
//! holds the single write lock), which lets the caller link contacts and
//! orders to customers without reading anything back.

use chrono::{DateTime, Utc};
use kehu_domain::inputs::{ContactDraft, CustomerDraft, OrderDraft};
use kehu_domain::*;
use sqlx::Row;

use crate::error::StoreResult;
use crate::search::Searchable;
use crate::sql::{insert_rows, Arg, Sql};
use crate::{Engine, Store, WriteTx};

/// A customer to insert, with everything storage would otherwise derive.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub id: CustomerId,
    pub draft: CustomerDraft,
    pub owner: UserId,
    pub team: Option<TeamId>,
    pub created_at: DateTime<Utc>,
    /// Must equal `Aggregates::from_orders` of the orders loaded with it;
    /// `kehu aggregates --verify` checks exactly that.
    pub aggregates: Aggregates,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub id: ContactId,
    pub draft: ContactDraft,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub channel: Channel,
    pub content: String,
    pub occurred_at: DateTime<Utc>,
    pub user_id: UserId,
    pub next_follow_up: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub customer_id: Option<CustomerId>,
    pub title: String,
    pub due_date: chrono::NaiveDate,
    pub assignee_id: UserId,
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A transaction open for bulk writes.
pub struct Bulk {
    tx: WriteTx,
    engine: Engine,
    now: i64,
    by: Option<UserId>,
    /// SQLite only: the next free id per [`IdTable`], once known.
    next_id: [i64; 2],
    /// Customers given orders whose purchase rows are not rebuilt yet.
    purchases_stale: std::collections::BTreeSet<i64>,
    /// Rows written (inserted or replaced) per table, to tell which tables
    /// the load changed enough to refresh their statistics.
    written: std::collections::BTreeMap<&'static str, u64>,
    pool: sqlx::AnyPool,
}

/// Customers given orders by one load above which PostgreSQL analyses the
/// orders before rebuilding their purchase rows.
const ANALYZED_AFTER: usize = 10_000;

/// After committing, PostgreSQL vacuums and analyses each table the load
/// wrote at least this many rows to...
const FRESHENED_ROWS: u64 = 1_000;
/// ...when they make more than this share of the rows the table held
/// before (by the planner's last estimate). Smaller loads are left to
/// autovacuum, which the load hardly changes the plans for.
const FRESHENED_SHARE: f64 = 0.1;

/// Tables whose ids can be reserved.
#[derive(Debug, Clone, Copy)]
pub enum IdTable {
    Customers,
    Contacts,
}

impl Store {
    /// Opens a bulk transaction on behalf of `by` (None for system loads).
    pub async fn bulk(&self, by: Option<UserId>) -> StoreResult<Bulk> {
        let mut tx = self.begin_write().await?;
        if self.engine() == Engine::Sqlite {
            // Big loads insert into large indexes in random order; a page
            // cache of 1 GiB for this connection keeps them off the disk.
            sqlx::query("PRAGMA cache_size = -1048576")
                .execute(&mut *tx.tx)
                .await?;
        }
        Ok(Bulk {
            tx,
            engine: self.engine(),
            now: self.now_ms(),
            by,
            next_id: [0; 2],
            purchases_stale: Default::default(),
            written: Default::default(),
            pool: self.pool().clone(),
        })
    }
}

impl Bulk {
    fn wrote(&mut self, table: &'static str, rows: u64) {
        *self.written.entry(table).or_default() += rows;
    }

    /// Inserts `rows` into `table`, its `columns` listed as in SQL, and
    /// counts them.
    async fn insert(
        &mut self,
        table: &'static str,
        columns: &str,
        rows: Vec<Vec<Arg>>,
    ) -> StoreResult<()> {
        let head = format!("INSERT INTO {table} ({columns})");
        let n = insert_rows(&mut self.tx.tx, &head, columns.split(',').count(), rows).await?;
        self.wrote(table, n);
        Ok(())
    }

    /// Reserves `n` fresh ids of a table.
    pub async fn reserve_ids(&mut self, table: IdTable, n: usize) -> StoreResult<Vec<i64>> {
        let name = match table {
            IdTable::Customers => "customers",
            IdTable::Contacts => "contacts",
        };
        if n == 0 {
            return Ok(Vec::new());
        }
        match self.engine {
            Engine::Postgres => {
                let rows = Sql::new(&format!(
                    "SELECT nextval(pg_get_serial_sequence('{name}', 'id')) AS id \
                     FROM generate_series(1, "
                ))
                .bind(n as i64)
                .push(")")
                .query()
                .fetch_all(&mut *self.tx.tx)
                .await?;
                rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
            }
            Engine::Sqlite => {
                // Holding the write lock, nobody else inserts meanwhile;
                // ranges handed out earlier in this load are remembered in
                // case their rows are not written yet.
                let max: i64 = sqlx::query(&format!(
                    "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS m FROM {name}"
                ))
                .fetch_one(&mut *self.tx.tx)
                .await?
                .try_get("m")?;
                let next = &mut self.next_id[table as usize];
                let start = (*next).max(max + 1);
                *next = start + n as i64;
                Ok((start..start + n as i64).collect())
            }
        }
    }

    pub async fn customers(&mut self, rows: &[NewCustomer]) -> StoreResult<()> {
        let d = |d: Option<chrono::NaiveDate>| d.map(crate::rows::date_text).unwrap_or_default();
        let by = self.by.map(|u| u.0);
        self.insert(
            "customers",
            "id, kind, name, name_key, classification, status, source, \
             province, city, industry, size, mobile, email, external_id, notes, owner_id, team_id, \
             attributes, first_order_date, last_order_date, order_count, purchase_days, \
             total_amount, total_profit, profit_order_count, created_by, created_at, updated_at",
            rows.iter()
                .map(|c| {
                    let k = &c.draft;
                    let a = &c.aggregates;
                    let at = c.created_at.timestamp_millis();
                    vec![
                        Arg::I64(c.id.0),
                        k.kind.as_str().into(),
                        k.name.clone().into(),
                        k.name_key().into(),
                        k.classification.as_str().into(),
                        k.status.as_str().into(),
                        k.source.clone().into(),
                        k.province.clone().into(),
                        k.city.clone().into(),
                        k.industry.clone().into(),
                        k.size.clone().into(),
                        k.mobile.as_ref().map(|m| m.as_str().to_owned()).into(),
                        k.email.as_ref().map(|m| m.as_str().to_owned()).into(),
                        k.external_id.clone().into(),
                        k.notes.clone().into(),
                        c.owner.0.into(),
                        c.team.map(|t| t.0).into(),
                        serde_json::to_string(&k.attributes)
                            .unwrap_or_else(|_| "{}".into())
                            .into(),
                        d(a.first_order_date).into(),
                        d(a.last_order_date).into(),
                        a.order_count.into(),
                        a.purchase_days.into(),
                        a.total_amount.into(),
                        a.total_profit.into(),
                        a.profit_order_count.into(),
                        by.into(),
                        at.into(),
                        at.into(),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        self.insert(
            "customer_tags",
            "customer_id, dimension, value",
            rows.iter()
                .flat_map(|c| {
                    let mut seen = std::collections::BTreeSet::new();
                    c.draft
                        .tags
                        .iter()
                        .filter(move |t| seen.insert((t.dimension.clone(), t.value.clone())))
                        .map(|t| {
                            vec![
                                Arg::I64(c.id.0),
                                t.dimension.clone().into(),
                                t.value.clone().into(),
                            ]
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    pub async fn contacts(&mut self, rows: &[NewContact]) -> StoreResult<()> {
        let by = self.by.map(|u| u.0);
        self.insert(
            "contacts",
            "id, customer_id, name, department, title, level, superior_id, \
             business_area, authority_scope, budget_authority, is_key_decision_maker, mobile, \
             wechat, email, other_channels, closeness, notes, created_by, created_at, updated_at",
            rows.iter()
                .map(|c| {
                    let d = &c.draft;
                    let at = c.created_at.timestamp_millis();
                    vec![
                        Arg::I64(c.id.0),
                        d.customer_id.0.into(),
                        d.name.clone().into(),
                        d.department.clone().into(),
                        d.title.clone().into(),
                        d.level.map(|v| v.as_str()).into(),
                        d.superior_id.map(|v| v.0).into(),
                        d.business_area.clone().into(),
                        d.authority_scope.clone().into(),
                        d.budget_authority.map(|v| v.as_str()).into(),
                        d.is_key_decision_maker.into(),
                        d.mobile.as_ref().map(|m| m.as_str().to_owned()).into(),
                        d.wechat.clone().into(),
                        d.email.as_ref().map(|m| m.as_str().to_owned()).into(),
                        d.other_channels.clone().into(),
                        d.closeness.as_str().into(),
                        d.notes.clone().into(),
                        by.into(),
                        at.into(),
                        at.into(),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    pub async fn interactions(&mut self, rows: &[NewInteraction]) -> StoreResult<()> {
        self.insert(
            "interactions",
            "customer_id, contact_id, channel, content, occurred_at, \
             user_id, next_follow_up, created_at, updated_at",
            rows.iter()
                .map(|i| {
                    let at = i.occurred_at.timestamp_millis();
                    vec![
                        Arg::I64(i.customer_id.0),
                        i.contact_id.map(|c| c.0).into(),
                        i.channel.as_str().into(),
                        i.content.clone().into(),
                        at.into(),
                        i.user_id.0.into(),
                        i.next_follow_up.map(crate::rows::date_text).into(),
                        at.into(),
                        at.into(),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    pub async fn tasks(&mut self, rows: &[NewTask]) -> StoreResult<()> {
        let by = self.by.map(|u| u.0);
        self.insert(
            "tasks",
            "customer_id, title, due_date, assignee_id, done_at, created_by, \
             created_at, updated_at",
            rows.iter()
                .map(|t| {
                    let at = t.created_at.timestamp_millis();
                    vec![
                        Arg::OptI64(t.customer_id.map(|c| c.0)),
                        t.title.clone().into(),
                        crate::rows::date_text(t.due_date).into(),
                        t.assignee_id.0.into(),
                        t.done_at.map(|d| d.timestamp_millis()).into(),
                        by.into(),
                        at.into(),
                        at.into(),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    /// Inserts orders as they are; the caller either supplied matching
    /// aggregates with new customers or calls [`Bulk::recompute`]. The
    /// customers' purchase rows are rebuilt at the latest on commit.
    pub async fn orders(&mut self, rows: &[(OrderDraft, DateTime<Utc>)]) -> StoreResult<()> {
        self.purchases_stale
            .extend(rows.iter().map(|(o, _)| o.customer_id.0));
        let by = self.by.map(|u| u.0);
        self.insert(
            "orders",
            "customer_id, external_id, order_date, amount, currency, cost, \
             status, note, created_by, created_at, updated_at",
            rows.iter()
                .map(|(o, created)| {
                    let at = created.timestamp_millis();
                    let mut v: Vec<Arg> = crate::orders::order_values(o)
                        .into_iter()
                        .map(|(_, v)| v)
                        .collect();
                    v.extend([Arg::OptI64(by), at.into(), at.into()]);
                    v
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    /// Writes the search terms of customers inserted in this load.
    pub async fn search_terms(&mut self, rows: &[(CustomerId, Searchable)]) -> StoreResult<()> {
        self.insert("customer_search", "term, customer_id", {
            // Sorted, the batch walks the term index in order.
            let mut all: Vec<(String, i64)> = rows
                .iter()
                .flat_map(|(id, s)| s.terms().into_iter().map(move |t| (t, id.0)))
                .collect();
            all.sort_unstable();
            all.into_iter()
                .map(|(t, id)| vec![Arg::Text(t), Arg::I64(id)])
                .collect::<Vec<_>>()
        })
        .await?;
        Ok(())
    }

    /// Rebuilds the search terms of existing customers that gained contacts.
    pub async fn rebuild_search(&mut self, ids: &[CustomerId]) -> StoreResult<()> {
        for id in ids {
            crate::search::rebuild(&mut self.tx.tx, *id).await?;
        }
        self.wrote("customer_search", ids.len() as u64);
        Ok(())
    }

    /// Links contacts to their superiors: (contact, superior).
    pub async fn set_superiors(&mut self, links: &[(ContactId, ContactId)]) -> StoreResult<()> {
        for (contact, superior) in links {
            Sql::new("UPDATE contacts SET superior_id = ")
                .bind(superior.0)
                .push(" WHERE id = ")
                .bind(contact.0)
                .query()
                .execute(&mut *self.tx.tx)
                .await?;
        }
        self.wrote("contacts", links.len() as u64);
        Ok(())
    }

    /// Recomputes the aggregates of existing customers that gained orders
    /// (their purchase rows are rebuilt on commit, set-based).
    pub async fn recompute(&mut self, ids: &[CustomerId]) -> StoreResult<()> {
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        crate::aggregates::recompute_totals_of(&mut self.tx.tx, &ids, self.now).await?;
        self.purchases_stale.extend(&ids);
        self.wrote("customers", ids.len() as u64);
        Ok(())
    }

    /// One audit row per loaded record.
    pub async fn audit(&mut self, entity: &str, action: &str, ids: &[i64]) -> StoreResult<()> {
        let now = self.now;
        let by = self.by.map(|u| u.0);
        self.insert(
            "audit_log",
            "at, actor_id, entity, entity_id, action, before, after",
            ids.iter()
                .map(|id| {
                    vec![
                        Arg::I64(now),
                        by.into(),
                        entity.into(),
                        (*id).into(),
                        action.into(),
                        Arg::OptText(None),
                        Arg::OptText(None),
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    /// Makes the whole load visible at once.
    pub async fn commit(mut self) -> StoreResult<()> {
        let stale: Vec<i64> = std::mem::take(&mut self.purchases_stale)
            .into_iter()
            .collect();
        self.wrote("customer_purchases", stale.len() as u64);
        let freshened = match self.engine {
            Engine::Postgres => self.changed_tables().await?,
            Engine::Sqlite => Vec::new(),
        };
        if self.engine == Engine::Postgres && stale.len() > ANALYZED_AFTER {
            // The rebuild reads each customer's orders by the index. A
            // table never analysed (a fresh database's first load) looks
            // small to the planner, which then scans all of it for every
            // statement of the rebuild (seen at 1M customers: 0.5 s per
            // 500 customers instead of milliseconds). Inside the
            // transaction ANALYZE counts the load's own rows.
            sqlx::query("ANALYZE orders")
                .execute(&mut *self.tx.tx)
                .await?;
        }
        crate::purchases::rebuild(&mut self.tx.tx, &stale).await?;
        if self.engine == Engine::Sqlite {
            // Back to the pool's usual cache (see `Store::connect`).
            sqlx::query("PRAGMA cache_size = -65536")
                .execute(&mut *self.tx.tx)
                .await?;
        }
        self.tx.commit().await?;
        if !freshened.is_empty() {
            // Without fresh statistics PostgreSQL plans the first queries
            // after a big load as if the tables were small (seen at 1M
            // customers: a tag filter at 1 s instead of 5 ms). And until
            // VACUUM marks the new pages all-visible, every index-only scan
            // still visits the table (seen: a search probing 100k heap
            // pages). Autovacuum gets there eventually; a big load should
            // leave the database ready. VACUUM cannot run inside a
            // transaction, which is why this comes after the commit.
            let sql = format!("VACUUM (ANALYZE) {}", freshened.join(", "));
            sqlx::query(&sql).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// PostgreSQL: the tables this load grew or rewrote by a good share of
    /// what they held before, judged by the planner's last estimate (a
    /// table never analysed counts as empty). A small import into a big
    /// database names none, so it does not pay for vacuuming millions of
    /// untouched rows.
    async fn changed_tables(&mut self) -> StoreResult<Vec<&'static str>> {
        let candidates: Vec<(&'static str, u64)> = self
            .written
            .iter()
            .filter(|(_, n)| worth_freshening(**n, 0.0))
            .map(|(t, n)| (*t, *n))
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // `to_regclass` resolves the names by the search path, as the
        // load's own statements did.
        let names: Vec<String> = candidates.iter().map(|(t, _)| format!("('{t}')")).collect();
        let before = sqlx::query(&format!(
            "SELECT t.name, CAST(GREATEST(c.reltuples, 0) AS DOUBLE PRECISION) AS n \
             FROM (VALUES {}) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)",
            names.join(", ")
        ))
        .fetch_all(&mut *self.tx.tx)
        .await?;
        let mut changed = Vec::new();
        for r in &before {
            let name: &str = r.try_get("name")?;
            if let Some(&(table, rows)) = candidates.iter().find(|(t, _)| *t == name) {
                if worth_freshening(rows, r.try_get("n")?) {
                    changed.push(table);
                }
            }
        }
        Ok(changed)
    }
}

/// Whether writing `rows` rows to a table that held about `before` rows
/// changes it enough to vacuum and analyse it right after the load.
fn worth_freshening(rows: u64, before: f64) -> bool {
    rows >= FRESHENED_ROWS && rows as f64 > before * FRESHENED_SHARE
}

#[cfg(test)]
mod tests {
    use super::worth_freshening;

    #[test]
    fn big_loads_are_freshened_small_ones_left_to_autovacuum() {
        // A first load into empty tables (the demo, a first import).
        assert!(worth_freshening(1_000, 0.0));
        assert!(!worth_freshening(999, 0.0));
        // 10k orders into 9.5M: a tenth of a percent.
        assert!(!worth_freshening(10_000, 9_500_000.0));
        // Doubling a table, and the edge of a tenth.
        assert!(worth_freshening(50_000, 50_000.0));
        assert!(worth_freshening(10_001, 100_000.0));
        assert!(!worth_freshening(10_000, 100_000.0));
    }
}
