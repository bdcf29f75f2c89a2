//! The pages. Each handler reads through the same scoped storage as the
//! API, formats values for the user's language and time zone, and renders
//! a template; every state-changing form carries the session's CSRF token.

use askama::Template;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use kehu_domain::inputs::{TaskInput, UserInput};
use kehu_domain::*;
use kehu_http::accounts::session_cookie;
use kehu_http::auth::{cookie, SESSION_COOKIE};
use kehu_http::customers::CustomerQuery;
use kehu_http::AppState;
use kehu_storage::{actor_of, StoreError};
use serde::Deserialize;

use crate::i18n::{Locale, Tr};

const LANG_COOKIE: &str = "kehu_lang";

/// The signed-in user as pages see them.
pub struct Me {
    pub user: User,
    pub display_name: String,
    pub csrf: String,
    pub session: String,
}

/// The page's language: the user's setting, else the browser's.
fn locale_of(parts_headers: &HeaderMap, user: Option<&User>) -> Locale {
    if let Some(u) = user {
        if let Some(l) = Locale::parse(&u.locale) {
            return l;
        }
    }
    cookie(parts_headers, LANG_COOKIE)
        .and_then(Locale::parse)
        .or_else(|| {
            parts_headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(Locale::ZhCn)
}

/// A page request by a signed-in user; anyone else is sent to the login page.
pub struct Page {
    pub me: Me,
    pub tr: Tr,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let sid = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or_else(to_login)?
            .to_owned();
        let session = state
            .store
            .session(&kehu_core::credentials::secret_hash(&sid))
            .await
            .map_err(|_| to_login())?
            .ok_or_else(to_login)?;
        let tr = Tr::new(locale_of(&parts.headers, Some(&session.user)));
        Ok(Page {
            me: Me {
                display_name: session.user.display_name.clone(),
                user: session.user,
                csrf: session.csrf_token,
                session: sid,
            },
            tr,
        })
    }
}

impl Page {
    pub(crate) fn scoped<'a>(&self, state: &'a AppState) -> kehu_storage::Scoped<'a> {
        state.store.scoped(actor_of(&self.me.user))
    }

    /// The refusal of a form whose CSRF token is not this session's.
    pub(crate) fn refuse_csrf(&self, sent: &str) -> Option<Response> {
        if !sent.is_empty() && sent == self.me.csrf {
            None
        } else {
            Some((StatusCode::FORBIDDEN, self.tr.t("error.csrf").to_owned()).into_response())
        }
    }

    pub(crate) fn error(&self, e: StoreError) -> Response {
        store_error(&self.tr, e)
    }

    /// `t` in the user's time zone, as pages show times and forms take
    /// them ([`LOCAL_TIME`]).
    pub(crate) fn when(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&kehu_core::time::zone(&self.me.user.time_zone));
        local.format(LOCAL_TIME).to_string()
    }
}

/// `YYYY-MM-DD HH:MM`: how pages show a time and forms take one.
pub(crate) const LOCAL_TIME: &str = "%Y-%m-%d %H:%M";

/// `¥1,234.50`: yuan sign, thousands separators, two decimals.
pub fn money(minor: i64) -> String {
    let neg = minor < 0;
    let abs = minor.unsigned_abs();
    let (yuan, fen) = (abs / 100, abs % 100);
    let digits = yuan.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}¥{grouped}.{fen:02}", if neg { "-" } else { "" })
}

/// Display names of every user, for "owner" and "by" columns.
pub(crate) async fn user_names(state: &AppState) -> std::collections::HashMap<UserId, String> {
    state
        .store
        .users()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect()
}

pub(crate) fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

pub(crate) fn store_error(tr: &Tr, e: StoreError) -> Response {
    match e {
        StoreError::NotFound => {
            (StatusCode::NOT_FOUND, tr.t("error.not_found").to_owned()).into_response()
        }
        StoreError::Forbidden(_) => {
            (StatusCode::FORBIDDEN, tr.t("error.forbidden").to_owned()).into_response()
        }
        e @ StoreError::Invalid(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, store_error_text(tr, e)).into_response()
        }
        other => {
            tracing::error!(error = %other, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                tr.t("error.internal").to_owned(),
            )
                .into_response()
        }
    }
}

/// A field error in the user's language: "<field label>: <problem>".
pub fn field_message(tr: &Tr, f: &FieldError) -> String {
    let label = tr.t_string(&format!("field.{}", f.field));
    let problem = tr.t_string(&format!("validation.{}", f.code));
    format!("{label}: {problem}")
}

// ------------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    error: Option<String>,
    username: String,
}

pub async fn login_form(headers: HeaderMap) -> Response {
    let tr = Tr::new(locale_of(&headers, None));
    render(LoginPage {
        tr,
        me: None,
        section: "",
        error: None,
        username: String::new(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let tr = Tr::new(locale_of(&headers, None));
    let fail = |msg: String| {
        let mut r = render(LoginPage {
            tr,
            me: None,
            section: "",
            error: Some(msg),
            username: f.username.clone(),
        });
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r
    };
    if crate::limits::blocked(&f.username) {
        let mut r = fail(tr.t("login.too_many").to_owned());
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return r;
    }
    let user = match kehu_core::accounts::login(&state.store, &f.username, &f.password).await {
        Ok(u) => u,
        Err(_) => {
            crate::limits::failed(&f.username);
            return fail(tr.t("login.failed").to_owned());
        }
    };
    crate::limits::succeeded(&f.username);
    let (sid, _) = match kehu_core::accounts::start_session(&state.store, user.id).await {
        Ok(s) => s,
        Err(_) => return fail(tr.t("error.internal").to_owned()),
    };
    let cookie = session_cookie(
        &sid,
        kehu_core::accounts::SESSION_DAYS * 86_400,
        state.secure_cookies,
    );
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    lang: String,
}

pub async fn logout(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let _ = state
        .store
        .delete_session(&kehu_core::credentials::secret_hash(&page.me.session))
        .await;
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, state.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Switches the language and remembers it in the user's settings.
pub async fn set_lang(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let locale = Locale::parse(&f.lang).unwrap_or(Locale::ZhCn);
    let input = UserInput {
        locale: Some(locale.tag().into()),
        ..Default::default()
    };
    let actor = actor_of(&page.me.user);
    if let Err(e) =
        kehu_core::accounts::update_user(&state.store, Some(actor), page.me.user.id, input).await
    {
        tracing::error!(error = %e, "language not saved");
    }
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_owned()))
        })
        .unwrap_or_else(|| "/customers".into());
    let mut r = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        locale.tag()
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// --------------------------------------------------------------- customers

pub struct Row {
    id: i64,
    name: String,
    tags: Vec<String>,
    classification: String,
    region: String,
    owner: String,
    total: String,
    last_order: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    rows: Vec<Row>,
    q: String,
    tag: String,
    province: String,
    classifications: Vec<(&'static str, String, bool)>,
    sorts: Vec<(&'static str, String, bool)>,
    next_url: Option<String>,
    error: Option<String>,
    flash: Option<String>,
    csrf: String,
    can_write: bool,
    /// Users the actor may assign customers to (managers and admins).
    owners: Vec<(i64, String)>,
    /// The list's filters as a query string, for export links and "back".
    filters: String,
}

pub(crate) fn region(c: &Customer) -> String {
    match (&c.province, &c.city) {
        (Some(p), Some(city)) if p != city => format!("{p} {city}"),
        (_, Some(city)) => city.clone(),
        (Some(p), None) => p.clone(),
        _ => String::new(),
    }
}

/// The flash message of a bulk action, carried across its redirect.
pub(crate) const FLASH_COOKIE: &str = "kehu_flash";

fn flash_text(tr: &Tr, v: &str) -> Option<String> {
    let (what, n) = v.split_once(':')?;
    let n: u64 = n.parse().ok()?;
    match what {
        "assigned" | "tagged" => Some(tr.f(&format!("bulk.{what}"), &[("count", &n.to_string())])),
        _ => None,
    }
}

pub async fn customers(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let tr = page.tr;
    let all_users = state.store.users().await.unwrap_or_default();
    let actor = actor_of(&page.me.user);
    let owners = if matches!(actor.role, Role::Admin | Role::Manager) {
        all_users
            .iter()
            .filter(|u| {
                u.active
                    && match actor.scope() {
                        Scope::All => true,
                        Scope::Team(t) => u.team_id == Some(t),
                        _ => false,
                    }
            })
            .map(|u| (u.id.0, u.display_name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let users: std::collections::HashMap<UserId, String> = all_users
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let flash = cookie(&headers, FLASH_COOKIE).and_then(|v| flash_text(&tr, v));
    let mut filters: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("q", &q.q),
        ("classification", &q.classification),
        ("tag", &q.tag),
        ("province", &q.province),
        ("source", &q.source),
        ("industry", &q.industry),
        ("status", &q.status),
        ("sort", &q.sort),
        ("dir", &q.dir),
    ] {
        if let Some(v) = v {
            filters.push((k, v.clone()));
        }
    }
    for (k, v) in [("owner_id", q.owner_id), ("team_id", q.team_id)] {
        if let Some(v) = v {
            filters.push((k, v.to_string()));
        }
    }
    let filters = encode_query(&filters);
    let mut error = None;
    let mut rows = Vec::new();
    let mut next_url = None;
    match q.spec() {
        Err(_) => error = Some(tr.t("customers.bad_filter").to_owned()),
        Ok(spec) => {
            let found = page
                .scoped(&state)
                .customers(
                    &spec.filter,
                    spec.sort,
                    spec.dir,
                    q.cursor.as_deref(),
                    q.limit.unwrap_or(50),
                )
                .await;
            match found {
                Ok(p) => {
                    rows = p
                        .items
                        .iter()
                        .map(|c| Row {
                            id: c.id.0,
                            name: c.name.clone(),
                            tags: c.tags.iter().map(ToString::to_string).collect(),
                            classification: tr.value("classification", c.classification.as_str()),
                            region: region(c),
                            owner: users.get(&c.owner_id).cloned().unwrap_or_default(),
                            total: money(c.aggregates.total_amount),
                            last_order: c
                                .aggregates
                                .last_order_date
                                .map(|d| d.to_string())
                                .unwrap_or_default(),
                        })
                        .collect();
                    next_url = p.next_cursor.map(|cur| {
                        let cursor = encode_query(&[("cursor", cur)]);
                        if filters.is_empty() {
                            format!("/customers?{cursor}")
                        } else {
                            format!("/customers?{filters}&{cursor}")
                        }
                    });
                }
                Err(e) => error = Some(store_error_text(&tr, e)),
            }
        }
    }
    let mut r = render(CustomersPage {
        tr,
        section: "customers",
        rows,
        q: q.q.clone().unwrap_or_default(),
        tag: q.tag.clone().unwrap_or_default(),
        province: q.province.clone().unwrap_or_default(),
        classifications: Classification::KEYS
            .iter()
            .map(|k| {
                (
                    *k,
                    tr.value("classification", k),
                    q.classification.as_deref() == Some(*k),
                )
            })
            .collect(),
        sorts: kehu_storage::CustomerSort::KEYS
            .iter()
            .map(|k| {
                let on = q.sort.as_deref().unwrap_or("created_at") == *k;
                (*k, tr.t_string(&format!("sort.{k}")), on)
            })
            .collect(),
        next_url,
        error,
        csrf: page.me.csrf.clone(),
        can_write: actor.can_write(),
        owners,
        filters,
        me: Some(page.me),
        flash: flash.clone(),
    });
    if flash.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!("{FLASH_COOKIE}=; Path=/; Max-Age=0")) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r
}

/// Bulk actions on the customers ticked in the list: assign an owner or
/// add a tag. The list comes back with the same filters and a message.
pub async fn bulk(
    State(state): State<AppState>,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    if let Some(r) = page.refuse_csrf(&get("_csrf")) {
        return r;
    }
    let ids: Vec<CustomerId> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok().map(CustomerId))
        .collect();
    let back = format!("/customers?{}", get("filters"));
    if ids.is_empty() {
        return Redirect::to(&back).into_response();
    }
    let s = page.scoped(&state);
    let done = match get("action").as_str() {
        "assign" => match get("owner_id").parse() {
            Ok(owner) => s
                .transfer_customers(&ids, UserId(owner))
                .await
                .map(|n| format!("assigned:{n}")),
            Err(_) => return Redirect::to(&back).into_response(),
        },
        "tag" => match Tag::parse("tag", &get("tag")) {
            Ok(tag) => s
                .tag_customers(&ids, &tag)
                .await
                .map(|n| format!("tagged:{n}")),
            Err(e) => Err(StoreError::Invalid(e.into())),
        },
        _ => return Redirect::to(&back).into_response(),
    };
    match done {
        Ok(flash) => {
            let mut r = Redirect::to(&back).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{FLASH_COOKIE}={flash}; Path=/; Max-Age=60; SameSite=Lax; HttpOnly"
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => store_error(&page.tr, e),
    }
}

pub(crate) fn store_error_text(tr: &Tr, e: StoreError) -> String {
    match e {
        StoreError::Invalid(v) => {
            v.0.iter()
                .map(|f| field_message(tr, f))
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => tr.t("error.internal").to_owned(),
    }
}

/// `k=v&…` with percent-encoding of everything but unreserved characters.
pub(crate) fn encode_query(params: &[(&str, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// -------------------------------------------------------------- follow-ups

pub struct TaskView {
    id: i64,
    customer_id: Option<i64>,
    title: String,
    due: String,
}

#[derive(Template)]
#[template(path = "follow_ups.html")]
struct FollowUpsPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    groups: Vec<(String, Vec<TaskView>)>,
}

pub async fn follow_ups(State(state): State<AppState>, page: Page) -> Response {
    let tr = page.tr;
    let today = kehu_core::time::today_in(state.store.clock().now(), &page.me.user.time_zone);
    let f = match page.scoped(&state).follow_ups(None, today).await {
        Ok(f) => f,
        Err(e) => return store_error(&tr, e),
    };
    let view = |tasks: Vec<Task>| {
        tasks
            .into_iter()
            .map(|t| TaskView {
                id: t.id.0,
                customer_id: t.customer_id.map(|c| c.0),
                title: t.title,
                due: t.due_date.to_string(),
            })
            .collect::<Vec<_>>()
    };
    render(FollowUpsPage {
        tr,
        section: "follow_ups",
        csrf: page.me.csrf.clone(),
        groups: vec![
            (tr.t("follow_ups.overdue").to_owned(), view(f.overdue)),
            (tr.t("follow_ups.today").to_owned(), view(f.today)),
            (tr.t("follow_ups.upcoming").to_owned(), view(f.upcoming)),
        ],
        me: Some(page.me),
    })
}

pub async fn task_done(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let input = TaskInput {
        done: Some(true),
        ..Default::default()
    };
    match page.scoped(&state).update_task(TaskId(id), input).await {
        Ok(_) => Redirect::to("/follow-ups").into_response(),
        Err(e) => store_error(&page.tr, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_yuan_sign_and_separators() {
        assert_eq!(money(123_456_789), "¥1,234,567.89");
        assert_eq!(money(5), "¥0.05");
        assert_eq!(money(-100_000), "-¥1,000.00");
    }
}
