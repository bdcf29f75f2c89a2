//! Kehu's web UI: server-rendered pages over the same scoped storage as the
//! API, in zh-CN and en, with every asset embedded in the binary.

mod forms;
pub mod i18n;
mod limits;
pub mod pages;

use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use kehu_http::AppState;

/// The pages and their assets, to merge into the application router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang", post(pages::set_lang))
        .route("/customers", get(pages::customers))
        .route(
            "/customers/new",
            get(forms::new_customer).post(forms::create_customer),
        )
        .route("/customers/{id}", get(pages::customer))
        .route(
            "/customers/{id}/edit",
            get(forms::edit_customer).post(forms::update_customer),
        )
        .route("/customers/{id}/interactions", post(pages::log_interaction))
        .route("/follow-ups", get(pages::follow_ups))
        .route("/tasks/{id}/done", post(pages::task_done))
        .route("/assets/app.css", get(css))
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
