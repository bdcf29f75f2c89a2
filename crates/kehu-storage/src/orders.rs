//! Orders. Every write recomputes the aggregates of the customers it
//! touches in the same transaction.

use kehu_domain::inputs::{OrderDraft, OrderInput};
use kehu_domain::*;
use sqlx::{AnyConnection, Row};

use crate::aggregates::recompute;
use crate::audit::{snap, Change};
use crate::cursor::{Cursor, CursorKey};
use crate::error::{StoreError, StoreResult};
use crate::rows::{self, ORDER_COLS};
use crate::sql::{delete_row, Arg, Sql};
use crate::{Page, Scoped};

impl Scoped<'_> {
    pub async fn order(&self, id: OrderId) -> StoreResult<Order> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_order(&mut conn, id).await
    }

    async fn load_order(&self, conn: &mut AnyConnection, id: OrderId) -> StoreResult<Order> {
        let mut sql = Sql::new(&format!(
            "SELECT {ORDER_COLS} FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE o.id = "
        ));
        sql.bind(id.0);
        self.scope(&mut sql, "c");
        let row = sql.query().fetch_optional(conn).await?;
        rows::order(&row.ok_or(StoreError::NotFound)?)
    }

    /// A customer's orders, newest first, a page at a time.
    pub async fn orders_of(
        &self,
        customer: CustomerId,
        cursor: Option<&str>,
        limit: i64,
    ) -> StoreResult<Page<Order>> {
        const SORT: &str = "order_date:desc";
        let limit = limit.clamp(1, crate::customers::MAX_PAGE);
        let mut conn = self.store.pool().acquire().await?;
        self.visible_customer(&mut conn, customer).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {ORDER_COLS} FROM orders o WHERE o.customer_id = "
        ));
        sql.bind(customer.0);
        if let Some(cur) = cursor {
            let cur = Cursor::decode(cur, SORT)?;
            let CursorKey::Text(k) = cur.key else {
                return Err(Cursor::invalid());
            };
            sql.push(" AND (o.order_date, o.id) < (")
                .bind(k)
                .push(", ")
                .bind(cur.id)
                .push(")");
        }
        sql.push(" ORDER BY o.order_date DESC, o.id DESC LIMIT ")
            .bind(limit + 1);
        let found = sql.query().fetch_all(&mut *conn).await?;
        let mut items = rows::all(&found, rows::order)?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|o| {
                Cursor {
                    sort: SORT.into(),
                    key: CursorKey::Text(rows::date_text(o.order_date)),
                    id: o.id.0,
                }
                .encode()
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub async fn create_order(&self, input: &OrderInput) -> StoreResult<Order> {
        self.require_write()?;
        let draft = input.validate()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        self.visible_customer(&mut tx.tx, draft.customer_id).await?;
        let mut values = order_values(&draft);
        values.extend([
            ("created_by", self.actor.user_id.0.into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ]);
        let cols: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        let mut sql = Sql::new(&format!(
            "INSERT INTO orders ({}) VALUES (",
            cols.join(", ")
        ));
        sql.bind_list(values.into_iter().map(|(_, v)| v))
            .push(") RETURNING id");
        let id = OrderId(sql.query().fetch_one(&mut *tx.tx).await?.try_get("id")?);
        recompute(&mut tx.tx, draft.customer_id, now).await?;
        let o = self.load_order(&mut tx.tx, id).await?;
        self.audit(&mut tx.tx, now, Change::created("order", id.0, snap(&o)))
            .await?;
        tx.commit().await?;
        Ok(o)
    }

    pub async fn update_order(&self, id: OrderId, input: OrderInput) -> StoreResult<Order> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_order(&mut tx.tx, id).await?;
        let draft = input.over(&before).validate()?;
        if draft.customer_id != before.customer_id {
            self.visible_customer(&mut tx.tx, draft.customer_id).await?;
        }
        let mut sql = Sql::new("UPDATE orders SET ");
        for (i, (col, v)) in order_values(&draft).into_iter().enumerate() {
            sql.push(&format!("{}{col} = ", if i == 0 { "" } else { ", " }))
                .bind(v);
        }
        sql.push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0);
        sql.query().execute(&mut *tx.tx).await?;
        recompute(&mut tx.tx, draft.customer_id, now).await?;
        if draft.customer_id != before.customer_id {
            recompute(&mut tx.tx, before.customer_id, now).await?;
        }
        let after = self.load_order(&mut tx.tx, id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::new("order", id.0, "update", snap(&before), snap(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_order(&self, id: OrderId) -> StoreResult<()> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_order(&mut tx.tx, id).await?;
        delete_row(&mut tx.tx, "orders", id.0).await?;
        recompute(&mut tx.tx, before.customer_id, now).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::deleted("order", id.0, snap(&before)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn order_values(d: &OrderDraft) -> Vec<(&'static str, Arg)> {
    vec![
        ("customer_id", d.customer_id.0.into()),
        ("external_id", d.external_id.clone().into()),
        ("order_date", rows::date_text(d.order_date).into()),
        ("amount", d.amount.into()),
        ("currency", d.currency.as_str().into()),
        ("cost", d.cost.into()),
        ("status", d.status.as_str().into()),
        ("note", d.note.clone().into()),
    ]
}
