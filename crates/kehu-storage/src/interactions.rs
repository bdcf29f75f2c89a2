//! Interactions: the timeline of calls, visits and messages with a customer.
//! Logging one with a next follow-up date also creates the follow-up task.

use kehu_domain::inputs::{InteractionDraft, InteractionInput};
use kehu_domain::*;
use sqlx::{AnyConnection, Row};

use crate::audit::{snap, Change};
use crate::cursor::{Cursor, CursorKey};
use crate::error::{StoreError, StoreResult};
use crate::rows::{self, INTERACTION_COLS};
use crate::sql::{delete_row, Sql};
use crate::{Page, Scoped};

impl Scoped<'_> {
    pub async fn interaction(&self, id: InteractionId) -> StoreResult<Interaction> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_interaction(&mut conn, id).await
    }

    async fn load_interaction(
        &self,
        conn: &mut AnyConnection,
        id: InteractionId,
    ) -> StoreResult<Interaction> {
        let mut sql = Sql::new(&format!(
            "SELECT {INTERACTION_COLS} FROM interactions i \
             JOIN customers c ON c.id = i.customer_id WHERE i.id = "
        ));
        sql.bind(id.0);
        self.scope(&mut sql, "c");
        let row = sql.query().fetch_optional(conn).await?;
        rows::interaction(&row.ok_or(StoreError::NotFound)?)
    }

    /// A customer's interactions, newest first, a page at a time.
    pub async fn interactions_of(
        &self,
        customer: CustomerId,
        channel: Option<kehu_domain::Channel>,
        cursor: Option<&str>,
        limit: i64,
    ) -> StoreResult<Page<Interaction>> {
        const SORT: &str = "occurred_at:desc";
        let limit = limit.clamp(1, crate::customers::MAX_PAGE);
        let mut conn = self.store.pool().acquire().await?;
        self.visible_customer(&mut conn, customer).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {INTERACTION_COLS} FROM interactions i WHERE i.customer_id = "
        ));
        sql.bind(customer.0);
        if let Some(ch) = channel {
            sql.push(" AND i.channel = ").bind(ch.as_str());
        }
        if let Some(cur) = cursor {
            let cur = Cursor::decode(cur, SORT)?;
            let CursorKey::Int(k) = cur.key else {
                return Err(Cursor::invalid());
            };
            sql.push(" AND (i.occurred_at, i.id) < (")
                .bind(k)
                .push(", ")
                .bind(cur.id)
                .push(")");
        }
        sql.push(" ORDER BY i.occurred_at DESC, i.id DESC LIMIT ")
            .bind(limit + 1);
        let found = sql.query().fetch_all(&mut *conn).await?;
        let mut items = rows::all(&found, rows::interaction)?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|i| {
                Cursor {
                    sort: SORT.into(),
                    key: CursorKey::Int(i.occurred_at.timestamp_millis()),
                    id: i.id.0,
                }
                .encode()
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub async fn create_interaction(&self, input: &InteractionInput) -> StoreResult<Interaction> {
        self.require_write()?;
        let draft = input.validate(self.store.clock().now())?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        self.visible_customer(&mut tx.tx, draft.customer_id).await?;
        check_contact(&mut tx.tx, &draft).await?;
        let task_id = match draft.next_follow_up {
            Some(due) => {
                let title = match &draft.follow_up_title {
                    Some(t) => t.clone(),
                    None => follow_up_title(&mut tx.tx, draft.customer_id).await?,
                };
                let mut sql = Sql::new(
                    "INSERT INTO tasks (customer_id, title, due_date, assignee_id, created_by, \
                     created_at, updated_at) VALUES (",
                );
                sql.bind_list([
                    crate::sql::Arg::I64(draft.customer_id.0),
                    title.into(),
                    rows::date_text(due).into(),
                    self.actor.user_id.0.into(),
                    self.actor.user_id.0.into(),
                    now.into(),
                    now.into(),
                ])
                .push(") RETURNING id");
                Some(
                    sql.query()
                        .fetch_one(&mut *tx.tx)
                        .await?
                        .try_get::<i64, _>("id")?,
                )
            }
            None => None,
        };
        let mut sql = Sql::new(
            "INSERT INTO interactions (customer_id, contact_id, channel, content, occurred_at, \
             user_id, next_follow_up, task_id, created_at, updated_at) VALUES (",
        );
        sql.bind_list([
            crate::sql::Arg::I64(draft.customer_id.0),
            draft.contact_id.map(|c| c.0).into(),
            draft.channel.as_str().into(),
            draft.content.clone().into(),
            draft.occurred_at.timestamp_millis().into(),
            self.actor.user_id.0.into(),
            draft.next_follow_up.map(rows::date_text).into(),
            task_id.into(),
            now.into(),
            now.into(),
        ])
        .push(") RETURNING id");
        let id = InteractionId(sql.query().fetch_one(&mut *tx.tx).await?.try_get("id")?);
        touch_customer(&mut tx.tx, draft.customer_id, now).await?;
        let i = self.load_interaction(&mut tx.tx, id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::created("interaction", id.0, snap(&i)),
        )
        .await?;
        tx.commit().await?;
        Ok(i)
    }

    /// Edits content, channel, contact or time. The follow-up date of an
    /// interaction is fixed once logged: the task it created is edited instead.
    pub async fn update_interaction(
        &self,
        id: InteractionId,
        input: InteractionInput,
    ) -> StoreResult<Interaction> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_interaction(&mut tx.tx, id).await?;
        let mut draft = input.over(&before).validate(self.store.clock().now())?;
        draft.customer_id = before.customer_id;
        check_contact(&mut tx.tx, &draft).await?;
        Sql::new("UPDATE interactions SET contact_id = ")
            .bind(draft.contact_id.map(|c| c.0))
            .push(", channel = ")
            .bind(draft.channel.as_str())
            .push(", content = ")
            .bind(draft.content.clone())
            .push(", occurred_at = ")
            .bind(draft.occurred_at.timestamp_millis())
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        let after = self.load_interaction(&mut tx.tx, id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::new("interaction", id.0, "update", snap(&before), snap(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_interaction(&self, id: InteractionId) -> StoreResult<()> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_interaction(&mut tx.tx, id).await?;
        delete_row(&mut tx.tx, "interactions", id.0).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::deleted("interaction", id.0, snap(&before)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn check_contact(conn: &mut AnyConnection, d: &InteractionDraft) -> StoreResult<()> {
    let Some(contact) = d.contact_id else {
        return Ok(());
    };
    let row = Sql::new("SELECT customer_id FROM contacts WHERE id = ")
        .bind(contact.0)
        .query()
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) if CustomerId(r.try_get("customer_id")?) == d.customer_id => Ok(()),
        _ => Err(StoreError::Invalid(
            FieldError::new(
                "contact_id",
                "invalid_contact",
                "the contact must belong to the same customer",
            )
            .into(),
        )),
    }
}

async fn follow_up_title(conn: &mut AnyConnection, id: CustomerId) -> StoreResult<String> {
    let name: String = Sql::new("SELECT name FROM customers WHERE id = ")
        .bind(id.0)
        .query()
        .fetch_one(conn)
        .await?
        .try_get("name")?;
    Ok(format!("跟进 / Follow up: {name}"))
}

/// Marks the customer as recently worked on.
async fn touch_customer(conn: &mut AnyConnection, id: CustomerId, now: i64) -> StoreResult<()> {
    Sql::new("UPDATE customers SET updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id.0)
        .query()
        .execute(conn)
        .await?;
    Ok(())
}
