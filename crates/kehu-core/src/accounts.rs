//! Accounts: creating and changing users (admins only, or oneself for the
//! password and preferences), logging in, tokens and sessions.

use chrono::Duration;
use kehu_domain::inputs::UserInput;
use kehu_domain::*;
use kehu_storage::{ApiTokenInfo, Store, StoreError};

use crate::credentials::{self, hash_password, secret_hash, verify_dummy, verify_password};

/// How long a browser session lasts.
pub const SESSION_DAYS: i64 = 14;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn hash(p: &str) -> Result<String, AccountError> {
    hash_password(p).map_err(|e| AccountError::Hash(e.to_string()))
}

fn admin_only(actor: Option<Actor>) -> Result<Option<UserId>, AccountError> {
    match actor {
        None => Ok(None),
        Some(a) if a.is_admin() => Ok(Some(a.user_id)),
        Some(_) => Err(StoreError::Forbidden("only admins manage users").into()),
    }
}

/// Creates a user. `actor` None means the operator at the command line.
pub async fn create_user(
    store: &Store,
    actor: Option<Actor>,
    input: &UserInput,
) -> Result<User, AccountError> {
    let by = admin_only(actor)?;
    let draft = input.validate(true).map_err(StoreError::from)?;
    let h = hash(draft.password.as_deref().unwrap_or_default())?;
    Ok(store.create_user(&draft, &h, by).await?)
}

/// Changes a user. Admins change anything; users change their own display
/// name, email, password, locale and time zone, never their role or team.
pub async fn update_user(
    store: &Store,
    actor: Option<Actor>,
    id: UserId,
    input: UserInput,
) -> Result<User, AccountError> {
    let existing = store.user(id).await?;
    let by = match actor {
        Some(a) if !a.is_admin() => {
            if a.user_id != id {
                return Err(StoreError::NotFound.into());
            }
            let changes_rights = input
                .role
                .as_deref()
                .is_some_and(|r| r != existing.role.as_str())
                || input.team_id.is_some_and(|t| Some(t) != existing.team_id)
                || input.active == Some(false)
                || input
                    .username
                    .as_deref()
                    .is_some_and(|u| u != existing.username);
            if changes_rights {
                return Err(StoreError::Forbidden(
                    "only admins change usernames, roles, teams or activation",
                )
                .into());
            }
            Some(a.user_id)
        }
        other => other.map(|a| a.user_id),
    };
    let draft = input
        .over(&existing)
        .validate(false)
        .map_err(StoreError::from)?;
    let h = match &draft.password {
        Some(p) => Some(hash(p)?),
        None => None,
    };
    Ok(store.update_user(id, &draft, h.as_deref(), by).await?)
}

/// The user behind a username and password, if they match and are active.
/// A user changes their own password: the current one must be right.
/// Every session of the user ends (the storage does that on any password
/// change); the caller gets a fresh one, `(session id, CSRF token)`, to
/// carry on in, so a stolen session cookie does not outlive the change.
pub async fn change_password(
    store: &Store,
    user: &User,
    current: &str,
    new: &str,
) -> Result<(String, String), AccountError> {
    login(store, &user.username, current).await?;
    let input = UserInput {
        password: Some(new.to_owned()),
        ..Default::default()
    };
    let actor = kehu_storage::actor_of(user);
    update_user(store, Some(actor), user.id, input).await?;
    start_session(store, user.id).await
}

pub async fn login(store: &Store, username: &str, password: &str) -> Result<User, AccountError> {
    match store.user_by_username(username).await? {
        Some(u) if u.user.active && verify_password(password, &u.password_hash) => Ok(u.user),
        Some(_) => Err(AccountError::BadCredentials),
        None => {
            verify_dummy(password);
            Err(AccountError::BadCredentials)
        }
    }
}

/// A new session for a logged-in user: (session id for the cookie, CSRF token).
pub async fn start_session(store: &Store, user: UserId) -> Result<(String, String), AccountError> {
    let (sid, csrf) = credentials::new_session();
    let expires = store.clock().now() + Duration::days(SESSION_DAYS);
    store
        .create_session(&secret_hash(&sid), user, &csrf, expires)
        .await?;
    Ok((sid, csrf))
}

/// Creates an API token; returns the clear token (shown once) and its info.
pub async fn create_token(
    store: &Store,
    user: UserId,
    name: &str,
) -> Result<(String, ApiTokenInfo), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            FieldError::new(
                "name",
                "invalid_name",
                "give the token a name of 1 to 100 characters",
            )
            .into(),
        )
        .into());
    }
    let (clear, h, prefix) = credentials::new_token();
    let info = store.create_token(user, name, &h, &prefix).await?;
    Ok((clear, info))
}

/// The user a bearer token belongs to.
pub async fn user_by_token(store: &Store, token: &str) -> Result<Option<User>, AccountError> {
    Ok(store.user_by_token(&secret_hash(token)).await?)
}
