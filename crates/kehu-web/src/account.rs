//! "My account": profile, changing one's password (which ends every
//! session and continues in a fresh one) and personal API tokens, shown once when created and
//! revocable at any time.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_core::accounts::{self, AccountError};
use kehu_domain::TokenId;
use kehu_http::accounts::session_cookie;
use kehu_http::AppState;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::{field_message, render, Me, Page};

pub struct TokenLine {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    revoked: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    username: String,
    role: String,
    team: String,
    zone: String,
    tokens: Vec<TokenLine>,
    /// A token just created: shown this once.
    new_token: Option<String>,
    password_error: Option<String>,
    password_done: bool,
    token_error: Option<String>,
}

async fn account_page(
    state: &AppState,
    page: Page,
    new_token: Option<String>,
    password_error: Option<String>,
    password_done: bool,
    token_error: Option<String>,
) -> Response {
    let tr = page.tr;
    let u = &page.me.user;
    let tokens = match state.store.tokens_of(u.id).await {
        Ok(t) => t,
        Err(e) => return page.error(e),
    };
    let team = match u.team_id {
        Some(t) => state
            .store
            .teams()
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|x| x.id == t)
            .map(|x| x.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let status = if password_error.is_some() || token_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let view = AccountPage {
        tr,
        section: "account",
        csrf: page.me.csrf.clone(),
        username: u.username.clone(),
        role: tr.value("role", u.role.as_str()),
        team,
        zone: u.time_zone.clone(),
        tokens: tokens
            .iter()
            .map(|t| TokenLine {
                id: t.id.0,
                name: t.name.clone(),
                prefix: t.prefix.clone(),
                created: page.when(t.created_at),
                revoked: t.revoked_at.map(|r| page.when(r)).unwrap_or_default(),
            })
            .collect(),
        new_token,
        password_error,
        password_done,
        token_error,
        me: Some(page.me),
    };
    let mut r = render(view);
    *r.status_mut() = status;
    r
}

pub async fn account(State(state): State<AppState>, page: Page) -> Response {
    account_page(&state, page, None, None, false, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

fn account_error(tr: &Tr, e: AccountError) -> String {
    match e {
        AccountError::BadCredentials => tr.t("account.wrong_current").to_owned(),
        AccountError::Store(kehu_storage::StoreError::Invalid(v)) => {
            v.0.iter()
                .map(|f| field_message(tr, f))
                .collect::<Vec<_>>()
                .join("; ")
        }
        other => {
            tracing::error!(error = %other, "account change failed");
            tr.t("error.internal").to_owned()
        }
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    if f.new != f.repeat {
        let msg = page.tr.t("account.mismatch").to_owned();
        return account_page(&state, page, None, Some(msg), false, None).await;
    }
    let result = accounts::change_password(&state.store, &page.me.user, &f.current, &f.new).await;
    match result {
        Ok((sid, csrf)) => {
            let mut page = page;
            page.me.session = sid.clone();
            page.me.csrf = csrf;
            let mut r = account_page(&state, page, None, None, true, None).await;
            let cookie =
                session_cookie(&sid, accounts::SESSION_DAYS * 86_400, state.secure_cookies);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let msg = account_error(&page.tr, e);
            account_page(&state, page, None, Some(msg), false, None).await
        }
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    match accounts::create_token(&state.store, page.me.user.id, &f.name).await {
        Ok((clear, _)) => account_page(&state, page, Some(clear), None, false, None).await,
        Err(e) => {
            let msg = account_error(&page.tr, e);
            account_page(&state, page, None, None, false, Some(msg)).await
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn revoke_token(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    match state.store.revoke_token(page.me.user.id, TokenId(id)).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => page.error(e),
    }
}
