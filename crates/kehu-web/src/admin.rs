//! Administration: users (create, role, team, deactivate), teams, and
//! ownership transfer when a rep leaves or a territory changes hands.
//! Users and teams are for admins; managers may transfer within their team.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kehu_core::accounts::{self, AccountError};
use kehu_domain::inputs::UserInput;
use kehu_domain::{Role, Scope, TeamId, UserId};
use kehu_http::AppState;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::{field_message, render, store_error_text, Me, Page};

pub struct UserLine {
    id: i64,
    username: String,
    display_name: String,
    /// (key, label, selected)
    roles: Vec<(&'static str, String, bool)>,
    /// (id, name, selected)
    teams: Vec<(i64, String, bool)>,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    is_admin: bool,
    users: Vec<UserLine>,
    teams: Vec<(i64, String)>,
    roles: Vec<(&'static str, String)>,
    /// Users the actor may transfer from and to: (id, label).
    transferable: Vec<(i64, String)>,
    flash: Option<String>,
    error: Option<String>,
}

async fn admin_page(
    state: &AppState,
    page: Page,
    flash: Option<String>,
    error: Option<String>,
) -> Response {
    let tr = page.tr;
    let actor = kehu_storage::actor_of(&page.me.user);
    if !matches!(actor.role, Role::Admin | Role::Manager) {
        return page.error(kehu_storage::StoreError::Forbidden(
            "admins and managers only",
        ));
    }
    let (users, teams) = match (state.store.users().await, state.store.teams().await) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return page.error(e),
    };
    let team_names: HashMap<TeamId, String> =
        teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let in_scope = |team: Option<TeamId>| match actor.scope() {
        Scope::All => true,
        Scope::Team(t) => team == Some(t),
        _ => false,
    };
    let transferable = users
        .iter()
        .filter(|u| in_scope(u.team_id))
        .map(|u| {
            let team = u
                .team_id
                .and_then(|t| team_names.get(&t).cloned())
                .unwrap_or_default();
            let state = if u.active {
                String::new()
            } else {
                format!(" ({})", tr.t("admin.inactive"))
            };
            (u.id.0, format!("{} · {team}{state}", u.display_name))
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let view = AdminPage {
        tr,
        section: "admin",
        csrf: page.me.csrf.clone(),
        is_admin: actor.is_admin(),
        users: users
            .iter()
            .map(|u| UserLine {
                id: u.id.0,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                roles: Role::KEYS
                    .iter()
                    .map(|r| (*r, tr.value("role", r), *r == u.role.as_str()))
                    .collect(),
                teams: teams
                    .iter()
                    .map(|t| (t.id.0, t.name.clone(), Some(t.id) == u.team_id))
                    .collect(),
                active: u.active,
            })
            .collect(),
        teams: teams.iter().map(|t| (t.id.0, t.name.clone())).collect(),
        roles: Role::KEYS
            .iter()
            .map(|r| (*r, tr.value("role", r)))
            .collect(),
        transferable,
        flash,
        error,
        me: Some(page.me),
    };
    let mut r = render(view);
    *r.status_mut() = status;
    r
}

pub async fn admin(State(state): State<AppState>, page: Page) -> Response {
    admin_page(&state, page, None, None).await
}

fn account_error(tr: &Tr, e: AccountError) -> String {
    match e {
        AccountError::Store(kehu_storage::StoreError::Invalid(v)) => {
            v.0.iter()
                .map(|f| field_message(tr, f))
                .collect::<Vec<_>>()
                .join("; ")
        }
        AccountError::Store(kehu_storage::StoreError::Forbidden(_)) => {
            tr.t("error.forbidden").to_owned()
        }
        AccountError::Store(kehu_storage::StoreError::Conflict { .. }) => {
            tr.t("admin.username_taken").to_owned()
        }
        other => {
            tracing::error!(error = %other, "user change failed");
            tr.t("error.internal").to_owned()
        }
    }
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    active: Option<String>,
}

fn team_of(s: &str) -> Option<TeamId> {
    s.trim().parse().ok().map(TeamId)
}

pub async fn create_user(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<UserForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let input = UserInput {
        username: Some(f.username.trim().to_owned()),
        display_name: Some(f.display_name.trim().to_owned()).filter(|s| !s.is_empty()),
        password: Some(f.password),
        role: Some(f.role),
        team_id: team_of(&f.team_id),
        ..Default::default()
    };
    let actor = kehu_storage::actor_of(&page.me.user);
    match accounts::create_user(&state.store, Some(actor), &input).await {
        Ok(u) => {
            let msg = page.tr.f("admin.user_created", &[("name", &u.username)]);
            admin_page(&state, page, Some(msg), None).await
        }
        Err(e) => {
            let msg = account_error(&page.tr, e);
            admin_page(&state, page, None, Some(msg)).await
        }
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(f): Form<UserForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let input = UserInput {
        display_name: Some(f.display_name.trim().to_owned()).filter(|s| !s.is_empty()),
        password: Some(f.password).filter(|p| !p.is_empty()),
        role: Some(f.role).filter(|r| !r.is_empty()),
        team_id: team_of(&f.team_id),
        active: Some(f.active.is_some()),
        ..Default::default()
    };
    let actor = kehu_storage::actor_of(&page.me.user);
    if !actor.is_admin() {
        return page.error(kehu_storage::StoreError::Forbidden(
            "only admins manage users",
        ));
    }
    match accounts::update_user(&state.store, Some(actor), UserId(id), input).await {
        Ok(u) => {
            let msg = page.tr.f("admin.user_saved", &[("name", &u.username)]);
            admin_page(&state, page, Some(msg), None).await
        }
        Err(e) => {
            let msg = account_error(&page.tr, e);
            admin_page(&state, page, None, Some(msg)).await
        }
    }
}

#[derive(Deserialize)]
pub struct TeamForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create_team(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<TeamForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    if !page.me.user.role.eq(&Role::Admin) {
        return page.error(kehu_storage::StoreError::Forbidden(
            "only admins manage teams",
        ));
    }
    let name = f.name.trim();
    if name.is_empty() {
        let msg = field_message(&page.tr, &kehu_domain::FieldError::required("name"));
        return admin_page(&state, page, None, Some(msg)).await;
    }
    match state.store.create_team(name, Some(page.me.user.id)).await {
        Ok(t) => {
            let msg = page.tr.f("admin.team_created", &[("name", &t.name)]);
            admin_page(&state, page, Some(msg), None).await
        }
        Err(e) => {
            let msg = store_error_text(&page.tr, e);
            admin_page(&state, page, None, Some(msg)).await
        }
    }
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub async fn transfer(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<TransferForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let (Ok(from), Ok(to)) = (f.from.trim().parse(), f.to.trim().parse()) else {
        let msg = page.tr.t("admin.pick_both").to_owned();
        return admin_page(&state, page, None, Some(msg)).await;
    };
    if from == to {
        let msg = page.tr.t("admin.pick_both").to_owned();
        return admin_page(&state, page, None, Some(msg)).await;
    }
    match page
        .scoped(&state)
        .transfer_all(UserId(from), UserId(to))
        .await
    {
        Ok(n) => {
            let msg = page.tr.f("admin.transferred", &[("count", &n.to_string())]);
            admin_page(&state, page, Some(msg), None).await
        }
        Err(e @ kehu_storage::StoreError::Forbidden(_)) => page.error(e),
        Err(e) => {
            let msg = store_error_text(&page.tr, e);
            admin_page(&state, page, None, Some(msg)).await
        }
    }
}
