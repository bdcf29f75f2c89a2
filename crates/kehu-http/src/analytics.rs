//! Customer value analytics over HTTP: each customer's results (within the
//! caller's scope), the latest run's company-level summary (admins), and a
//! run on demand. The server also runs the analysis by itself once a day.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use kehu_core::analysis::{
    self, AnalysisConfig, AnalysisError, Contribution, RefreshReport, RunReport,
};
use kehu_domain::CustomerId;
use kehu_storage::{AnalysisRun, AnalyticsOverview, CustomerAnalytics, LifecycleChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json};
use crate::AppState;

/// Rows of the "save them now" list of the overview.
pub const AT_RISK_SHOWN: i64 = 20;

/// The company-wide overview of the latest run, kept until the next run:
/// at a million customers it takes seconds to gather, and it changes only
/// when a run replaces the results. Only the unrestricted (admin) view is
/// kept: a rep's or a team's view depends on who owns which customer now,
/// so it is always read afresh.
#[derive(Default)]
pub struct OverviewCache(std::sync::Mutex<Option<(i64, AnalyticsOverview)>>);

impl OverviewCache {
    /// The overview of `scoped`'s actor for the run `run_id`.
    pub async fn get(
        &self,
        scoped: kehu_storage::Scoped<'_>,
        run_id: Option<i64>,
    ) -> kehu_storage::StoreResult<AnalyticsOverview> {
        let company = scoped.actor().scope() == kehu_domain::Scope::All;
        if company {
            if let Some((id, o)) = self.lock().as_ref() {
                if Some(*id) == run_id {
                    return Ok(o.clone());
                }
            }
        }
        let o = scoped.analytics_overview(AT_RISK_SHOWN).await?;
        if let (true, Some(id)) = (company, run_id) {
            *self.lock() = Some((id, o.clone()));
        }
        Ok(o)
    }

    /// Gathers the company-wide overview of run `run_id` again and keeps
    /// it: after a refresh, which changes the run's results in place.
    /// Pages go on showing the previous one until it is ready.
    pub async fn regather(
        &self,
        everyone: kehu_storage::Scoped<'_>,
        run_id: i64,
    ) -> kehu_storage::StoreResult<()> {
        let o = everyone.analytics_overview(AT_RISK_SHOWN).await?;
        *self.lock() = Some((run_id, o));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, AnalyticsOverview)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// After a run: gathers the company-wide overview in the background, so the
/// first admin to open the analytics page does not wait for it.
pub fn warm_overview(state: &AppState, run_id: i64) {
    gather_overview(state, run_id, false);
}

/// Company-wide reads on behalf of the system.
fn everyone() -> kehu_domain::Actor {
    kehu_domain::Actor {
        user_id: kehu_domain::UserId(0),
        role: kehu_domain::Role::Admin,
        team_id: None,
    }
}

fn gather_overview(state: &AppState, run_id: i64, again: bool) {
    let state = state.clone();
    tokio::spawn(async move {
        let scoped = state.store.scoped(everyone());
        let gathered = if again {
            state.overviews.regather(scoped, run_id).await
        } else {
            state.overviews.get(scoped, Some(run_id)).await.map(|_| ())
        };
        if let Err(e) = gathered {
            tracing::warn!(error = %e, "cannot gather the analytics overview");
        }
    });
}

/// Refreshes the latest run for the customers whose orders changed since
/// (see [`analysis::refresh_on_store`]) and, when there were any, gathers
/// the company overview again in the background.
pub async fn refresh(state: &AppState) -> Result<analysis::RefreshReport, AnalysisError> {
    let report = analysis::refresh_on_store(&state.store).await?;
    if report.customers > 0 {
        gather_overview(state, report.run_id, true);
    }
    Ok(report)
}

/// Starts a run in the background and returns once it holds the guard
/// (so a page loaded next says it is running), or at once when another
/// run holds it. The fresh results replace the old ones when the run
/// commits.
pub async fn start_in_background(state: &AppState, config: AnalysisConfig) {
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let background = state.clone();
    tokio::spawn(async move {
        let Some(_running) = background.analysis.try_start() else {
            return;
        };
        let _ = started_tx.send(());
        match analysis::run_on_store(&background.store, &config).await {
            Ok(r) => warm_overview(&background, r.run_id),
            Err(e) => tracing::warn!(error = %e, "analysis run failed"),
        }
    });
    // An error only says that another run holds the guard.
    let _ = started.await;
}

/// Holds the run guard for a request, or answers 409 while a run goes on.
fn start_or_conflict(state: &AppState) -> Result<Running<'_>, ApiError> {
    state.analysis.try_start().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "running",
            "an analysis run is in progress",
        )
    })
}

/// Only one run at a time: a second one waits for nothing and is refused.
/// Asking whether a run goes on never takes the guard itself, so a page
/// that asks cannot keep a run from starting.
#[derive(Default)]
pub struct AnalysisGuard(std::sync::atomic::AtomicBool);

/// Held while a run goes on; dropping it lets the next run start.
pub struct Running<'a>(&'a AnalysisGuard);

impl AnalysisGuard {
    /// Holds the guard while a run goes on; `None` when one is running.
    pub fn try_start(&self) -> Option<Running<'_>> {
        use std::sync::atomic::Ordering;
        self.0
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Running(self))
    }

    /// Whether a run goes on now. A run lets go only after it committed,
    /// so results read after a `false` here include the last run.
    pub fn is_running(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0 .0.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// A customer's latest results and lifecycle history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerAnalyticsView {
    /// Null until a run has seen the customer.
    pub results: Option<CustomerAnalytics>,
    /// What contributed how much to the selection scores, indicator by
    /// indicator (the expanded `selection_explanation`).
    pub explanation: Vec<Contribution>,
    /// Stage changes, newest first.
    pub lifecycle_history: Vec<LifecycleChange>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/analytics", tag = "analytics",
    params(("id" = i64, Path)),
    responses((status = 200, body = CustomerAnalyticsView), (status = 404, body = ErrorBody)))]
/// RFM scores and segment, pyramid layer, A–E group, lifecycle stage since
/// when, selection quadrant with its explanation, probability alive,
/// expected purchases and CLV of one customer.
pub async fn customer_analytics(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<CustomerAnalyticsView>> {
    let s = auth.scoped(&state);
    let id = CustomerId(id);
    let results = s.customer_analytics(id).await?;
    let explanation = match results
        .as_ref()
        .and_then(|r| r.selection_explanation.as_deref())
    {
        Some(compact) => {
            let run = state.store.latest_analysis_run().await?;
            let indicators = run.map(|r| analysis::indicators_of(&r.summary));
            analysis::explain(compact, &indicators.unwrap_or_default())
        }
        None => Vec::new(),
    };
    Ok(axum::Json(CustomerAnalyticsView {
        results,
        explanation,
        lifecycle_history: s.lifecycle_history(id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/analytics/latest", tag = "analytics",
    responses((status = 200, body = AnalysisRun), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no run yet")))]
/// The latest run over the whole customer base: pyramid layer shares and
/// curves, RFM grid and segments, A–E counts and migration, lifecycle
/// counts and flows, fitted CLV models. Company-wide figures: admins only.
pub async fn latest(
    State(state): State<AppState>,
    auth: Authed,
) -> ApiResult<axum::Json<AnalysisRun>> {
    if !auth.actor.is_admin() {
        return Err(ApiError::forbidden("company-wide analytics are for admins"));
    }
    state
        .store
        .latest_analysis_run()
        .await?
        .map(axum::Json)
        .ok_or_else(ApiError::not_found)
}

/// Settings of a run on demand; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The day the results describe: default today (Asia/Shanghai); not
    /// after today, not before the latest run's day.
    pub as_of: Option<NaiveDate>,
    /// RFM, pyramid, A–E and lifecycle window in days (default 365).
    pub window_days: Option<u32>,
    /// CLV horizon in months (default 12).
    pub horizon_months: Option<u32>,
    /// Monthly discount rate of CLV (default 0.01).
    pub monthly_discount_rate: Option<f64>,
}

fn analysis_error(e: AnalysisError) -> ApiError {
    match e {
        AnalysisError::Store(e) => e.into(),
        AnalysisError::Model(e) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "model", e.to_string())
        }
        AnalysisError::Input(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "input", m),
        AnalysisError::NeedsRun(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "needs_run", m)
        }
    }
}

#[utoipa::path(post, path = "/api/v1/analytics/run", tag = "analytics",
    request_body = RunRequest,
    responses((status = 200, body = RunReport), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a run is in progress"),
        (status = 422, body = ErrorBody)))]
/// Recomputes every customer's results now (admins) and answers when done:
/// 7-10 seconds at a million customers (BENCHMARKS.md). Readers see the
/// previous results until the new ones replace them at once.
pub async fn run(
    State(state): State<AppState>,
    auth: Authed,
    Json(req): Json<RunRequest>,
) -> ApiResult<axum::Json<RunReport>> {
    if !auth.actor.is_admin() {
        return Err(ApiError::forbidden("only admins run the analysis"));
    }
    let today = kehu_core::time::today_in(state.store.clock().now(), analysis::TIME_ZONE);
    let as_of = req.as_of.unwrap_or(today);
    // The results are the one live snapshot and stage history moves
    // forward: no day after today, none before the latest run's.
    if as_of > today {
        return Err(ApiError::invalid(
            "as_of",
            "in_future",
            "as_of must not be after today",
        ));
    }
    if let Some(latest) = state.store.latest_analysis_run().await? {
        if as_of < latest.as_of {
            return Err(ApiError::invalid(
                "as_of",
                "before_latest_run",
                format!(
                    "as_of must not be before the latest run's day, {}",
                    latest.as_of
                ),
            ));
        }
    }
    let mut config = AnalysisConfig::new(as_of);
    if let Some(w) = req.window_days {
        if !(30..=3650).contains(&w) {
            return Err(ApiError::invalid(
                "window_days",
                "out_of_range",
                "window_days must be between 30 and 3650",
            ));
        }
        config.window_days = w;
    }
    if let Some(h) = req.horizon_months {
        if !(1..=1200).contains(&h) {
            return Err(ApiError::invalid(
                "horizon_months",
                "out_of_range",
                "horizon_months must be between 1 and 1200",
            ));
        }
        config.clv.horizon_months = h;
    }
    if let Some(d) = req.monthly_discount_rate {
        if !(0.0..1.0).contains(&d) {
            return Err(ApiError::invalid(
                "monthly_discount_rate",
                "out_of_range",
                "monthly_discount_rate is a fraction per month: at least 0, below 1 (0.01 = 1%)",
            ));
        }
        config.clv.monthly_discount_rate = d;
    }
    let _running = start_or_conflict(&state)?;
    let report = analysis::run_on_store(&state.store, &config)
        .await
        .map_err(analysis_error)?;
    warm_overview(&state, report.run_id);
    Ok(axum::Json(report))
}

#[utoipa::path(post, path = "/api/v1/analytics/refresh", tag = "analytics",
    responses((status = 200, body = RefreshReport), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "a run is in progress, or a newer run replaced the results meanwhile"),
        (status = 422, body = ErrorBody, description = "no run to refresh")))]
/// Brings the latest run's results up to date now (admins) for the
/// customers whose orders changed, and new customers, since the run or the
/// previous refresh: they are scored with the run's breakpoints,
/// thresholds, models and distributions on its as-of day. The server does
/// this by itself between daily runs; the next full run re-derives
/// everything company-wide.
pub async fn refresh_now(
    State(state): State<AppState>,
    auth: Authed,
) -> ApiResult<axum::Json<RefreshReport>> {
    if !auth.actor.is_admin() {
        return Err(ApiError::forbidden("only admins run the analysis"));
    }
    let _running = start_or_conflict(&state)?;
    Ok(axum::Json(refresh(&state).await.map_err(analysis_error)?))
}

/// Runs the analysis once a day: whenever the latest run describes an
/// earlier day than today (in the analysis time zone), checking every
/// `every`; on the other checks it refreshes the latest run for the
/// customers whose orders changed since.
pub async fn schedule(state: AppState, every: Duration) {
    // A restarted server gathers the latest run's overview once.
    if let Ok(Some(run)) = state.store.latest_analysis_run().await {
        warm_overview(&state, run.id);
    }
    loop {
        let today = kehu_core::time::today_in(state.store.clock().now(), analysis::TIME_ZONE);
        let (mut due, refreshable) = match state.store.latest_analysis_run().await {
            Ok(Some(run)) => (run.as_of < today, run.as_of == today),
            Ok(None) => (state.store.count_customers().await.unwrap_or(0) > 0, false),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the latest analysis run");
                (false, false)
            }
        };
        if refreshable {
            if let Some(_running) = state.analysis.try_start() {
                match refresh(&state).await {
                    Ok(r) if r.customers > 0 => tracing::info!(
                        customers = r.customers,
                        orders = r.orders,
                        ms = r.load_ms + r.compute_ms + r.save_ms,
                        "analysis refreshed for changed customers"
                    ),
                    Ok(_) => {}
                    // Today's run was saved before refreshes existed:
                    // run it again, with what refreshes need.
                    Err(AnalysisError::NeedsRun(_)) => due = true,
                    Err(e) => tracing::warn!(error = %e, "analysis refresh failed"),
                }
            }
        }
        if due {
            if let Some(_running) = state.analysis.try_start() {
                match analysis::run_on_store(&state.store, &AnalysisConfig::new(today)).await {
                    Ok(r) => {
                        tracing::info!(
                            customers = r.customers,
                            orders = r.orders,
                            ms = r.load_ms + r.compute_ms + r.save_ms,
                            "daily analysis run"
                        );
                        warm_overview(&state, r.run_id);
                    }
                    Err(e) => tracing::warn!(error = %e, "scheduled analysis failed"),
                }
            }
        }
        tokio::time::sleep(every).await;
    }
}
