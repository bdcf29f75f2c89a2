//! The home dashboard: the company-level questions of a sales team's day,
//! within the user's scope, with charts drawn as SVG on the server.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use kehu_http::dashboard::{DashboardView, MONTHS};
use kehu_http::AppState;
use serde::Deserialize;

use crate::i18n::{Locale, Tr};
use crate::pages::{encode_query, money, render, Me, Page};
use crate::svg::{self, Bar};

pub struct Kpi {
    label: String,
    value: String,
    note: String,
    /// `up`, `down` or empty.
    trend: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    kpis: Vec<Kpi>,
    classification_chart: String,
    source_chart: String,
    revenue_chart: String,
    overdue_chart: String,
    top: Vec<(i64, String, String)>,
    computed_at: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    refresh: Option<String>,
}

/// `+12.5%` / `-3.0%` from last to this; empty when there is no base.
fn change(this: i64, last: i64) -> (String, &'static str) {
    if last <= 0 {
        return (String::new(), "");
    }
    // Tenths of a percent, rounded half away from zero.
    let diff = i128::from(this - last) * 1000;
    let base = i128::from(last);
    let tenths = (diff + diff.signum() * base / 2) / base;
    let trend = match tenths.signum() {
        1 => "up",
        -1 => "down",
        _ => "",
    };
    let sign = if tenths < 0 { "-" } else { "+" };
    let abs = tenths.abs();
    (format!("{sign}{}.{}%", abs / 10, abs % 10), trend)
}

pub async fn dashboard(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let tr = page.tr;
    let window = kehu_core::time::dashboard_window(
        state.store.clock().now(),
        &page.me.user.time_zone,
        MONTHS,
    );
    let DashboardView {
        computed_at,
        figures: d,
    } = match state
        .dashboards
        .get(page.scoped(&state), window, q.refresh.is_some())
        .await
    {
        Ok(v) => v,
        Err(e) => return page.error(e),
    };
    let zh = tr.locale == Locale::ZhCn;
    let users = crate::pages::user_names(&state).await;
    let this_month = d.revenue_by_month.last().copied().unwrap_or_default();
    let last_month = d
        .revenue_by_month
        .iter()
        .rev()
        .nth(1)
        .copied()
        .unwrap_or_default();
    let (rev_change, rev_trend) = change(this_month.1, last_month.1);
    let (new_change, new_trend) = change(d.new_this_month, d.new_last_month);
    let kpis = vec![
        Kpi {
            label: tr.t("dashboard.customers").into(),
            value: d.customers.to_string(),
            note: String::new(),
            trend: "",
        },
        Kpi {
            label: tr.t("dashboard.new_this_month").into(),
            value: d.new_this_month.to_string(),
            note: tr.f(
                "dashboard.vs_last_month",
                &[
                    ("value", &d.new_last_month.to_string()),
                    ("change", &new_change),
                ],
            ),
            trend: new_trend,
        },
        Kpi {
            label: tr.t("dashboard.revenue_this_month").into(),
            value: money(this_month.1),
            note: tr.f(
                "dashboard.vs_last_month",
                &[("value", &money(last_month.1)), ("change", &rev_change)],
            ),
            trend: rev_trend,
        },
        Kpi {
            label: tr.t("dashboard.orders_this_month").into(),
            value: this_month.2.to_string(),
            note: tr.f(
                "dashboard.vs_last_month",
                &[("value", &last_month.2.to_string()), ("change", "")],
            ),
            trend: "",
        },
    ];
    let list_link = |k: &str, v: &str| format!("/customers?{}", encode_query(&[(k, v.to_owned())]));
    let classification_chart = svg::hbars(
        tr.t("dashboard.by_classification"),
        &d.by_classification
            .iter()
            .map(|(k, n)| Bar {
                label: tr.value("classification", k),
                value: *n,
                shown: n.to_string(),
                href: Some(list_link("classification", k)),
            })
            .collect::<Vec<_>>(),
    );
    let mut sources: Vec<Bar> = d
        .by_source
        .iter()
        .map(|(k, n)| Bar {
            label: k
                .clone()
                .unwrap_or_else(|| tr.t("dashboard.unknown").into()),
            value: *n,
            shown: n.to_string(),
            href: k.as_ref().map(|k| list_link("source", k)),
        })
        .collect();
    if d.other_sources > 0 {
        sources.push(Bar {
            label: tr.t("dashboard.other").into(),
            value: d.other_sources,
            shown: d.other_sources.to_string(),
            href: None,
        });
    }
    let source_chart = svg::hbars(tr.t("dashboard.by_source"), &sources);
    let revenue_chart = svg::columns(
        tr.t("dashboard.revenue_by_month"),
        &d.revenue_by_month
            .iter()
            .map(|(m, total, _)| Bar {
                label: if zh {
                    m.format("%-m月").to_string()
                } else {
                    m.format("%b").to_string()
                },
                value: *total,
                shown: svg::short_amount(*total, zh),
                href: None,
            })
            .collect::<Vec<_>>(),
    );
    let overdue_chart = svg::hbars(
        tr.t("dashboard.overdue_by_rep"),
        &d.overdue_by_user
            .iter()
            .take(12)
            .map(|(u, n)| Bar {
                label: users.get(u).cloned().unwrap_or_default(),
                value: *n,
                shown: n.to_string(),
                href: None,
            })
            .collect::<Vec<_>>(),
    );
    let or_empty = |chart: String, bars: usize| {
        if bars == 0 {
            format!(
                r#"<p class="muted empty">{}</p>"#,
                svg::esc(tr.t("dashboard.no_data"))
            )
        } else {
            chart
        }
    };
    let classification_chart = or_empty(classification_chart, d.by_classification.len());
    let source_chart = or_empty(source_chart, d.by_source.len());
    let overdue_chart = or_empty(overdue_chart, d.overdue_by_user.len());
    render(DashboardPage {
        tr,
        section: "home",
        kpis,
        classification_chart,
        source_chart,
        revenue_chart,
        overdue_chart,
        top: d
            .top_customers
            .iter()
            .map(|(id, name, total)| (id.0, name.clone(), money(*total)))
            .collect(),
        computed_at: page.when(computed_at),
        me: Some(page.me),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_rounded_percentages_with_a_direction() {
        assert_eq!(change(1125, 1000), ("+12.5%".into(), "up"));
        assert_eq!(change(970, 1000), ("-3.0%".into(), "down"));
        assert_eq!(change(1, 3), ("-66.7%".into(), "down"));
        assert_eq!(change(5, 0), (String::new(), ""));
        assert_eq!(change(7, 7), ("+0.0%".into(), ""));
    }
}
