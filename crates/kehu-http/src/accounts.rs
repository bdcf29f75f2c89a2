//! Log in and out, the caller's own account and tokens; users and teams
//! (admins).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kehu_domain::inputs::UserInput;
use kehu_domain::*;
use kehu_storage::ApiTokenInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Authed, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send back as `X-CSRF-Token` on every change made with the session cookie.
    pub csrf_token: String,
}

/// The `Set-Cookie` value of a session cookie (empty value and max age 0
/// to end it).
pub fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "sets the HttpOnly session cookie"),
        (status = 401, body = ErrorBody)))]
/// Starts a browser session.
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let user = kehu_core::accounts::login(&state.store, &req.username, &req.password).await?;
    let (sid, csrf) = kehu_core::accounts::start_session(&state.store, user.id).await?;
    let cookie = session_cookie(
        &sid,
        kehu_core::accounts::SESSION_DAYS * 86_400,
        state.secure_cookies,
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("bad cookie"))?,
    );
    Ok((
        headers,
        axum::Json(LoginResponse {
            user,
            csrf_token: csrf,
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
/// Ends the current browser session.
pub async fn logout(State(state): State<AppState>, auth: Authed) -> ApiResult<Response> {
    if let Some(sid) = &auth.session {
        state
            .store
            .delete_session(&kehu_core::credentials::secret_hash(sid))
            .await?;
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, state.secure_cookies)) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(auth: Authed) -> axum::Json<User> {
    axum::Json(auth.user)
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", request_body = UserInput,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Changes the caller's own display name, email, password, locale or time zone.
pub async fn update_me(
    State(state): State<AppState>,
    auth: Authed,
    Json(input): Json<UserInput>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(
        kehu_core::accounts::update_user(&state.store, Some(auth.actor), auth.user.id, input)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    /// The token itself, shown this once: use it as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: ApiTokenInfo,
}

#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "auth",
    responses((status = 200, body = Vec<ApiTokenInfo>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    auth: Authed,
) -> ApiResult<axum::Json<Vec<ApiTokenInfo>>> {
    Ok(axum::Json(state.store.tokens_of(auth.user.id).await?))
}

#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = NewToken), (status = 422, body = ErrorBody)))]
/// Creates an API token for the caller.
pub async fn create_token(
    State(state): State<AppState>,
    auth: Authed,
    Json(req): Json<TokenRequest>,
) -> ApiResult<(StatusCode, axum::Json<NewToken>)> {
    let (token, info) =
        kehu_core::accounts::create_token(&state.store, auth.user.id, &req.name).await?;
    Ok((StatusCode::CREATED, axum::Json(NewToken { token, info })))
}

#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
/// Revokes one of the caller's tokens; it stops working at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    state.store.revoke_token(auth.user.id, TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn require_admin(auth: &Authed) -> ApiResult<()> {
    if auth.actor.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only admins manage users and teams"))
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody)))]
/// All users (everyone may see colleagues' names, e.g. to pick an owner).
pub async fn list_users(
    State(state): State<AppState>,
    _auth: Authed,
) -> ApiResult<axum::Json<Vec<User>>> {
    Ok(axum::Json(state.store.users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Authed,
    Json(input): Json<UserInput>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    require_admin(&auth)?;
    let u = kehu_core::accounts::create_user(&state.store, Some(auth.actor), &input).await?;
    Ok((StatusCode::CREATED, axum::Json(u)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    _auth: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(state.store.user(UserId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserInput,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Changes a user (admins); moving a user to another team moves the team
/// of the customers they own.
pub async fn update_user(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
    Json(input): Json<UserInput>,
) -> ApiResult<axum::Json<User>> {
    require_admin(&auth)?;
    Ok(axum::Json(
        kehu_core::accounts::update_user(&state.store, Some(auth.actor), UserId(id), input).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "users",
    responses((status = 200, body = Vec<Team>)))]
pub async fn list_teams(
    State(state): State<AppState>,
    _auth: Authed,
) -> ApiResult<axum::Json<Vec<Team>>> {
    Ok(axum::Json(state.store.teams().await?))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "users", request_body = TeamRequest,
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    auth: Authed,
    Json(req): Json<TeamRequest>,
) -> ApiResult<(StatusCode, axum::Json<Team>)> {
    require_admin(&auth)?;
    let t = state
        .store
        .create_team(&req.name, Some(auth.user.id))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(t)))
}
