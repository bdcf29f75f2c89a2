//! Users, teams, API tokens and browser sessions. Hashing happens in the
//! caller; this module stores and finds hashes only. The use cases in
//! `kehu-core` decide who may call these (admins manage users).

use kehu_domain::inputs::UserDraft;
use kehu_domain::*;
use serde::Serialize;
use sqlx::Row;

use crate::audit::{record, snap, Change};
use crate::error::{StoreError, StoreResult};
use crate::rows::{self, USER_COLS};
use crate::sql::Sql;
use crate::Store;

/// A user with the stored password hash, for login.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub password_hash: String,
}

impl AuthUser {
    pub fn actor(&self) -> Actor {
        actor_of(&self.user)
    }
}

/// What the API shows of a token: never the token itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiTokenInfo {
    pub id: TokenId,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A live browser session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The actor a user acts as.
pub fn actor_of(u: &User) -> Actor {
    Actor {
        user_id: u.id,
        role: u.role,
        team_id: u.team_id,
    }
}

impl Store {
    pub async fn create_team(&self, name: &str, by: Option<UserId>) -> StoreResult<Team> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid(FieldError::required("name").into()));
        }
        let now = self.now_ms();
        let mut tx = self.begin_write().await?;
        let id: i64 = Sql::new("INSERT INTO teams (name, created_at) VALUES (")
            .bind(name)
            .push(", ")
            .bind(now)
            .push(") RETURNING id")
            .query()
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get("id")?;
        let team = Team {
            id: TeamId(id),
            name: name.to_owned(),
            created_at: rows::instant(now)?,
        };
        record(
            &mut tx.tx,
            now,
            by,
            Change::created("team", id, snap(&team)),
        )
        .await?;
        tx.commit().await?;
        Ok(team)
    }

    pub async fn teams(&self) -> StoreResult<Vec<Team>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM teams ORDER BY name, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Team {
                    id: TeamId(r.try_get("id")?),
                    name: r.try_get("name")?,
                    created_at: rows::instant(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    pub async fn create_user(
        &self,
        d: &UserDraft,
        password_hash: &str,
        by: Option<UserId>,
    ) -> StoreResult<User> {
        let now = self.now_ms();
        let mut tx = self.begin_write().await?;
        self.check_team(&mut tx, d.team_id).await?;
        let mut sql = Sql::new(
            "INSERT INTO users (username, display_name, email, password_hash, role, team_id, \
             locale, time_zone, active, created_at, updated_at) VALUES (",
        );
        sql.bind_list([
            crate::sql::Arg::Text(d.username.clone()),
            d.display_name.clone().into(),
            d.email.as_ref().map(|e| e.as_str().to_owned()).into(),
            password_hash.into(),
            d.role.as_str().into(),
            d.team_id.map(|t| t.0).into(),
            d.locale.clone().into(),
            d.time_zone.clone().into(),
            d.active.into(),
            now.into(),
            now.into(),
        ])
        .push(") RETURNING id");
        let id = UserId(sql.query().fetch_one(&mut *tx.tx).await?.try_get("id")?);
        let u = load_user(&mut tx, id).await?;
        record(&mut tx.tx, now, by, Change::created("user", id.0, snap(&u))).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Updates a user; a new team also moves the team of the customers the
    /// user owns, so managers keep seeing exactly their team's customers.
    pub async fn update_user(
        &self,
        id: UserId,
        d: &UserDraft,
        password_hash: Option<&str>,
        by: Option<UserId>,
    ) -> StoreResult<User> {
        let now = self.now_ms();
        let mut tx = self.begin_write().await?;
        let before = load_user(&mut tx, id).await?;
        self.check_team(&mut tx, d.team_id).await?;
        let mut sql = Sql::new("UPDATE users SET username = ");
        sql.bind(d.username.clone())
            .push(", display_name = ")
            .bind(d.display_name.clone())
            .push(", email = ")
            .bind(d.email.as_ref().map(|e| e.as_str().to_owned()))
            .push(", role = ")
            .bind(d.role.as_str())
            .push(", team_id = ")
            .bind(d.team_id.map(|t| t.0))
            .push(", locale = ")
            .bind(d.locale.clone())
            .push(", time_zone = ")
            .bind(d.time_zone.clone())
            .push(", active = ")
            .bind(d.active)
            .push(", updated_at = ")
            .bind(now);
        if let Some(h) = password_hash {
            sql.push(", password_hash = ").bind(h);
        }
        sql.push(" WHERE id = ").bind(id.0);
        sql.query().execute(&mut *tx.tx).await?;
        if before.team_id != d.team_id {
            Sql::new("UPDATE customers SET team_id = ")
                .bind(d.team_id.map(|t| t.0))
                .push(" WHERE owner_id = ")
                .bind(id.0)
                .query()
                .execute(&mut *tx.tx)
                .await?;
        }
        if password_hash.is_some() || !d.active {
            // A new password or a deactivation ends every open session.
            Sql::new("DELETE FROM sessions WHERE user_id = ")
                .bind(id.0)
                .query()
                .execute(&mut *tx.tx)
                .await?;
        }
        let after = load_user(&mut tx, id).await?;
        record(
            &mut tx.tx,
            now,
            by,
            Change::new(
                "user",
                id.0,
                if password_hash.is_some() {
                    "update_password"
                } else {
                    "update"
                },
                snap(&before),
                snap(&after),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn check_team(&self, tx: &mut crate::WriteTx, team: Option<TeamId>) -> StoreResult<()> {
        if let Some(t) = team {
            let found = Sql::new("SELECT id FROM teams WHERE id = ")
                .bind(t.0)
                .query()
                .fetch_optional(&mut *tx.tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::Invalid(
                    FieldError::new("team_id", "invalid_team", "no such team").into(),
                ));
            }
        }
        Ok(())
    }

    pub async fn user(&self, id: UserId) -> StoreResult<User> {
        let row = Sql::new(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = "))
            .bind(id.0)
            .query()
            .fetch_optional(self.pool())
            .await?;
        rows::user(&row.ok_or(StoreError::NotFound)?)
    }

    pub async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u ORDER BY u.username"
        ))
        .fetch_all(self.pool())
        .await?;
        rows::all(&rows, rows::user)
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<AuthUser>> {
        let row = Sql::new(&format!(
            "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = "
        ))
        .bind(username.trim().to_lowercase())
        .query()
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(AuthUser {
                user: rows::user(&r)?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    pub async fn count_customers(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM customers")
                .fetch_one(self.pool())
                .await?
                .try_get("n")?,
        )
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users")
                .fetch_one(self.pool())
                .await?
                .try_get("n")?,
        )
    }

    pub async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> StoreResult<ApiTokenInfo> {
        let now = self.now_ms();
        let mut tx = self.begin_write().await?;
        let id: i64 = Sql::new(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (",
        )
        .bind_list([
            crate::sql::Arg::I64(user.0),
            name.into(),
            token_hash.into(),
            prefix.into(),
            now.into(),
        ])
        .push(") RETURNING id")
        .query()
        .fetch_one(&mut *tx.tx)
        .await?
        .try_get("id")?;
        record(
            &mut tx.tx,
            now,
            Some(user),
            Change::created(
                "api_token",
                id,
                Some(format!(
                    "{{\"user_id\":{},\"prefix\":{:?}}}",
                    user.0, prefix
                )),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(ApiTokenInfo {
            id: TokenId(id),
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            created_at: rows::instant(now)?,
            revoked_at: None,
        })
    }

    pub async fn tokens_of(&self, user: UserId) -> StoreResult<Vec<ApiTokenInfo>> {
        let rows = Sql::new(
            "SELECT id, name, prefix, created_at, revoked_at FROM api_tokens WHERE user_id = ",
        )
        .bind(user.0)
        .push(" ORDER BY id")
        .query()
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiTokenInfo {
                    id: TokenId(r.try_get("id")?),
                    name: r.try_get("name")?,
                    prefix: r.try_get("prefix")?,
                    created_at: rows::instant(r.try_get("created_at")?)?,
                    revoked_at: r
                        .try_get::<Option<i64>, _>("revoked_at")?
                        .map(rows::instant)
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Revokes a token of `user`; `NotFound` for anyone else's token.
    pub async fn revoke_token(&self, user: UserId, id: TokenId) -> StoreResult<()> {
        let now = self.now_ms();
        let mut tx = self.begin_write().await?;
        let n = Sql::new("UPDATE api_tokens SET revoked_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0)
            .push(" AND user_id = ")
            .bind(user.0)
            .push(" AND revoked_at IS NULL")
            .query()
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        record(
            &mut tx.tx,
            now,
            Some(user),
            Change::new("api_token", id.0, "revoke", None, None),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active user behind an unrevoked token hash.
    pub async fn user_by_token(&self, token_hash: &str) -> StoreResult<Option<User>> {
        let row = Sql::new(&format!(
            "SELECT {USER_COLS} FROM api_tokens k JOIN users u ON u.id = k.user_id \
             WHERE k.token_hash = "
        ))
        .bind(token_hash)
        .push(" AND k.revoked_at IS NULL AND u.active = 1")
        .query()
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(rows::user).transpose()
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user: UserId,
        csrf_token: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        let now = self.now_ms();
        let mut tx = self.begin_write().await?;
        // Expired sessions are swept on login, which keeps the table small
        // without a background job.
        Sql::new("DELETE FROM sessions WHERE expires_at < ")
            .bind(now)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        Sql::new(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (",
        )
        .bind_list([
            crate::sql::Arg::Text(id_hash.to_owned()),
            user.0.into(),
            csrf_token.into(),
            now.into(),
            expires_at.timestamp_millis().into(),
        ])
        .push(")")
        .query()
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionInfo>> {
        let row = Sql::new(&format!(
            "SELECT {USER_COLS}, s.csrf_token, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id_hash = "
        ))
        .bind(id_hash)
        .push(" AND s.expires_at > ")
        .bind(self.now_ms())
        .push(" AND u.active = 1")
        .query()
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionInfo {
                user: rows::user(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: rows::instant(r.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        Sql::new("DELETE FROM sessions WHERE id_hash = ")
            .bind(id_hash)
            .query()
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn load_user(tx: &mut crate::WriteTx, id: UserId) -> StoreResult<User> {
    let row = Sql::new(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = "))
        .bind(id.0)
        .query()
        .fetch_optional(&mut *tx.tx)
        .await?;
    rows::user(&row.ok_or(StoreError::NotFound)?)
}
