//! Kehu's HTTP API. Handlers hold no SQL and decide no visibility: they
//! extract the caller ([`auth::Authed`]), call a scoped store or a use case
//! of `kehu-core`, and render JSON. The OpenAPI document is generated from
//! the handlers' annotations and served at `/api/openapi.json`.

pub mod accounts;
pub mod analytics;
pub mod auth;
pub mod customers;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod files;
pub mod jobs;
pub mod records;

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kehu_storage::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    pub metrics: PrometheusHandle,
    /// Dashboard figures per scope, recomputed every few minutes.
    pub dashboards: std::sync::Arc<dashboard::DashboardCache>,
    /// Imports uploaded from the browser, validated and waiting or running.
    pub imports: std::sync::Arc<jobs::ImportJobs>,
    /// Held while the customer value analysis runs.
    pub analysis: std::sync::Arc<analytics::AnalysisGuard>,
    /// The company-wide analytics overview of the latest run.
    pub overviews: std::sync::Arc<analytics::OverviewCache>,
}

impl AppState {
    pub fn new(store: Store, secure_cookies: bool) -> Self {
        Self {
            store,
            secure_cookies,
            metrics: metrics_handle(),
            dashboards: Default::default(),
            imports: Default::default(),
            analysis: Default::default(),
            overviews: Default::default(),
        }
    }
}

/// The process-wide Prometheus recorder, installed on first use.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is installed already, in
            // which case this handle simply renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kehu API",
        description = "Customer operations: customers, contacts with key-decision-maker data, \
                       interactions, follow-ups, orders. Authenticate with a bearer API token \
                       (create one at POST /api/v1/me/tokens or with `kehu token create`) or \
                       with the session cookie of POST /api/v1/auth/login plus X-CSRF-Token.",
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "customers"), (name = "contacts"), (name = "interactions"),
        (name = "tasks"), (name = "orders"), (name = "auth"), (name = "users"), (name = "import"), (name = "dashboard"), (name = "analytics"), (name = "ops"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    use accounts::*;
    use customers::*;
    use records::*;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(check_duplicates))
        .routes(routes!(transfer))
        .routes(routes!(tag_customers))
        .routes(routes!(merge))
        .routes(routes!(audit))
        .routes(routes!(contacts_of))
        .routes(routes!(create_contact))
        .routes(routes!(get_contact, update_contact, delete_contact))
        .routes(routes!(merge_contact))
        .routes(routes!(interactions_of))
        .routes(routes!(create_interaction))
        .routes(routes!(
            get_interaction,
            update_interaction,
            delete_interaction
        ))
        .routes(routes!(tasks_of))
        .routes(routes!(create_task))
        .routes(routes!(get_task, update_task, delete_task))
        .routes(routes!(follow_ups))
        .routes(routes!(orders_of))
        .routes(routes!(create_order))
        .routes(routes!(get_order, update_order, delete_order))
        .routes(routes!(dashboard::dashboard))
        .routes(routes!(analytics::customer_analytics))
        .routes(routes!(analytics::latest))
        .routes(routes!(analytics::run))
        .routes(routes!(analytics::refresh_now))
        .routes(routes!(files::import_file))
        .routes(routes!(files::export))
        .routes(routes!(healthz))
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// The whole HTTP surface: API, OpenAPI document, health and metrics.
/// `extra` is merged in (the web UI) before the shared layers apply.
pub fn app(state: AppState, extra: Router<AppState>) -> Router {
    let (api, doc) = api_router().split_for_parts();
    // Rendered once: the document is the same for every request.
    let doc: axum::body::Bytes = serde_json::to_vec(&doc).unwrap_or_default().into();
    api.route(
        "/api/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    doc,
                )
            }
        }),
    )
    .route("/metrics", get(metrics_text))
    .route("/api/{*rest}", axum::routing::any(api_not_found))
    .merge(extra)
    .layer(axum::middleware::from_fn(track))
    .layer(tower_http::limit::RequestBodyLimitLayer::new(
        64 * 1024 * 1024,
    ))
    .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such API endpoint")
}

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "the server and its database answer"),
        (status = 503, description = "the database does not answer")))]
/// Liveness and database reachability, for load balancers and monitors.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> String {
    state.metrics.render()
}

/// Counts requests and records their latency per route template.
async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("kehu_http_requests_total", &labels).increment(1);
    metrics::histogram!("kehu_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
