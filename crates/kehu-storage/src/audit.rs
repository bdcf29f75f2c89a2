//! The audit trail: one row per create, update, delete, merge and transfer,
//! written in the same transaction as the change it records. Its ordered ids
//! also make it the durable feed of domain events for rules and jobs.

use kehu_domain::{AuditEntry, AuditId, UserId};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::error::StoreResult;
use crate::sql::Sql;
use crate::{Scoped, Store};

/// What is recorded about one change; snapshots are JSON text.
pub(crate) struct Change<'a> {
    pub entity: &'a str,
    pub entity_id: i64,
    pub action: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Change<'a> {
    pub fn new(
        entity: &'a str,
        entity_id: i64,
        action: &'a str,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        Self {
            entity,
            entity_id,
            action,
            before,
            after,
        }
    }

    pub fn created(entity: &'a str, entity_id: i64, after: Option<String>) -> Self {
        Self::new(entity, entity_id, "create", None, after)
    }

    pub fn deleted(entity: &'a str, entity_id: i64, before: Option<String>) -> Self {
        Self::new(entity, entity_id, "delete", before, None)
    }
}

/// A JSON snapshot of a read model for the trail.
pub(crate) fn snap<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}

pub(crate) async fn record(
    conn: &mut AnyConnection,
    now_ms: i64,
    actor: Option<UserId>,
    c: Change<'_>,
) -> StoreResult<()> {
    let mut sql = Sql::new(
        "INSERT INTO audit_log (at, actor_id, entity, entity_id, action, before, after) VALUES (",
    );
    sql.bind(now_ms)
        .push(", ")
        .bind(actor.map(|a| a.0))
        .push(", ")
        .bind(c.entity)
        .push(", ")
        .bind(c.entity_id)
        .push(", ")
        .bind(c.action)
        .push(", ")
        .bind(c.before)
        .push(", ")
        .bind(c.after)
        .push(")");
    sql.query().execute(conn).await?;
    Ok(())
}

impl Scoped<'_> {
    /// Records a change made by this actor.
    pub(crate) async fn audit(
        &self,
        conn: &mut AnyConnection,
        now_ms: i64,
        change: Change<'_>,
    ) -> StoreResult<()> {
        record(conn, now_ms, Some(self.actor.user_id), change).await
    }

    /// The audit trail of one entity, newest first. Visible when the entity
    /// is a customer within scope, or to admins for any entity.
    pub async fn audit_of(&self, entity: &str, entity_id: i64) -> StoreResult<Vec<AuditEntry>> {
        let mut conn = self.store.pool().acquire().await?;
        if self.actor.is_admin() {
            // Admins read every trail, including those of deleted records.
        } else if entity == "customer" {
            self.visible_customer(&mut conn, kehu_domain::CustomerId(entity_id))
                .await?;
        } else if !self.actor.is_admin() {
            return Err(crate::StoreError::Forbidden(
                "only admins read this audit trail",
            ));
        }
        let rows = Sql::new(
            "SELECT id, at, actor_id, entity, entity_id, action, before, after FROM audit_log \
             WHERE entity = ",
        )
        .bind(entity)
        .push(" AND entity_id = ")
        .bind(entity_id)
        .push(" ORDER BY id DESC LIMIT 500")
        .query()
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(entry).collect()
    }
}

impl Store {
    /// The whole trail in id order, after `after_id`; for jobs and admins.
    pub async fn audit_since(&self, after_id: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows = Sql::new(
            "SELECT id, at, actor_id, entity, entity_id, action, before, after FROM audit_log \
             WHERE id > ",
        )
        .bind(after_id)
        .push(" ORDER BY id LIMIT ")
        .bind(limit)
        .query()
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry).collect()
    }
}

fn entry(r: &sqlx::any::AnyRow) -> StoreResult<AuditEntry> {
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(AuditEntry {
        id: AuditId(r.try_get("id")?),
        at: crate::rows::instant(r.try_get("at")?)?,
        actor_id: r.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
        entity: r.try_get("entity")?,
        entity_id: r.try_get("entity_id")?,
        action: r.try_get("action")?,
        before: parse(r.try_get("before")?),
        after: parse(r.try_get("after")?),
    })
}
