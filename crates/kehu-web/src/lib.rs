//! Kehu's web UI: server-rendered pages over the same scoped storage as the
//! API, in zh-CN and en, with every asset embedded in the binary.

mod account;
mod admin;
mod analytics;
mod customer;
mod dashboard;
mod duplicates;
mod forms;
pub mod i18n;
mod import;
mod insight;
mod limits;
pub mod pages;
mod svg;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use kehu_http::AppState;

/// The pages and their assets, to merge into the application router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang", post(pages::set_lang))
        .route("/customers", get(pages::customers))
        .route("/customers/bulk", post(pages::bulk))
        .route(
            "/customers/new",
            get(forms::new_customer).post(forms::create_customer),
        )
        .route("/customers/{id}", get(customer::customer))
        .route(
            "/customers/{id}/edit",
            get(forms::edit_customer).post(forms::update_customer),
        )
        .route(
            "/customers/{id}/interactions",
            post(customer::log_interaction),
        )
        .route(
            "/customers/{id}/contacts/new",
            get(forms::new_contact).post(forms::create_contact),
        )
        .route(
            "/contacts/{id}/edit",
            get(forms::edit_contact).post(forms::update_contact),
        )
        .route(
            "/customers/{id}/orders/new",
            get(forms::new_order).post(forms::create_order),
        )
        .route(
            "/orders/{id}/edit",
            get(forms::edit_order).post(forms::update_order),
        )
        .route("/import", get(import::import_form).post(import::upload))
        .route("/import/{id}", get(import::job))
        .route("/import/{id}/apply", post(import::apply))
        .route("/account", get(account::account))
        .route("/account/password", post(account::change_password))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/admin", get(admin::admin))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{id}", post(admin::update_user))
        .route("/admin/teams", post(admin::create_team))
        .route("/admin/transfer", post(admin::transfer))
        .route("/duplicates", get(duplicates::duplicates))
        .route("/duplicates/compare", get(duplicates::compare))
        .route("/duplicates/merge", post(duplicates::merge))
        .route(
            "/interactions/{id}/edit",
            get(forms::edit_interaction).post(forms::update_interaction),
        )
        .route("/analytics", get(analytics::analytics))
        .route("/analytics/run", post(analytics::run))
        .route("/follow-ups", get(pages::follow_ups))
        .route("/tasks/{id}/done", post(pages::task_done))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
}

/// The little script of the UI: progressive enhancement only, every page
/// works without it.
async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/app.js"),
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/app.css"),
    )
}
