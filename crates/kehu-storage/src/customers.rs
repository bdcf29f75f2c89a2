//! Customers: CRUD, filtered keyset lists, search, duplicates and transfer.

use chrono::{DateTime, Utc};
use kehu_domain::inputs::{CustomerDraft, CustomerInput};
use kehu_domain::*;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::audit::{snap, Change};
use crate::cursor::{Cursor, CursorKey};
use crate::error::{StoreError, StoreResult};
use crate::rows::{self, CUSTOMER_COLS};
use crate::sql::{delete_row, insert_rows, Arg, Sql};
use crate::Engine;
use crate::{search, Page, Scoped};

/// Filters of the customer list; all present ones must hold.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub classification: Option<Classification>,
    pub status: Option<CustomerStatus>,
    pub owner_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub tag: Option<Tag>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub source: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub created_to: Option<DateTime<Utc>>,
    /// Name, pinyin, initials, phone or email.
    pub q: Option<String>,
}

/// Sort keys of the customer list; each has an index for keyset paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    #[default]
    CreatedAt,
    UpdatedAt,
    Name,
    TotalAmount,
    LastOrderDate,
}

impl CustomerSort {
    pub const KEYS: &'static [&'static str] = &[
        "created_at",
        "updated_at",
        "name",
        "total_amount",
        "last_order_date",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "name" => Self::Name,
            "total_amount" => Self::TotalAmount,
            "last_order_date" => Self::LastOrderDate,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Name => "name",
            Self::TotalAmount => "total_amount",
            Self::LastOrderDate => "last_order_date",
        }
    }

    fn key_of(self, c: &Customer) -> CursorKey {
        match self {
            Self::CreatedAt => CursorKey::Int(c.created_at.timestamp_millis()),
            Self::UpdatedAt => CursorKey::Int(c.updated_at.timestamp_millis()),
            Self::Name => CursorKey::Text(c.name.clone()),
            Self::TotalAmount => CursorKey::Int(c.aggregates.total_amount),
            Self::LastOrderDate => CursorKey::Text(
                c.aggregates
                    .last_order_date
                    .map(rows::date_text)
                    .unwrap_or_default(),
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    Asc,
    #[default]
    Desc,
}

/// An existing customer that a new or imported one may duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DuplicateMatch {
    pub customer_id: CustomerId,
    pub name: String,
    pub owner_id: UserId,
    /// `external_id`, `name`, `mobile` or `email`.
    pub reason: String,
}

pub const MAX_PAGE: i64 = 200;

impl Scoped<'_> {
    pub async fn customer(&self, id: CustomerId) -> StoreResult<Customer> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_customer(&mut conn, id).await
    }

    pub(crate) async fn load_customer(
        &self,
        conn: &mut AnyConnection,
        id: CustomerId,
    ) -> StoreResult<Customer> {
        self.read_customer(conn, id, true).await
    }

    /// The customer with its tags; `scoped` limits it to the actor's scope.
    async fn read_customer(
        &self,
        conn: &mut AnyConnection,
        id: CustomerId,
        scoped: bool,
    ) -> StoreResult<Customer> {
        let mut sql = Sql::new(&format!(
            "SELECT {CUSTOMER_COLS} FROM customers c WHERE c.id = "
        ));
        sql.bind(id.0);
        if scoped {
            self.scope(&mut sql, "c");
        }
        let row = sql.query().fetch_optional(&mut *conn).await?;
        let mut c = rows::customer(&row.ok_or(StoreError::NotFound)?)?;
        c.tags = tags_of(conn, &[c.id])
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Ok(c)
    }

    /// One page of customers, filtered and sorted, after `cursor`.
    pub async fn customers(
        &self,
        filter: &CustomerFilter,
        sort: CustomerSort,
        dir: SortDir,
        cursor: Option<&str>,
        limit: i64,
    ) -> StoreResult<Page<Customer>> {
        self.customers_planned(filter, sort, dir, cursor, limit, None)
            .await
    }

    /// [`Scoped::customers`] with the search plan forced, so tests can
    /// show that every plan returns the same rows.
    #[doc(hidden)]
    pub async fn customers_planned(
        &self,
        filter: &CustomerFilter,
        sort: CustomerSort,
        dir: SortDir,
        cursor: Option<&str>,
        limit: i64,
        plan: Option<crate::search::Plan>,
    ) -> StoreResult<Page<Customer>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let sort_name = format!(
            "{}:{}",
            sort.column(),
            if dir == SortDir::Asc { "asc" } else { "desc" }
        );
        let mut conn = self.store.pool().acquire().await?;
        let search_plan = match (&filter.q, plan) {
            (None, _) => None,
            (Some(_), Some(forced)) => Some(forced),
            (Some(q), None) => Some(search::plan(&mut conn, q).await?),
        };
        if let (Some(search::Plan::Walk(matches)), Engine::Postgres) =
            (&search_plan, self.store.engine())
        {
            let (ids, more) = self
                .walk_list(&mut conn, filter, sort, dir, cursor, limit, matches)
                .await?;
            let mut items = self.read_in_order(&mut conn, &ids).await?;
            let next_cursor = if more {
                items.last().map(|c| {
                    Cursor {
                        sort: sort_name.clone(),
                        key: sort.key_of(c),
                        id: c.id.0,
                    }
                    .encode()
                })
            } else {
                None
            };
            attach_tags(&mut conn, &mut items).await?;
            return Ok(Page { items, next_cursor });
        }
        // Parameters as the connection likes them: search plans can bind
        // thousands of ids.
        let mut sql = Sql::for_conn(
            &format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE 1 = 1"),
            &conn,
        );
        self.scope(&mut sql, "c");
        apply_filter_with(&mut sql, filter, search_plan.as_ref(), self.store.engine());
        let col = format!("c.{}", sort.column());
        let (op, order) = match dir {
            SortDir::Asc => (">", "ASC"),
            SortDir::Desc => ("<", "DESC"),
        };
        if let Some(cur) = cursor {
            let cur = Cursor::decode(cur, &sort_name)?;
            sql.push(&format!(" AND ({col}, c.id) {op} ("));
            match cur.key {
                CursorKey::Int(k) => sql.bind(k),
                CursorKey::Text(k) => sql.bind(k),
            };
            sql.push(", ").bind(cur.id).push(")");
        }
        sql.push(&format!(" ORDER BY {col} {order}, c.id {order} LIMIT "))
            .bind(limit + 1);
        let found = sql.query().fetch_all(&mut *conn).await?;
        let mut items = rows::all(&found, rows::customer)?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|c| {
                Cursor {
                    sort: sort_name.clone(),
                    key: sort.key_of(c),
                    id: c.id.0,
                }
                .encode()
            })
        } else {
            None
        };
        attach_tags(&mut conn, &mut items).await?;
        Ok(Page { items, next_cursor })
    }

    /// Walks the list without its search condition, reading only ids and
    /// sort keys in growing chunks, and keeps the rows whose id is among
    /// `matches`, until a page (and one more row) is found. Returns the
    /// page's ids in list order and whether more follow.
    #[allow(clippy::too_many_arguments)]
    async fn walk_list(
        &self,
        conn: &mut AnyConnection,
        filter: &CustomerFilter,
        sort: CustomerSort,
        dir: SortDir,
        cursor: Option<&str>,
        limit: i64,
        matches: &std::collections::HashSet<i64>,
    ) -> StoreResult<(Vec<i64>, bool)> {
        let sort_name = format!(
            "{}:{}",
            sort.column(),
            if dir == SortDir::Asc { "asc" } else { "desc" }
        );
        let unsearched = CustomerFilter {
            q: None,
            ..filter.clone()
        };
        let col = format!("c.{}", sort.column());
        let (op, order) = match dir {
            SortDir::Asc => (">", "ASC"),
            SortDir::Desc => ("<", "DESC"),
        };
        let mut after = match cursor {
            Some(c) => {
                let c = Cursor::decode(c, &sort_name)?;
                Some((c.key, c.id))
            }
            None => None,
        };
        let mut found = Vec::with_capacity(limit as usize + 1);
        let mut chunk: i64 = 256;
        loop {
            let mut sql = Sql::new(&format!(
                "SELECT c.id, {col} AS k FROM customers c WHERE 1 = 1"
            ));
            self.scope(&mut sql, "c");
            apply_filter_with(&mut sql, &unsearched, None, self.store.engine());
            if let Some((key, id)) = &after {
                sql.push(&format!(" AND ({col}, c.id) {op} ("));
                match key {
                    CursorKey::Int(k) => sql.bind(*k),
                    CursorKey::Text(k) => sql.bind(k.as_str()),
                };
                sql.push(", ").bind(*id).push(")");
            }
            sql.push(&format!(" ORDER BY {col} {order}, c.id {order} LIMIT "))
                .bind(chunk);
            let rows = sql.query().fetch_all(&mut *conn).await?;
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                if matches.contains(&id) {
                    found.push(id);
                    if found.len() as i64 > limit {
                        found.truncate(limit as usize);
                        return Ok((found, true));
                    }
                }
            }
            let Some(last) = rows.last() else {
                return Ok((found, false));
            };
            if (rows.len() as i64) < chunk {
                return Ok((found, false));
            }
            let key = match sort {
                CustomerSort::CreatedAt | CustomerSort::UpdatedAt | CustomerSort::TotalAmount => {
                    CursorKey::Int(last.try_get("k")?)
                }
                CustomerSort::Name | CustomerSort::LastOrderDate => {
                    CursorKey::Text(last.try_get::<Option<String>, _>("k")?.unwrap_or_default())
                }
            };
            after = Some((key, last.try_get("id")?));
            chunk = (chunk * 2).min(32_000);
        }
    }

    /// The customers with these ids, in this order (all visible already).
    async fn read_in_order(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
    ) -> StoreResult<Vec<Customer>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {CUSTOMER_COLS} FROM customers c WHERE c.id IN ("
        ));
        sql.bind_list(ids.iter().copied()).push(")");
        let found = sql.query().fetch_all(&mut *conn).await?;
        let mut by_id: std::collections::HashMap<i64, Customer> =
            rows::all(&found, rows::customer)?
                .into_iter()
                .map(|c| (c.id.0, c))
                .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    pub async fn create_customer(&self, input: &CustomerInput) -> StoreResult<Customer> {
        self.require_write()?;
        let mut draft = input.validate()?;
        let owner = *draft.owner_id.get_or_insert(self.actor.user_id);
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let team = self.allowed_owner(&mut tx.tx, owner).await?;
        let id = insert_customer(
            &mut tx.tx,
            &draft,
            owner,
            team,
            now,
            Some(self.actor.user_id),
        )
        .await?;
        let c = self.load_customer(&mut tx.tx, id).await?;
        self.audit(&mut tx.tx, now, Change::created("customer", id.0, snap(&c)))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Changes the fields present in `input`; absent fields stay as they are.
    pub async fn update_customer(
        &self,
        id: CustomerId,
        input: CustomerInput,
    ) -> StoreResult<Customer> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let after = self.update_customer_in(&mut tx, id, input, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The update of [`Scoped::update_customer`] inside a caller's
    /// transaction (merging applies the user's picked values this way).
    pub(crate) async fn update_customer_in(
        &self,
        tx: &mut crate::WriteTx,
        id: CustomerId,
        input: CustomerInput,
        now: i64,
    ) -> StoreResult<Customer> {
        let before = self.load_customer(&mut tx.tx, id).await?;
        let draft = input.over(&before).validate()?;
        let owner = draft.owner_id.unwrap_or(before.owner_id);
        let team = if owner == before.owner_id {
            before.team_id
        } else {
            self.allowed_owner(&mut tx.tx, owner).await?
        };
        let mut sql = Sql::new("UPDATE customers SET ");
        customer_assignments(&mut sql, &draft);
        sql.push(", owner_id = ")
            .bind(owner.0)
            .push(", team_id = ")
            .bind(team.map(|t| t.0))
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0);
        sql.query().execute(&mut *tx.tx).await?;
        if owner != before.owner_id {
            reassign_open_tasks(&mut tx.tx, &[id], owner).await?;
        }
        Sql::new("DELETE FROM customer_tags WHERE customer_id = ")
            .bind(id.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        insert_tags(&mut tx.tx, id, &draft.tags).await?;
        let text = |m: Option<&str>| m.map(str::to_owned);
        if draft.name != before.name
            || text(draft.mobile.as_ref().map(|m| m.as_str())) != before.mobile
            || text(draft.email.as_ref().map(|e| e.as_str())) != before.email
        {
            search::rebuild(&mut tx.tx, id).await?;
        }
        let after = self.load_customer_unscoped(&mut tx.tx, id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::new("customer", id.0, "update", snap(&before), snap(&after)),
        )
        .await?;
        Ok(after)
    }

    /// Deletes a customer with everything attached to it. A customer with
    /// orders carries revenue history: only an admin may delete it.
    pub async fn delete_customer(&self, id: CustomerId) -> StoreResult<()> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_customer(&mut tx.tx, id).await?;
        if before.aggregates.order_count > 0 && !self.actor.is_admin() {
            return Err(StoreError::Conflict {
                field: "id".into(),
                message: "has orders; archive it (status: archived) instead, or ask an admin"
                    .into(),
            });
        }
        for table in ["orders", "interactions", "tasks", "contacts"] {
            Sql::new(&format!("DELETE FROM {table} WHERE customer_id = "))
                .bind(id.0)
                .query()
                .execute(&mut *tx.tx)
                .await?;
        }
        delete_row(&mut tx.tx, "customers", id.0).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::deleted("customer", id.0, snap(&before)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves customers, with their open follow-ups, to a new owner. History
    /// (interactions, orders, contacts) stays attached to the customers, so
    /// it moves with them. Returns how many customers moved.
    pub async fn transfer_customers(&self, ids: &[CustomerId], to: UserId) -> StoreResult<u64> {
        self.require_write()?;
        if !matches!(self.actor.role, Role::Admin | Role::Manager) {
            return Err(StoreError::Forbidden(
                "only managers and admins transfer customers",
            ));
        }
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        // Visibility first: an unseen customer is not found, whoever the
        // new owner would have been.
        let mut found = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(500) {
            let mut sql = Sql::new("SELECT c.id, c.owner_id FROM customers c WHERE c.id IN (");
            sql.bind_list(chunk.iter().map(|i| i.0)).push(")");
            self.scope(&mut sql, "c");
            let rows = sql.query().fetch_all(&mut *tx.tx).await?;
            if rows.len() != chunk.len() {
                return Err(StoreError::NotFound);
            }
            found.extend(rows);
        }
        let team = self.allowed_owner(&mut tx.tx, to).await?;
        let mut moved = 0;
        for (chunk, found) in unique.chunks(500).zip(found.chunks(500)) {
            let mut sql = Sql::new("UPDATE customers SET owner_id = ");
            sql.bind(to.0)
                .push(", team_id = ")
                .bind(team.map(|t| t.0))
                .push(", updated_at = ")
                .bind(now)
                .push(" WHERE id IN (")
                .bind_list(chunk.iter().map(|i| i.0))
                .push(")");
            moved += sql.query().execute(&mut *tx.tx).await?.rows_affected();
            reassign_open_tasks(&mut tx.tx, chunk, to).await?;
            for r in found {
                let id: i64 = r.try_get("id")?;
                let from: i64 = r.try_get("owner_id")?;
                self.audit(
                    &mut tx.tx,
                    now,
                    Change::new(
                        "customer",
                        id,
                        "transfer",
                        Some(format!("{{\"owner_id\":{from}}}")),
                        Some(format!("{{\"owner_id\":{}}}", to.0)),
                    ),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Adds `tag` to each of the customers (all must be visible and
    /// writable); customers that already carry it are left as they are.
    /// Returns how many gained the tag.
    pub async fn tag_customers(&self, ids: &[CustomerId], tag: &Tag) -> StoreResult<u64> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let mut added = 0;
        for chunk in unique.chunks(500) {
            let mut sql = Sql::new("SELECT c.id FROM customers c WHERE c.id IN (");
            sql.bind_list(chunk.iter().map(|i| i.0)).push(")");
            self.scope(&mut sql, "c");
            if sql.query().fetch_all(&mut *tx.tx).await?.len() != chunk.len() {
                return Err(StoreError::NotFound);
            }
            let mut sql =
                Sql::new("SELECT t.customer_id FROM customer_tags t WHERE t.dimension = ");
            sql.bind(tag.dimension.as_str())
                .push(" AND t.value = ")
                .bind(tag.value.as_str())
                .push(" AND t.customer_id IN (")
                .bind_list(chunk.iter().map(|i| i.0))
                .push(")");
            let tagged: std::collections::HashSet<i64> = sql
                .query()
                .fetch_all(&mut *tx.tx)
                .await?
                .iter()
                .map(|r| r.try_get("customer_id"))
                .collect::<Result<_, _>>()?;
            let new: Vec<CustomerId> = chunk
                .iter()
                .copied()
                .filter(|c| !tagged.contains(&c.0))
                .collect();
            if new.is_empty() {
                continue;
            }
            insert_rows(
                &mut tx.tx,
                "INSERT INTO customer_tags (customer_id, dimension, value)",
                3,
                new.iter()
                    .map(|c| {
                        vec![
                            Arg::I64(c.0),
                            Arg::Text(tag.dimension.clone()),
                            Arg::Text(tag.value.clone()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            )
            .await?;
            let mut sql = Sql::new("UPDATE customers SET updated_at = ");
            sql.bind(now)
                .push(" WHERE id IN (")
                .bind_list(new.iter().map(|i| i.0))
                .push(")");
            sql.query().execute(&mut *tx.tx).await?;
            let after = serde_json::json!({ "tag": tag.to_string() }).to_string();
            for c in &new {
                self.audit(
                    &mut tx.tx,
                    now,
                    Change::new("customer", c.0, "tag", None, Some(after.clone())),
                )
                .await?;
            }
            added += new.len() as u64;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Every customer owned by `from` (within scope) goes to `to`: what
    /// happens when a rep leaves.
    pub async fn transfer_all(&self, from: UserId, to: UserId) -> StoreResult<u64> {
        let mut sql = Sql::new("SELECT c.id FROM customers c WHERE c.owner_id = ");
        sql.bind(from.0);
        self.scope(&mut sql, "c");
        let ids: Vec<CustomerId> = sql
            .query()
            .fetch_all(self.store.pool())
            .await?
            .iter()
            .map(|r| r.try_get("id").map(CustomerId))
            .collect::<Result<_, _>>()?;
        self.transfer_customers(&ids, to).await
    }

    /// Existing customers that `draft` may duplicate, looked up by index on
    /// external id, name key, mobile and email. Deliberately not limited to
    /// the actor's scope: two reps must not chase the same company unawares.
    /// Only the id, name and owner are revealed.
    pub async fn duplicates_of(
        &self,
        draft: &CustomerDraft,
        except: Option<CustomerId>,
    ) -> StoreResult<Vec<DuplicateMatch>> {
        let mut checks: Vec<(&str, &str, String)> = vec![("name", "name_key", draft.name_key())];
        if let Some(x) = &draft.external_id {
            checks.push(("external_id", "external_id", x.clone()));
        }
        if let Some(m) = &draft.mobile {
            checks.push(("mobile", "mobile", m.as_str().to_owned()));
        }
        if let Some(e) = &draft.email {
            checks.push(("email", "email", e.as_str().to_owned()));
        }
        let mut out: Vec<DuplicateMatch> = Vec::new();
        for (reason, column, value) in checks {
            let mut sql = Sql::new(&format!(
                "SELECT id, name, owner_id FROM customers WHERE {column} = "
            ));
            sql.bind(value);
            if let Some(x) = except {
                sql.push(" AND id <> ").bind(x.0);
            }
            sql.push(" ORDER BY id LIMIT 20");
            for r in sql.query().fetch_all(self.store.pool()).await? {
                let id = CustomerId(r.try_get("id")?);
                if out.iter().any(|d| d.customer_id == id) {
                    continue;
                }
                out.push(DuplicateMatch {
                    customer_id: id,
                    name: r.try_get("name")?,
                    owner_id: UserId(r.try_get("owner_id")?),
                    reason: reason.to_owned(),
                });
            }
        }
        Ok(out)
    }

    /// Same as [`Scoped::load_customer`] without the scope check, for the
    /// state after a change the actor was allowed to make.
    pub(crate) async fn load_customer_unscoped(
        &self,
        conn: &mut AnyConnection,
        id: CustomerId,
    ) -> StoreResult<Customer> {
        self.read_customer(conn, id, false).await
    }
}

/// The filter with searches probed per customer (for exports, which walk
/// everything anyway).
pub(crate) fn apply_filter(sql: &mut Sql, f: &CustomerFilter) {
    // The engine only matters for id plans.
    apply_filter_with(sql, f, Some(&search::Plan::Probe), crate::Engine::Sqlite)
}

fn apply_filter_with(
    sql: &mut Sql,
    f: &CustomerFilter,
    plan: Option<&search::Plan>,
    engine: crate::Engine,
) {
    let eq = |sql: &mut Sql, col: &str, v: Option<Arg>| {
        if let Some(v) = v {
            sql.push(&format!(" AND c.{col} = ")).bind(v);
        }
    };
    eq(
        sql,
        "classification",
        f.classification.map(|v| v.as_str().into()),
    );
    eq(sql, "status", f.status.map(|v| v.as_str().into()));
    eq(sql, "owner_id", f.owner_id.map(|v| v.0.into()));
    eq(sql, "team_id", f.team_id.map(|v| v.0.into()));
    eq(sql, "province", f.province.as_deref().map(Into::into));
    eq(sql, "city", f.city.as_deref().map(Into::into));
    eq(sql, "industry", f.industry.as_deref().map(Into::into));
    eq(sql, "source", f.source.as_deref().map(Into::into));
    if let Some(t) = f.created_from {
        sql.push(" AND c.created_at >= ").bind(t.timestamp_millis());
    }
    if let Some(t) = f.created_to {
        sql.push(" AND c.created_at < ").bind(t.timestamp_millis());
    }
    if let Some(tag) = &f.tag {
        sql.push(
            " AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id \
             AND t.dimension = ",
        )
        .bind(tag.dimension.as_str())
        .push(" AND t.value = ")
        .bind(tag.value.as_str())
        .push(")");
    }
    if let (Some(q), Some(plan)) = (&f.q, plan) {
        search::filter(sql, q, plan, engine);
    }
}

/// `col = $n, …` for every column a draft sets.
fn customer_assignments(sql: &mut Sql, d: &CustomerDraft) {
    let mut first = true;
    let mut set = |sql: &mut Sql, col: &str, v: Arg| {
        sql.push(&format!("{}{col} = ", if first { "" } else { ", " }))
            .bind(v);
        first = false;
    };
    for (col, v) in customer_values(d) {
        set(sql, col, v);
    }
}

fn customer_values(d: &CustomerDraft) -> Vec<(&'static str, Arg)> {
    vec![
        ("kind", d.kind.as_str().into()),
        ("name", d.name.clone().into()),
        ("name_key", d.name_key().into()),
        ("classification", d.classification.as_str().into()),
        ("status", d.status.as_str().into()),
        ("source", d.source.clone().into()),
        ("province", d.province.clone().into()),
        ("city", d.city.clone().into()),
        ("industry", d.industry.clone().into()),
        ("size", d.size.clone().into()),
        (
            "mobile",
            d.mobile.as_ref().map(|m| m.as_str().to_owned()).into(),
        ),
        (
            "email",
            d.email.as_ref().map(|m| m.as_str().to_owned()).into(),
        ),
        ("external_id", d.external_id.clone().into()),
        ("notes", d.notes.clone().into()),
        (
            "attributes",
            serde_json::to_string(&d.attributes)
                .unwrap_or_else(|_| "{}".into())
                .into(),
        ),
    ]
}

pub(crate) async fn insert_customer(
    conn: &mut AnyConnection,
    d: &CustomerDraft,
    owner: UserId,
    team: Option<TeamId>,
    now: i64,
    by: Option<UserId>,
) -> StoreResult<CustomerId> {
    let mut values = customer_values(d);
    values.extend([
        ("owner_id", owner.0.into()),
        ("team_id", team.map(|t| t.0).into()),
        ("created_by", by.map(|u| u.0).into()),
        ("created_at", now.into()),
        ("updated_at", now.into()),
    ]);
    let cols: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
    let mut sql = Sql::new(&format!(
        "INSERT INTO customers ({}) VALUES (",
        cols.join(", ")
    ));
    sql.bind_list(values.into_iter().map(|(_, v)| v))
        .push(") RETURNING id");
    let id = CustomerId(sql.query().fetch_one(&mut *conn).await?.try_get("id")?);
    insert_tags(conn, id, &d.tags).await?;
    // A new customer has no contacts yet: its terms come from the draft.
    let terms = search::Searchable::of_draft(d).terms();
    search::insert_terms(conn, id, terms).await?;
    Ok(id)
}

pub(crate) async fn insert_tags(
    conn: &mut AnyConnection,
    id: CustomerId,
    tags: &[Tag],
) -> StoreResult<()> {
    insert_rows(
        conn,
        "INSERT INTO customer_tags (customer_id, dimension, value)",
        3,
        tags.iter()
            .map(|t| {
                vec![
                    Arg::I64(id.0),
                    Arg::Text(t.dimension.clone()),
                    Arg::Text(t.value.clone()),
                ]
            })
            .collect::<Vec<_>>(),
    )
    .await?;
    Ok(())
}

async fn reassign_open_tasks(
    conn: &mut AnyConnection,
    ids: &[CustomerId],
    to: UserId,
) -> StoreResult<()> {
    let mut sql = Sql::new("UPDATE tasks SET assignee_id = ");
    sql.bind(to.0)
        .push(" WHERE done_at IS NULL AND customer_id IN (")
        .bind_list(ids.iter().map(|i| i.0))
        .push(")");
    sql.query().execute(conn).await?;
    Ok(())
}

pub(crate) async fn tags_of(
    conn: &mut AnyConnection,
    ids: &[CustomerId],
) -> StoreResult<Vec<(CustomerId, Tag)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql =
        Sql::new("SELECT customer_id, dimension, value FROM customer_tags WHERE customer_id IN (");
    sql.bind_list(ids.iter().map(|i| i.0))
        .push(") ORDER BY customer_id, dimension, value");
    sql.query()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok((
                CustomerId(r.try_get("customer_id")?),
                Tag {
                    dimension: r.try_get("dimension")?,
                    value: r.try_get("value")?,
                },
            ))
        })
        .collect()
}

pub(crate) async fn attach_tags(
    conn: &mut AnyConnection,
    items: &mut [Customer],
) -> StoreResult<()> {
    let ids: Vec<CustomerId> = items.iter().map(|c| c.id).collect();
    for (id, tag) in tags_of(conn, &ids).await? {
        if let Some(c) = items.iter_mut().find(|c| c.id == id) {
            c.tags.push(tag);
        }
    }
    Ok(())
}
