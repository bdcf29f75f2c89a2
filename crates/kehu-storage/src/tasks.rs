//! Tasks and "my follow-ups". A task about a customer is visible with the
//! customer; a task is also always visible to its assignee.

use chrono::NaiveDate;
use kehu_domain::inputs::{TaskDraft, TaskInput};
use kehu_domain::*;
use serde::Serialize;
use sqlx::AnyConnection;

use crate::audit::{snap, Change};
use crate::error::{StoreError, StoreResult};
use crate::rows::{self, TASK_COLS};
use crate::sql::{delete_row, Sql};
use crate::Scoped;

/// Open follow-ups of one user, relative to a day in the user's time zone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FollowUps {
    pub overdue: Vec<Task>,
    pub today: Vec<Task>,
    pub upcoming: Vec<Task>,
}

const FOLLOW_UP_LIMIT: i64 = 200;

impl Scoped<'_> {
    /// `AND <the task is visible>` for `tasks t LEFT JOIN customers c`.
    fn task_scope(&self, sql: &mut Sql) {
        match self.actor.scope() {
            Scope::All => {}
            Scope::Team(t) => {
                sql.push(" AND (c.team_id = ")
                    .bind(t.0)
                    .push(" OR t.assignee_id = ")
                    .bind(self.actor.user_id.0)
                    .push(" OR (t.customer_id IS NULL AND t.assignee_id IN (SELECT id FROM users WHERE team_id = ")
                    .bind(t.0)
                    .push(")))");
            }
            Scope::Owner(u) => {
                sql.push(" AND (c.owner_id = ")
                    .bind(u.0)
                    .push(" OR t.assignee_id = ")
                    .bind(u.0)
                    .push(")");
            }
            Scope::Nothing => {
                sql.push(" AND t.assignee_id = ").bind(self.actor.user_id.0);
            }
        }
    }

    pub async fn task(&self, id: TaskId) -> StoreResult<Task> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_task(&mut conn, id).await
    }

    async fn load_task(&self, conn: &mut AnyConnection, id: TaskId) -> StoreResult<Task> {
        let mut sql = Sql::new(&format!(
            "SELECT {TASK_COLS} FROM tasks t LEFT JOIN customers c ON c.id = t.customer_id \
             WHERE t.id = "
        ));
        sql.bind(id.0);
        self.task_scope(&mut sql);
        let row = sql.query().fetch_optional(conn).await?;
        rows::task(&row.ok_or(StoreError::NotFound)?)
    }

    /// Tasks of a visible customer: open ones first by due date, then done.
    pub async fn tasks_of(&self, customer: CustomerId) -> StoreResult<Vec<Task>> {
        let mut conn = self.store.pool().acquire().await?;
        self.visible_customer(&mut conn, customer).await?;
        let rows = Sql::new(&format!(
            "SELECT {TASK_COLS} FROM tasks t WHERE t.customer_id = "
        ))
        .bind(customer.0)
        .push(" ORDER BY CASE WHEN t.done_at IS NULL THEN 0 ELSE 1 END, t.due_date, t.id LIMIT 500")
        .query()
        .fetch_all(&mut *conn)
        .await?;
        rows::all(&rows, rows::task)
    }

    /// Open tasks of `assignee` (the actor by default): overdue, due today
    /// and upcoming, each in due-date order.
    pub async fn follow_ups(
        &self,
        assignee: Option<UserId>,
        today: NaiveDate,
    ) -> StoreResult<FollowUps> {
        let assignee = assignee.unwrap_or(self.actor.user_id);
        let today_s = rows::date_text(today);
        let mut out = FollowUps {
            overdue: Vec::new(),
            today: Vec::new(),
            upcoming: Vec::new(),
        };
        let mut conn = self.store.pool().acquire().await?;
        for (op, bucket) in [("<", 0), ("=", 1), (">", 2)] {
            let mut sql = Sql::new(&format!(
                "SELECT {TASK_COLS} FROM tasks t LEFT JOIN customers c ON c.id = t.customer_id \
                 WHERE t.done_at IS NULL AND t.assignee_id = "
            ));
            sql.bind(assignee.0)
                .push(&format!(" AND t.due_date {op} "))
                .bind(today_s.as_str());
            self.task_scope(&mut sql);
            sql.push(" ORDER BY t.due_date, t.id LIMIT ")
                .bind(FOLLOW_UP_LIMIT);
            let found = rows::all(&sql.query().fetch_all(&mut *conn).await?, rows::task)?;
            match bucket {
                0 => out.overdue = found,
                1 => out.today = found,
                _ => out.upcoming = found,
            }
        }
        Ok(out)
    }

    pub async fn create_task(&self, input: &TaskInput) -> StoreResult<Task> {
        self.require_write()?;
        let draft = input.validate()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let assignee = self.check_task(&mut tx.tx, &draft).await?;
        let mut sql = Sql::new(
            "INSERT INTO tasks (customer_id, title, due_date, assignee_id, done_at, created_by, \
             created_at, updated_at) VALUES (",
        );
        sql.bind_list([
            crate::sql::Arg::OptI64(draft.customer_id.map(|c| c.0)),
            draft.title.clone().into(),
            rows::date_text(draft.due_date).into(),
            assignee.0.into(),
            draft.done.then_some(now).into(),
            self.actor.user_id.0.into(),
            now.into(),
            now.into(),
        ])
        .push(") RETURNING id");
        let id: i64 = sqlx::Row::try_get(&sql.query().fetch_one(&mut *tx.tx).await?, "id")?;
        let t = self.load_task(&mut tx.tx, TaskId(id)).await?;
        self.audit(&mut tx.tx, now, Change::created("task", id, snap(&t)))
            .await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn update_task(&self, id: TaskId, input: TaskInput) -> StoreResult<Task> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_task(&mut tx.tx, id).await?;
        let draft = input.over(&before).validate()?;
        let assignee = self.check_task(&mut tx.tx, &draft).await?;
        let done_at = match (before.done_at, draft.done) {
            (Some(at), true) => Some(at.timestamp_millis()),
            (None, true) => Some(now),
            (_, false) => None,
        };
        Sql::new("UPDATE tasks SET customer_id = ")
            .bind(draft.customer_id.map(|c| c.0))
            .push(", title = ")
            .bind(draft.title.clone())
            .push(", due_date = ")
            .bind(rows::date_text(draft.due_date))
            .push(", assignee_id = ")
            .bind(assignee.0)
            .push(", done_at = ")
            .bind(done_at)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        let after = self.load_task(&mut tx.tx, id).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::new("task", id.0, "update", snap(&before), snap(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_task(&self, id: TaskId) -> StoreResult<()> {
        self.require_write()?;
        let now = self.store.now_ms();
        let mut tx = self.store.begin_write().await?;
        let before = self.load_task(&mut tx.tx, id).await?;
        delete_row(&mut tx.tx, "tasks", id.0).await?;
        self.audit(
            &mut tx.tx,
            now,
            Change::deleted("task", id.0, snap(&before)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer, if any, must be visible; the assignee (default: the
    /// actor) must be someone the actor may give work to.
    async fn check_task(&self, conn: &mut AnyConnection, d: &TaskDraft) -> StoreResult<UserId> {
        if let Some(c) = d.customer_id {
            self.visible_customer(conn, c).await?;
        }
        let assignee = d.assignee_id.unwrap_or(self.actor.user_id);
        if assignee != self.actor.user_id {
            self.allowed_owner(conn, assignee)
                .await
                .map_err(|e| match e {
                    StoreError::Invalid(mut v) => {
                        for f in &mut v.0 {
                            f.field = "assignee_id".into();
                        }
                        StoreError::Invalid(v)
                    }
                    other => other,
                })?;
        }
        Ok(assignee)
    }
}
