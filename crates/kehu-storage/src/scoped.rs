//! The actor-bound handle through which all customer data is read and written.

use kehu_domain::{Actor, CustomerId, Scope, TeamId, UserId};
use sqlx::{AnyConnection, Row};

use crate::error::{StoreError, StoreResult};
use crate::sql::Sql;
use crate::Store;

/// A [`Store`] seen by one actor. Every query it runs carries the actor's
/// scope, so a row outside it behaves exactly like a missing row.
#[derive(Clone, Copy)]
pub struct Scoped<'a> {
    pub(crate) store: &'a Store,
    pub(crate) actor: Actor,
}

impl<'a> Scoped<'a> {
    pub(crate) fn new(store: &'a Store, actor: Actor) -> Self {
        Self { store, actor }
    }

    pub fn actor(&self) -> Actor {
        self.actor
    }

    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Appends ` AND <the customer alias is visible>`.
    pub(crate) fn scope(&self, sql: &mut Sql, customer: &str) {
        match self.actor.scope() {
            Scope::All => {}
            Scope::Team(t) => {
                sql.push(&format!(" AND {customer}.team_id = ")).bind(t.0);
            }
            Scope::Owner(u) => {
                sql.push(&format!(" AND {customer}.owner_id = ")).bind(u.0);
            }
            Scope::Nothing => {
                sql.push(" AND 1 = 0");
            }
        }
    }

    /// [`Scoped::scope`] with the ids written into the text, for the bulk
    /// reads that take no parameters (ids are integers: nothing to quote).
    pub(crate) fn scope_literal(&self, customer: &str) -> String {
        match self.actor.scope() {
            Scope::All => String::new(),
            Scope::Team(t) => format!(" AND {customer}.team_id = {}", t.0),
            Scope::Owner(u) => format!(" AND {customer}.owner_id = {}", u.0),
            Scope::Nothing => " AND 1 = 0".to_owned(),
        }
    }

    /// Refuses writes by read-only users before anything is looked up.
    pub(crate) fn require_write(&self) -> StoreResult<()> {
        if self.actor.can_write() {
            Ok(())
        } else {
            Err(StoreError::Forbidden("read-only users cannot change data"))
        }
    }

    /// The owner and team of a visible customer; `NotFound` otherwise.
    pub(crate) async fn visible_customer(
        &self,
        conn: &mut AnyConnection,
        id: CustomerId,
    ) -> StoreResult<(UserId, Option<TeamId>)> {
        let mut sql = Sql::new("SELECT c.owner_id, c.team_id FROM customers c WHERE c.id = ");
        sql.bind(id.0);
        self.scope(&mut sql, "c");
        let row = sql.query().fetch_optional(conn).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        Ok((
            UserId(row.try_get("owner_id")?),
            row.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        ))
    }

    /// Checks that the actor may make `owner` the owner of a customer and
    /// returns the owner's team. Reps own what they create; managers assign
    /// within their team; admins assign to anyone active.
    pub(crate) async fn allowed_owner(
        &self,
        conn: &mut AnyConnection,
        owner: UserId,
    ) -> StoreResult<Option<TeamId>> {
        let row = Sql::new("SELECT team_id, active FROM users WHERE id = ")
            .bind(owner.0)
            .query()
            .fetch_optional(&mut *conn)
            .await?;
        let invalid = |msg: &str| {
            StoreError::Invalid(
                kehu_domain::FieldError::new("owner_id", "invalid_owner", msg).into(),
            )
        };
        let Some(row) = row else {
            return Err(invalid("no such user"));
        };
        if row.try_get::<i64, _>("active")? == 0 {
            return Err(invalid("the user is deactivated"));
        }
        let team = row.try_get::<Option<i64>, _>("team_id")?.map(TeamId);
        let allowed = match self.actor.scope() {
            Scope::All => true,
            Scope::Team(t) => team == Some(t),
            Scope::Owner(u) => owner == u,
            Scope::Nothing => false,
        };
        if allowed {
            Ok(team)
        } else {
            Err(StoreError::Forbidden(
                "you may only assign customers to users within your scope",
            ))
        }
    }
}
