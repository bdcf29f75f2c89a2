//! The home dashboard's figures, for the API and the web UI. They are sums
//! over the whole visible customer base: when that takes long (an admin at
//! a million customers), a scope's figures are kept for a few minutes and
//! recomputed on demand; small scopes are always computed afresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use chrono::{DateTime, Utc};
use kehu_domain::Scope;
use kehu_storage::{Dashboard, DashboardWindow, Scoped, StoreResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Query;
use crate::AppState;

/// How long computed figures are served before they are recomputed.
pub const FRESH_FOR: Duration = Duration::from_secs(300);
/// Figures that take less than this to compute are not kept: small scopes
/// (a rep's own customers) always see the latest numbers.
pub const WORTH_KEEPING: Duration = Duration::from_millis(100);
/// Months of revenue on the dashboard, ending with the current one.
pub const MONTHS: u32 = 6;

/// Dashboards per scope and window, with the time they were computed.
#[derive(Default)]
pub struct DashboardCache {
    entries: Mutex<HashMap<CacheKey, Cached>>,
}

/// A scope and the start of its current month (milliseconds).
type CacheKey = (Scope, i64);

struct Cached {
    kept_at: Instant,
    computed_at: DateTime<Utc>,
    figures: Dashboard,
}

/// Figures and when they were computed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardView {
    pub computed_at: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: Dashboard,
}

impl DashboardCache {
    /// The dashboard of `scoped`'s actor for `window`: cached unless older
    /// than [`FRESH_FOR`] or `refresh` is asked.
    pub async fn get(
        &self,
        scoped: Scoped<'_>,
        window: DashboardWindow,
        refresh: bool,
    ) -> StoreResult<DashboardView> {
        let key = (scoped.actor().scope(), window.this_month_start_ms);
        if !refresh {
            if let Some(c) = self.lock().get(&key) {
                if c.kept_at.elapsed() < FRESH_FOR {
                    return Ok(DashboardView {
                        computed_at: c.computed_at,
                        figures: c.figures.clone(),
                    });
                }
            }
        }
        let started = Instant::now();
        let figures = scoped.dashboard(window).await?;
        let computed_at = scoped.store().clock().now();
        if started.elapsed() >= WORTH_KEEPING {
            self.lock().insert(
                key,
                Cached {
                    kept_at: Instant::now(),
                    computed_at,
                    figures: figures.clone(),
                },
            );
        }
        Ok(DashboardView {
            computed_at,
            figures,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Cached>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// Recompute now instead of serving figures up to five minutes old.
    #[serde(default)]
    pub refresh: bool,
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "dashboard", params(DashboardQuery),
    responses((status = 200, body = DashboardView), (status = 401, body = ErrorBody)))]
/// Company-level figures within the caller's scope: customers by
/// classification and source, new customers this and last month, revenue
/// per month, top customers and overdue follow-ups per user.
pub async fn dashboard(
    State(s): State<AppState>,
    a: Authed,
    Query(q): Query<DashboardQuery>,
) -> ApiResult<axum::Json<DashboardView>> {
    let window =
        kehu_core::time::dashboard_window(s.store.clock().now(), &a.user.time_zone, MONTHS);
    Ok(axum::Json(
        s.dashboards.get(a.scoped(&s), window, q.refresh).await?,
    ))
}
