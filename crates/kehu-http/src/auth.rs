//! Who is calling: a bearer API token, or a session cookie plus the CSRF
//! header for anything that changes data.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use kehu_domain::{Actor, User};
use kehu_storage::actor_of;

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "kehu_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub actor: Actor,
    /// The session's id (cookie value) when authenticated by cookie.
    pub session: Option<String>,
}

impl Authed {
    pub fn scoped<'a>(&self, state: &'a AppState) -> kehu_storage::Scoped<'a> {
        state.store.scoped(self.actor)
    }
}

/// Reads one cookie from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(ApiError::unauthorized)?;
            let user = kehu_core::accounts::user_by_token(&state.store, token)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            return Ok(Authed {
                actor: actor_of(&user),
                user,
                session: None,
            });
        }
        let sid = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(ApiError::unauthorized)?;
        let session = state
            .store
            .session(&kehu_core::credentials::secret_hash(sid))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if sent != session.csrf_token {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token header for a cookie-authenticated change",
                ));
            }
        }
        Ok(Authed {
            actor: actor_of(&session.user),
            user: session.user,
            session: Some(sid.to_owned()),
        })
    }
}
