//! The value analysis section: which customers hold the value, who is
//! slipping, which group to develop, with the evidence. Distributions and
//! the "save them now" list cover the customers the user may see; the
//! company-wide curves, the migration matrix, the stage flows and the
//! fitted CLV models come from the latest run and are shown to admins.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_analytics::lifecycle::LifecycleStage;
use kehu_analytics::pyramid::PyramidLayer;
use kehu_analytics::rfm::RfmSegment;
use kehu_analytics::selection::SelectionQuadrant;
use kehu_analytics::value_group::ValueGroup;
use kehu_core::analysis::{self, AnalysisConfig};
use kehu_http::AppState;
use kehu_storage::{AnalyticsOverview, Distribution, CLV_BANDS};
use serde::Deserialize;
use serde_json::Value;

use crate::i18n::Tr;
use crate::pages::{money, render, Me, Page};
use crate::svg::{self, Bar};

pub struct LayerRow {
    label: String,
    customers: i64,
    customer_share: String,
    revenue: String,
    revenue_share: String,
    typical_share: String,
    strategy: String,
}

/// One RFM grid cell: customers, revenue as shown, heat class.
pub type GridCell = (i64, String, &'static str);
/// One row of a matrix: its label and its cells (count, on the diagonal).
pub type MatrixRow = (String, Vec<(u64, bool)>);

pub struct AtRiskRow {
    id: i64,
    name: String,
    clv: String,
    p_alive: String,
    revenue: String,
    stage: String,
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    is_admin: bool,
    as_of: Option<String>,
    /// When computed, and refreshed since.
    updated: Option<String>,
    kpis: Vec<(String, String)>,
    layers: Vec<LayerRow>,
    pareto: String,
    whale: String,
    /// Rows R = 5 … 1: (R, cells of F = 1 … 5 as (count, value, heat class)).
    rfm_grid: Vec<(usize, Vec<GridCell>)>,
    segments_chart: String,
    stages_chart: String,
    flows: Vec<(String, String, u64)>,
    groups_chart: String,
    group_strategies: Vec<(String, String)>,
    /// Header labels and rows (label, counts to A … E, entered).
    migration: Option<(Vec<String>, Vec<MatrixRow>)>,
    quadrants: Vec<(String, i64)>,
    clv_chart: String,
    at_risk: Vec<AtRiskRow>,
    models: Vec<(String, String)>,
    flash: Option<String>,
    error: Option<String>,
}

fn pct(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn count_of(d: &Distribution, key: &str) -> (i64, i64) {
    d.rows
        .iter()
        .find(|(k, _, _)| k == key)
        .map_or((0, 0), |(_, n, v)| (*n, *v))
}

/// One bar per (result key, label), in that order, with its customers.
fn count_bars<'a>(d: &Distribution, keys: impl Iterator<Item = (&'a str, String)>) -> Vec<Bar> {
    keys.map(|(key, label)| {
        let (n, _) = count_of(d, key);
        Bar {
            label,
            value: n,
            shown: n.to_string(),
            href: None,
        }
    })
    .collect()
}

fn curve_points(curve: &Value) -> Vec<(f64, f64)> {
    curve
        .as_array()
        .map(|pts| {
            pts.iter()
                .filter_map(|p| Some((p["customer_share"].as_f64()?, p["value_share"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn num(v: &Value) -> String {
    v.as_f64().map_or_else(|| "—".into(), |x| format!("{x:.4}"))
}

async fn analytics_page(
    state: &AppState,
    page: Page,
    flash: Option<String>,
    error: Option<String>,
) -> Response {
    let tr = page.tr;
    let lang = tr.lang();
    let zh = lang.starts_with("zh");
    let is_admin = page.me.user.role == kehu_domain::Role::Admin;
    // Asked before the latest run is read: a run that ends in between has
    // committed by the time it lets go, so the page shows either "running"
    // or its results, never neither.
    let running = state.analysis.is_running();
    // The run's settings are for everyone; its company-wide figures only
    // for admins.
    let run = match state.store.latest_analysis_run().await {
        Ok(r) => r,
        Err(e) => return page.error(e),
    };
    let refreshed = match &run {
        Some(r) => match state.store.refreshes_of(r.id).await {
            Ok(x) => x,
            Err(e) => return page.error(e),
        },
        None => None,
    };
    let o: AnalyticsOverview = match state
        .overviews
        .get(page.scoped(state), run.as_ref().map(|r| r.id))
        .await
    {
        Ok(o) => o,
        Err(e) => return page.error(e),
    };
    let summary = run.as_ref().filter(|_| is_admin).map(|r| &r.summary);
    let flash = flash.or_else(|| running.then(|| tr.t("analytics.running").to_owned()));

    let kpis = vec![
        (
            tr.t("analytics.customers").to_owned(),
            o.customers.to_string(),
        ),
        (tr.t("analytics.revenue").to_owned(), money(o.revenue_minor)),
        (
            tr.t("analytics.clv_total").to_owned(),
            if o.clv_bands.iter().any(|(_, n)| *n > 0) {
                money(o.clv_minor)
            } else {
                tr.t("insight.no_clv").to_owned()
            },
        ),
    ];

    // Pyramid over the customers with revenue in the window.
    let ranked: i64 = PyramidLayer::ALL
        .iter()
        .map(|l| count_of(&o.pyramid_layer, l.key()).0)
        .sum();
    let ranked_value: i64 = PyramidLayer::ALL
        .iter()
        .map(|l| count_of(&o.pyramid_layer, l.key()).1)
        .sum();
    let layers = PyramidLayer::ALL
        .iter()
        .map(|l| {
            let (n, v) = count_of(&o.pyramid_layer, l.key());
            LayerRow {
                label: l.label().text(lang).to_owned(),
                customers: n,
                customer_share: pct(n, ranked),
                revenue: money(v),
                revenue_share: pct(v, ranked_value),
                typical_share: format!("{:.0}%", l.typical_value_share() * 100.0),
                strategy: l.strategy().text(lang).to_owned(),
            }
        })
        .collect();

    // A curve needs a positive total (no profit is known without costs).
    let curve = |s: &Value, key: &str, title: &str, what: &str| {
        let points = curve_points(&s[key]["curve"]);
        if points.len() < 2 {
            format!(
                r#"<p class="muted">{}</p>"#,
                svg::esc(tr.t("dashboard.no_data"))
            )
        } else {
            svg::share_curve(title, &points, 0.2, (tr.t("analytics.of_customers"), what))
        }
    };
    let (pareto, whale) = match summary {
        Some(s) => (
            curve(
                s,
                "pyramid_revenue",
                tr.t("analytics.pareto"),
                tr.t("analytics.of_revenue"),
            ),
            curve(
                s,
                "pyramid_profit",
                tr.t("analytics.whale"),
                tr.t("analytics.of_profit"),
            ),
        ),
        None => (String::new(), String::new()),
    };

    let max_cell = o
        .rfm_grid
        .iter()
        .flatten()
        .map(|c| c.0)
        .max()
        .unwrap_or(0)
        .max(1);
    let rfm_grid = (1..=5)
        .rev()
        .map(|r| {
            let cells = (1..=5)
                .map(|f| {
                    let (n, v) = o.rfm_grid[r - 1][f - 1];
                    let heat = match n * 5 / max_cell {
                        0 if n == 0 => "h0",
                        0 => "h1",
                        1 => "h2",
                        2 | 3 => "h3",
                        _ => "h4",
                    };
                    (n, svg::short_amount(v, zh), heat)
                })
                .collect();
            (r, cells)
        })
        .collect();

    let segment_bars = count_bars(
        &o.rfm_segment,
        RfmSegment::ALL
            .iter()
            .map(|s| (s.key(), s.label().text(lang).to_owned())),
    );
    let stage_bars = count_bars(
        &o.lifecycle_stage,
        LifecycleStage::ALL
            .iter()
            .map(|s| (s.key(), s.label().text(lang).to_owned())),
    );
    let stage_label = |k: &str| {
        LifecycleStage::ALL
            .iter()
            .find(|s| s.key() == k)
            .map_or_else(|| k.to_owned(), |s| s.label().text(lang).to_owned())
    };
    let flows = summary
        .and_then(|s| s["lifecycle_flows"].as_array())
        .map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    let from = r[0]
                        .as_str()
                        .map_or_else(|| tr.t("insight.first_seen").to_owned(), stage_label);
                    Some((from, stage_label(r[1].as_str()?), r[2].as_u64()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let group_bars = count_bars(
        &o.value_group,
        ValueGroup::ALL
            .iter()
            .map(|g| (g.key(), g.key().to_uppercase())),
    );
    let group_strategies = ValueGroup::ALL
        .iter()
        .map(|g| {
            (
                g.label().text(lang).to_owned(),
                g.strategy().text(lang).to_owned(),
            )
        })
        .collect();
    let migration = summary.map(|s| {
        let m = &s["value_group_migration"];
        let head: Vec<String> = ValueGroup::ALL
            .iter()
            .map(|g| g.key().to_uppercase())
            .chain([tr.t("analytics.left").to_owned()])
            .collect();
        let mut rows: Vec<MatrixRow> = ValueGroup::ALL
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut cells: Vec<(u64, bool)> = (0..5)
                    .map(|j| (m["moved"][i][j].as_u64().unwrap_or(0), i == j))
                    .collect();
                cells.push((m["left"][i].as_u64().unwrap_or(0), false));
                (g.key().to_uppercase(), cells)
            })
            .collect();
        let mut entered: Vec<(u64, bool)> = (0..5)
            .map(|j| (m["entered"][j].as_u64().unwrap_or(0), false))
            .collect();
        entered.push((0, false));
        rows.push((tr.t("analytics.entered").to_owned(), entered));
        (head, rows)
    });
    let quadrants = [
        SelectionQuadrant::A,
        SelectionQuadrant::B,
        SelectionQuadrant::C,
        SelectionQuadrant::D,
    ]
    .iter()
    .map(|q| {
        (
            q.label().text(lang).to_owned(),
            count_of(&o.selection_quadrant, q.key()).0,
        )
    })
    .collect();
    let clv_bars: Vec<Bar> = o
        .clv_bands
        .iter()
        .enumerate()
        .map(|(i, (upper, n))| {
            let lower = if i == 0 { 0 } else { CLV_BANDS[i - 1] };
            let label = match upper {
                Some(u) => format!(
                    "{}–{}",
                    svg::short_amount(lower, zh),
                    svg::short_amount(*u, zh)
                ),
                None => format!("≥ {}", svg::short_amount(lower, zh)),
            };
            Bar {
                label,
                value: *n,
                shown: n.to_string(),
                href: None,
            }
        })
        .collect();
    let at_risk = o
        .at_risk
        .iter()
        .map(|c| AtRiskRow {
            id: c.customer_id.0,
            name: c.name.clone(),
            clv: money(c.clv_minor),
            p_alive: format!("{:.0}%", c.probability_alive * 100.0),
            revenue: money(c.revenue_minor),
            stage: stage_label(&c.lifecycle_stage),
        })
        .collect();
    let models = summary
        .map(|s| {
            let m = &s["clv_models"];
            if m.is_null() {
                return vec![(
                    tr.t("analytics.no_models").to_owned(),
                    s["clv_error"].as_str().unwrap_or_default().to_owned(),
                )];
            }
            let bg = &m["bg_nbd"];
            let gg = &m["gamma_gamma"];
            vec![
                (
                    "BG/NBD r, α, a, b".to_owned(),
                    [
                        &bg["params"]["r"],
                        &bg["params"]["alpha"],
                        &bg["params"]["a"],
                        &bg["params"]["b"],
                    ]
                    .map(num)
                    .join(", "),
                ),
                (
                    tr.t("analytics.log_likelihood").to_owned(),
                    format!(
                        "{} ({} {})",
                        num(&bg["log_likelihood"]),
                        bg["customers"],
                        tr.t("analytics.customers")
                    ),
                ),
                (
                    "Gamma-Gamma p, q, γ".to_owned(),
                    [
                        &gg["params"]["p"],
                        &gg["params"]["q"],
                        &gg["params"]["gamma"],
                    ]
                    .map(num)
                    .join(", "),
                ),
            ]
        })
        .unwrap_or_default();

    render(AnalyticsPage {
        csrf: page.me.csrf.clone(),
        is_admin,
        as_of: run.as_ref().map(|r| {
            let days = r.summary["config"]["window_days"]
                .as_u64()
                .unwrap_or(365)
                .to_string();
            tr.f(
                "analytics.period",
                &[("date", &r.as_of.to_string()), ("days", &days)],
            )
        }),
        updated: run.as_ref().map(|r| {
            let computed = tr.f("analytics.computed", &[("time", &page.when(r.computed_at))]);
            match refreshed {
                Some((at, customers)) => format!(
                    "{computed}{}",
                    tr.f(
                        "analytics.refreshed",
                        &[
                            ("time", &page.when(at)),
                            ("customers", &customers.to_string())
                        ]
                    )
                ),
                None => computed,
            }
        }),
        kpis,
        layers,
        pareto,
        whale,
        rfm_grid,
        segments_chart: svg::hbars(tr.t("analytics.segments"), &segment_bars),
        stages_chart: svg::hbars(tr.t("analytics.lifecycle"), &stage_bars),
        flows,
        groups_chart: svg::hbars(tr.t("analytics.groups"), &group_bars),
        group_strategies,
        migration,
        quadrants,
        clv_chart: svg::hbars(tr.t("analytics.clv_bands"), &clv_bars),
        at_risk,
        models,
        flash,
        error,
        section: "analytics",
        tr,
        me: Some(page.me),
    })
}

pub async fn analytics(State(state): State<AppState>, page: Page) -> Response {
    analytics_page(&state, page, None, None).await
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// Starts the analysis now (admins). At a million customers a run takes
/// 7-10 seconds, longer than a request should: it runs in the
/// background and the page says so until it is done.
pub async fn run(State(state): State<AppState>, page: Page, Form(f): Form<RunForm>) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    if page.me.user.role != kehu_domain::Role::Admin {
        return page.error(kehu_storage::StoreError::Forbidden(
            "only admins run the analysis",
        ));
    }
    // A run already going on is left to finish: the page says so.
    let today = kehu_core::time::today_in(state.store.clock().now(), analysis::TIME_ZONE);
    kehu_http::analytics::start_in_background(&state, AnalysisConfig::new(today)).await;
    Redirect::to("/analytics").into_response()
}
