//! The "customer value" panel of the 360° page: what the latest analysis
//! says about one customer, with the reasons. Model values (segments,
//! layers, groups, stages, quadrants) carry their own bilingual labels in
//! `kehu-analytics`; everything else comes from the catalogs.

use kehu_analytics::lifecycle::LifecycleStage;
use kehu_analytics::pyramid::PyramidLayer;
use kehu_analytics::rfm::RfmSegment;
use kehu_analytics::selection::SelectionQuadrant;
use kehu_analytics::value_group::ValueGroup;
use kehu_analytics::Label;
use kehu_storage::{CustomerAnalytics, LifecycleChange};

use crate::i18n::Tr;
use crate::pages::money;

/// One line of the panel.
pub struct Fact {
    pub label: String,
    pub value: String,
    /// A second line: the reason or the strategy.
    pub note: String,
    /// CSS class of the value's badge ("" for none).
    pub badge: &'static str,
}

/// One indicator's share of the selection scores.
pub struct Part {
    pub group: String,
    pub indicator: String,
    pub raw: String,
    pub points: String,
}

pub struct InsightPanel {
    pub as_of: String,
    pub facts: Vec<Fact>,
    pub scores: String,
    pub parts: Vec<Part>,
    pub history: Vec<String>,
}

fn label_of<T: Copy>(
    all: &[T],
    key: &str,
    key_of: impl Fn(&T) -> &'static str,
    label: impl Fn(&T) -> Label,
    lang: &str,
) -> String {
    all.iter()
        .find(|x| key_of(x) == key)
        .map_or_else(|| key.to_owned(), |x| label(x).text(lang).to_owned())
}

fn stage_label(key: &str, lang: &str) -> String {
    label_of(
        &LifecycleStage::ALL,
        key,
        LifecycleStage::key,
        |s| s.label(),
        lang,
    )
}

const QUADRANTS: [SelectionQuadrant; 4] = [
    SelectionQuadrant::A,
    SelectionQuadrant::B,
    SelectionQuadrant::C,
    SelectionQuadrant::D,
];

/// Formats a number with at most `digits` decimals, without trailing zeros.
fn short(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

pub fn panel(
    tr: &Tr,
    a: &CustomerAnalytics,
    history: &[LifecycleChange],
    horizon_months: u32,
    indicators: &[kehu_core::analysis::IndicatorRef],
) -> InsightPanel {
    let lang = tr.lang();
    let months = horizon_months.to_string();
    let mut facts = Vec::new();
    if let (Some(r), Some(f), Some(m)) = (a.r_score, a.f_score, a.m_score) {
        let segment = a
            .rfm_segment
            .as_deref()
            .and_then(RfmSegment::from_key)
            .map(|s| s.label().text(lang).to_owned())
            .unwrap_or_default();
        facts.push(Fact {
            label: tr.t("insight.rfm").into(),
            value: segment,
            note: format!("R{r} F{f} M{m}"),
            badge: "seg",
        });
    }
    if let Some(layer) = a.pyramid_layer.as_deref() {
        let found = PyramidLayer::ALL.iter().find(|l| l.key() == layer);
        facts.push(Fact {
            label: tr.t("insight.layer").into(),
            value: found.map_or_else(|| layer.to_owned(), |l| l.label().text(lang).to_owned()),
            note: found.map_or_else(String::new, |l| l.strategy().text(lang).to_owned()),
            badge: "",
        });
    }
    let group = ValueGroup::ALL.iter().find(|g| g.key() == a.value_group);
    facts.push(Fact {
        label: tr.t("insight.group").into(),
        value: group.map_or_else(
            || a.value_group.to_string(),
            |g| g.label().text(lang).to_owned(),
        ),
        note: group.map_or_else(String::new, |g| g.strategy().text(lang).to_owned()),
        badge: "",
    });
    facts.push(Fact {
        label: tr.t("insight.stage").into(),
        value: stage_label(&a.lifecycle_stage, lang),
        note: format!(
            "{} · {}",
            tr.f("insight.since", &[("date", &a.lifecycle_since.to_string())]),
            tr.value("lifecycle_reason", &a.lifecycle_reason)
        ),
        badge: match a.lifecycle_stage.as_ref() {
            "decline" | "departed" => "bad",
            "maturity" => "good",
            _ => "",
        },
    });
    if let Some(q) = a.selection_quadrant.as_deref() {
        facts.push(Fact {
            label: tr.t("insight.quadrant").into(),
            value: label_of(&QUADRANTS, q, SelectionQuadrant::key, |x| x.label(), lang),
            note: String::new(),
            badge: "",
        });
    }
    match (a.probability_alive, a.expected_purchases, a.clv_minor) {
        (Some(p), Some(e), Some(clv)) => {
            facts.push(Fact {
                label: tr.t("insight.p_alive").into(),
                value: format!("{}%", short(p * 100.0, 1)),
                note: String::new(),
                badge: if p < 0.3 { "bad" } else { "" },
            });
            facts.push(Fact {
                label: tr.f("insight.expected_purchases", &[("months", &months)]),
                value: short(e, 2),
                note: String::new(),
                badge: "",
            });
            facts.push(Fact {
                label: tr.f("insight.clv", &[("months", &months)]),
                value: money(clv),
                note: String::new(),
                badge: "",
            });
        }
        _ => facts.push(Fact {
            label: tr.f("insight.clv", &[("months", &months)]),
            value: tr.t("insight.no_clv").into(),
            note: String::new(),
            badge: "",
        }),
    }
    let scores = match (a.value_score, a.capability_score) {
        (Some(v), Some(c)) => tr.f(
            "insight.scores",
            &[("value", &short(v, 0)), ("capability", &short(c, 0))],
        ),
        _ => String::new(),
    };
    let parts = a
        .selection_explanation
        .as_deref()
        .map(|compact| {
            kehu_core::analysis::explain(compact, indicators)
                .into_iter()
                .map(|c| Part {
                    group: match c.group.as_str() {
                        "capability" => tr.t("insight.capability_group_part"),
                        _ => tr.t("insight.value_group_part"),
                    }
                    .to_owned(),
                    indicator: tr.value("indicator", &c.indicator),
                    raw: c.raw.map_or_else(|| "—".into(), |x| short(x, 2)),
                    points: short(c.points, 1),
                })
                .collect()
        })
        .unwrap_or_default();
    let history = history
        .iter()
        .map(|h| {
            let from = h.from_stage.as_deref().map_or_else(
                || tr.t("insight.first_seen").to_owned(),
                |s| stage_label(s, lang),
            );
            format!(
                "{} · {from} → {}",
                h.changed_on,
                stage_label(&h.to_stage, lang)
            )
        })
        .collect();
    InsightPanel {
        as_of: tr.f("insight.as_of", &[("date", &a.as_of.to_string())]),
        facts,
        scores,
        parts,
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_drop_trailing_zeros() {
        assert_eq!(short(12.50, 2), "12.5");
        assert_eq!(short(3.0, 1), "3");
        assert_eq!(short(97.25, 0), "97");
        assert_eq!(short(0.123, 2), "0.12");
    }

    #[test]
    fn every_indicator_and_reason_has_a_label_in_both_languages() {
        use crate::i18n::Locale;
        let reasons = [
            "no_purchase",
            "no_purchase_in_window",
            "far_overdue",
            "overdue",
            "falling_frequency",
            "established",
            "early",
        ];
        let indicators = [
            kehu_core::analysis::REVENUE,
            kehu_core::analysis::PURCHASES,
            kehu_core::analysis::CLV,
            kehu_core::analysis::KDM_CLOSENESS,
            kehu_core::analysis::RECENT_INTERACTIONS,
            kehu_core::analysis::CONTACTS,
        ];
        for locale in [Locale::ZhCn, Locale::En] {
            let tr = Tr::new(locale);
            for r in reasons {
                assert!(tr.has(&format!("value.lifecycle_reason.{r}")), "{r}");
            }
            for i in indicators {
                assert!(tr.has(&format!("value.indicator.{i}")), "{i}");
            }
        }
        // The stage reasons the models give are exactly these.
        let json = serde_json::to_value(kehu_analytics::lifecycle::StageReason::FallingFrequency)
            .unwrap_or_default();
        assert_eq!(json, "falling_frequency");
    }
}
