//! Running every customer value model over a customer base, with one set
//! of settings, into per-customer results and a company-level summary.
//!
//! [`compute`] is pure: it takes the orders, the customers and (for
//! selection scoring) what we know of our relationship with each, and the
//! stages stored by the previous run. [`run_on_store`] reads those from a
//! database, computes and replaces the stored results in one transaction;
//! [`offline`] does the same for a transactions file, for analysts.
//!
//! Models and defaults (see `crates/kehu-analytics` for each model's rules):
//!
//! | model | reads | default |
//! |---|---|---|
//! | RFM, pyramid, A–E groups | purchases and refunds in the window | 365 days to the as-of date |
//! | A–E migration | the window before against the window | same length |
//! | lifecycle | every purchase up to the as-of date | stage changes recorded per run |
//! | BG/NBD, Gamma-Gamma, CLV | every purchase day up to the as-of date, in weeks | 12 months, 1 % a month |
//! | selection | window revenue, purchases, CLV; KDM closeness, recent interactions, contacts | percentile scores, threshold 50 |

pub mod offline;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use kehu_analytics::clv::{self, ClvConfig, ClvModels, TimeUnit};
use kehu_analytics::lifecycle::{
    self, LifecycleConfig, LifecycleInput, LifecycleStage, StageReason, StageState,
};
use kehu_analytics::pyramid::{self, PyramidAnalysis, PyramidBasis, PyramidConfig};
use kehu_analytics::rfm::{self, RfmBreakpoints, RfmConfig, RfmGrid, RfmSegment};
use kehu_analytics::selection::{self, Distribution, Indicator, Normalization, SelectionConfig};
use kehu_analytics::value_group::{
    self, MigrationMatrix, ValueGroup, ValueGroupConfig, ValueGroupThresholds,
};
use kehu_analytics::{AnalyticsError, CustomerSummary, OrderBook, Periods, Profiles, Window};
use kehu_domain::CustomerId;
use kehu_storage::{
    AnalysisRefresh, AnalysisRun, CustomerAnalytics, LifecycleChange, RelationshipFacts, Store,
    StoreError,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Model(#[from] AnalyticsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Input(String),
    /// A refresh found nothing it can build on (no run, or a run saved
    /// before refreshes existed): a full run is needed.
    #[error("{0}")]
    NeedsRun(String),
}

/// Settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisConfig {
    /// The day the results describe; orders after it are ignored.
    pub as_of: NaiveDate,
    /// Window of RFM, pyramid, A–E groups and lifecycle, in days.
    pub window_days: u32,
    /// Head and waist cut points.
    pub pyramid: PyramidConfig,
    /// A–E thresholds (default: medians over active customers).
    pub value_groups: ValueGroupConfig,
    /// Lifecycle rules.
    pub lifecycle: LifecycleConfig,
    /// CLV horizon and discount rate; the models are fitted in weeks.
    pub clv: ClvConfig,
    /// Fit on purchases up to this day (default: the as-of date). With an
    /// earlier day the days after it are a holdout period (offline runs
    /// report the actual purchases in it next to the prediction).
    pub calibration_end: NaiveDate,
    /// Selection indicators, weights and thresholds.
    pub selection: SelectionConfig,
}

impl AnalysisConfig {
    /// The documented defaults for a run on `as_of`.
    pub fn new(as_of: NaiveDate) -> Self {
        let mut selection = SelectionConfig::new(
            vec![
                Indicator::higher(REVENUE, 0.5),
                Indicator::higher(PURCHASES, 0.2),
                Indicator::higher(CLV, 0.3),
            ],
            vec![
                Indicator::higher(KDM_CLOSENESS, 0.5),
                Indicator::higher(RECENT_INTERACTIONS, 0.3),
                Indicator::higher(CONTACTS, 0.2),
            ],
        );
        // Revenue is heavy-tailed: min-max would put nearly everyone near 0.
        selection.normalization = Normalization::Percentile;
        Self {
            as_of,
            window_days: 365,
            pyramid: PyramidConfig::default(),
            value_groups: ValueGroupConfig::default(),
            lifecycle: LifecycleConfig::new(as_of),
            clv: ClvConfig::for_unit(TimeUnit::Weeks),
            calibration_end: as_of,
            selection,
        }
    }

    fn window(&self) -> Result<Window, AnalysisError> {
        Ok(Window::new(self.as_of, self.window_days)?)
    }
}

/// Selection indicator names.
pub const REVENUE: &str = "revenue";
pub const PURCHASES: &str = "purchases";
pub const CLV: &str = "clv";
pub const KDM_CLOSENESS: &str = "kdm_closeness";
pub const RECENT_INTERACTIONS: &str = "recent_interactions";
pub const CONTACTS: &str = "contacts";
/// Interactions count as recent within this many days up to the as-of date.
pub const RECENT_DAYS: u64 = 90;
/// The days of the analysis are days in this time zone (the daily run,
/// "recompute now" and the API default all use it).
pub const TIME_ZONE: &str = "Asia/Shanghai";

/// What a run reads.
pub struct Inputs<'a> {
    /// Every customer to describe, ascending ids.
    pub customers: &'a [i64],
    /// Their completed orders, grouped (customers without orders may be
    /// missing).
    pub book: &'a OrderBook,
    /// Our relationship with each customer; without them selection
    /// scoring is skipped.
    pub relationships: Option<&'a [RelationshipFacts]>,
    /// Stages stored by the previous run, by ascending customer id.
    pub previous_stages: &'a [(i64, StageState)],
    /// A refresh: score against what a full run fixed instead of deriving
    /// cut points, thresholds, models and distributions from these
    /// customers.
    pub pins: Option<&'a Pins>,
    /// Models of an earlier run to start the CLV fit from (a full run
    /// starts from the previous run's: same optimum, fewer iterations).
    pub warm_start: Option<&'a ClvModels>,
}

/// What a full run derives from the whole customer base and a refresh
/// reuses to score the customers whose orders changed since: RFM
/// breakpoints, pyramid cut values, A–E thresholds, the fitted CLV models,
/// and each selection indicator's distribution (at most
/// [`PINNED_VALUES`] values each, see [`Distribution::compress`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pins {
    pub rfm: Option<RfmBreakpoints>,
    pub head_min_minor: Option<i64>,
    pub waist_min_minor: Option<i64>,
    pub value_groups: Option<ValueGroupThresholds>,
    pub clv: Option<ClvModels>,
    /// The selection settings as scored (without CLV when there is no fit).
    pub selection: SelectionConfig,
    pub distributions: BTreeMap<String, Distribution>,
}

/// Values kept per selection indicator for refreshes: percentiles of a
/// refresh are within 0.1 points of the full run's.
pub const PINNED_VALUES: usize = 1000;

/// One customer's results (storage's row, which the API also serves).
pub type CustomerResult = CustomerAnalytics;

/// Customers per RFM segment and their window revenue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentCount {
    pub segment: String,
    pub customers: u64,
    pub revenue_minor: i64,
}

/// Company-level results of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub config: AnalysisConfig,
    pub customers: u64,
    pub orders: u64,
    /// Customers with a purchase in the window.
    pub active_customers: u64,
    pub rfm_breakpoints: Option<RfmBreakpoints>,
    pub rfm_segments: Vec<SegmentCount>,
    pub rfm_grid: RfmGrid,
    /// Revenue pyramid and Pareto curve (without the member list).
    pub pyramid_revenue: PyramidAnalysis,
    /// Profit pyramid and whale curve.
    pub pyramid_profit: PyramidAnalysis,
    pub value_group_thresholds: Option<value_group::ValueGroupThresholds>,
    /// Customers per group A–E (customers without purchases are A).
    pub value_group_counts: [u64; 5],
    /// From the previous window to this one.
    pub value_group_migration: MigrationMatrix,
    /// Customers per lifecycle stage, in stage order.
    pub lifecycle_counts: [u64; 5],
    /// Stage changes of this run: (from, to, customers); from is `None`
    /// for customers seen the first time.
    pub lifecycle_flows: Vec<(Option<String>, String, u64)>,
    /// Customers per selection quadrant A–D, when scored.
    pub selection_counts: Option<[u64; 4]>,
    /// The indicators scored, in the order of each customer's compact
    /// explanation (value indicators first).
    pub selection_indicators: Vec<IndicatorRef>,
    /// The fitted models, when the data supports a fit.
    pub clv_models: Option<ClvModels>,
    /// Why there is no fit.
    pub clv_error: Option<String>,
    /// Sum of every customer's CLV, minor units.
    pub clv_total_minor: i64,
}

/// Everything a run produces.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub results: Vec<CustomerResult>,
    pub changes: Vec<LifecycleChange>,
    pub summary: Summary,
    /// Repeat summaries the CLV models saw (offline runs write them out).
    pub clv_inputs: Vec<clv::RepeatSummary>,
    /// What refreshes after this run reuse (the input pins on a refresh).
    pub pins: Pins,
}

/// Logs how long each step of a run took (at debug level).
struct Steps(std::time::Instant);

impl Steps {
    fn mark(&mut self, step: &str) {
        tracing::debug!(
            step,
            ms = self.0.elapsed().as_millis() as u64,
            "analysis step"
        );
        self.0 = std::time::Instant::now();
    }
}

/// A selection indicator as scored: its group (`value` or `capability`)
/// and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IndicatorRef {
    pub group: String,
    pub name: String,
}

/// One indicator's share of a customer's selection scores.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Contribution {
    /// `value` or `capability`.
    pub group: String,
    pub indicator: String,
    /// The raw value; null when missing.
    pub raw: Option<f64>,
    /// Points added to the group's 0–100 score.
    pub points: f64,
}

/// `[[raw, points], …]` with raw values to 2 and points to 1 decimal: a
/// million customers' explanations stay small.
fn compact_explanation(lines: impl Iterator<Item = (Option<f64>, f64)>) -> String {
    let mut out = String::with_capacity(80);
    out.push('[');
    for (i, (raw, points)) in lines.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        match raw.filter(|r| r.is_finite()) {
            Some(r) => push_decimal(&mut out, r, 2),
            None => out.push_str("null"),
        }
        out.push(',');
        push_decimal(&mut out, if points.is_finite() { points } else { 0.0 }, 1);
        out.push(']');
    }
    out.push(']');
    out
}

/// `x` rounded to `decimals` (1 or 2) places, without trailing zeros, as
/// JSON: the shortest text of the rounded number, written with integer
/// arithmetic (a million explanations of six lines each are written per
/// run).
fn push_decimal(out: &mut String, x: f64, decimals: u32) {
    use std::fmt::Write;
    let scale = 10i64.pow(decimals);
    let scaled = (x * scale as f64).round();
    if scaled.is_nan() || scaled.abs() >= 1e15 {
        let _ = write!(out, "{}", scaled / scale as f64);
        return;
    }
    let n = scaled as i64;
    if n < 0 {
        out.push('-');
    }
    let n = n.unsigned_abs();
    // A million explanations: digits by `itoa`, not the formatter.
    let mut digits = itoa::Buffer::new();
    out.push_str(digits.format(n / scale as u64));
    let mut frac = n % scale as u64;
    if frac > 0 {
        out.push('.');
        let mut width = decimals as usize;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        let frac = digits.format(frac);
        for _ in frac.len()..width {
            out.push('0');
        }
        out.push_str(frac);
    }
}

/// Expands a stored compact explanation with the indicators of the run
/// that wrote it. Lines without an indicator are dropped.
pub fn explain(compact: &str, indicators: &[IndicatorRef]) -> Vec<Contribution> {
    let lines: Vec<(Option<f64>, f64)> = serde_json::from_str(compact).unwrap_or_default();
    lines
        .into_iter()
        .zip(indicators)
        .map(|((raw, points), i)| Contribution {
            group: i.group.clone(),
            indicator: i.name.clone(),
            raw,
            points,
        })
        .collect()
}

/// The indicators of a stored run summary.
pub fn indicators_of(summary: &serde_json::Value) -> Vec<IndicatorRef> {
    serde_json::from_value(summary["selection_indicators"].clone()).unwrap_or_default()
}

/// Runs every model. `computed_at` stamps the results.
pub fn compute(
    inputs: &Inputs<'_>,
    config: &AnalysisConfig,
    computed_at: DateTime<Utc>,
) -> Result<Outcome, AnalysisError> {
    let customers = inputs.customers;
    if customers.windows(2).any(|w| w[0] >= w[1]) {
        return Err(AnalysisError::Input(
            "customer ids must be unique and ascending".into(),
        ));
    }
    if inputs.previous_stages.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(AnalysisError::Input(
            "stored stages must come one per customer, by ascending id".into(),
        ));
    }
    let members = Members::new(customers);
    let index = |id: i64| members.slot(id);
    if let Some(id) = inputs
        .book
        .customers()
        .iter()
        .find(|id| !members.contains(**id))
    {
        return Err(AnalysisError::Input(format!(
            "an order refers to customer {id} which is not in the run"
        )));
    }
    let n = customers.len();
    let window = config.window()?;
    let as_of = config.as_of;

    let before = Window::new(
        as_of
            .checked_sub_days(Days::new(u64::from(config.window_days)))
            .ok_or_else(|| AnalysisError::Input("as-of date too early".into()))?,
        config.window_days,
    )?;
    let lifecycle_config = LifecycleConfig {
        as_of,
        window_days: config.window_days,
        ..config.lifecycle
    };
    // Every per-customer measure in one pass over the orders: the window
    // (RFM, pyramids, groups), the window before (migration), the
    // lifecycle halves and the CLV calibration.
    let mut steps = Steps(std::time::Instant::now());
    let profiles = kehu_analytics::profiles(
        inputs.book,
        &Periods {
            window,
            previous: before,
            lifecycle: lifecycle_config,
            calibration_end: config.calibration_end,
            unit: TimeUnit::Weeks,
        },
    )?;
    let Profiles {
        window: summaries,
        previous: earlier_measures,
        lifecycle: with_orders,
        calibration: clv_inputs,
    } = profiles;
    steps.mark("per-customer measures");
    // The CLV models on a thread of their own, beside the other models
    // (which leave a core idle most of the time).
    let (models, clv, mut results) = std::thread::scope(|scope| {
        let clv = scope.spawn(|| {
            let pinned = inputs.pins.map(|p| p.clv);
            fit_and_predict(&clv_inputs, pinned, inputs.warm_start, &config.clv)
        });
        // The million result rows are fresh memory, and the kernel's work
        // of handing it over is a good part of their cost: a thread of its
        // own lays them out while the models run.
        let blank = scope.spawn(|| {
            customers
                .iter()
                .map(|&id| blank_result(id, computed_at, as_of))
                .collect::<Vec<CustomerResult>>()
        });
        let models = value_models(
            inputs,
            config,
            &lifecycle_config,
            &summaries,
            &earlier_measures,
            with_orders,
            &mut steps,
        );
        let clv = clv
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let results = blank
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (models, clv, results)
    });
    let ValueModels {
        rfm,
        mut pyramid_revenue,
        mut pyramid_profit,
        groups,
        migration,
        stages,
    } = models?;

    let (clv_models, clv_error, predictions) = clv?;
    steps.mark("clv models");
    // Every id below comes from the orders, all checked against the list.
    for s in &summaries {
        let Some(r) = index(s.customer_id).map(|i| &mut results[i]) else {
            continue;
        };
        r.revenue_minor = s.total_amount_minor;
        r.profit_minor = s.total_profit_minor;
    }
    let mut segment_totals: HashMap<RfmSegment, (u64, i64)> = HashMap::new();
    for rec in &rfm.records {
        let Some(r) = index(rec.customer_id).map(|i| &mut results[i]) else {
            continue;
        };
        r.recency_days = Some(rec.recency_days);
        r.frequency = Some(i64::from(rec.frequency));
        r.monetary_minor = Some(rec.monetary_minor);
        r.r_score = Some(i64::from(rec.scores.r));
        r.f_score = Some(i64::from(rec.scores.f));
        r.m_score = Some(i64::from(rec.scores.m));
        r.rfm_segment = Some(rec.segment.key().into());
        let t = segment_totals.entry(rec.segment).or_default();
        t.0 += 1;
        t.1 += rec.monetary_minor;
    }
    match inputs.pins {
        None => {
            for m in &pyramid_revenue.members {
                if let Some(i) = index(m.customer_id) {
                    results[i].pyramid_layer = Some(m.layer.key().into());
                }
            }
        }
        Some(p) => {
            for r in results.iter_mut().filter(|r| r.revenue_minor > 0) {
                let layer = pyramid::layer_of(r.revenue_minor, p.head_min_minor, p.waist_min_minor);
                r.pyramid_layer = Some(layer.key().into());
            }
        }
    }
    for g in &groups.records {
        if let Some(i) = index(g.customer_id) {
            results[i].value_group = g.group.key().into();
        }
    }
    for p in &predictions {
        let Some(r) = index(p.customer_id).map(|i| &mut results[i]) else {
            continue;
        };
        r.probability_alive = Some(p.probability_alive);
        r.expected_purchases = Some(p.expected_purchases);
        r.expected_order_value_minor = Some(p.expected_average_value.round() as i64);
        r.clv_minor = Some(p.clv.round() as i64);
    }

    steps.mark("per-customer results");
    // Stage history: an unchanged stage keeps its date.
    let mut changes = Vec::new();
    let mut lifecycle_counts = [0u64; 5];
    let mut flows: HashMap<(Option<String>, String), u64> = HashMap::new();
    // Both lists ascend by id: one walk pairs them.
    let mut stored = inputs.previous_stages.iter().peekable();
    for (r, st) in results.iter_mut().zip(&stages) {
        let id = r.customer_id.0;
        while stored.next_if(|(s, _)| *s < id).is_some() {}
        let previous = stored.next_if(|(s, _)| *s == id).map(|(_, p)| *p);
        let (state, change) = lifecycle::advance(id, previous, st.stage, as_of);
        r.lifecycle_stage = st.stage.key().into();
        r.lifecycle_reason = st.reason.key().into();
        r.lifecycle_since = state.since;
        lifecycle_counts[st.stage as usize] += 1;
        if let Some(c) = change {
            let from = c.from.map(|s| s.key().to_owned());
            *flows
                .entry((from.clone(), c.to.key().to_owned()))
                .or_default() += 1;
            changes.push(LifecycleChange {
                customer_id: CustomerId(id),
                from_stage: from,
                to_stage: c.to.key().to_owned(),
                changed_on: c.date,
            });
        }
    }
    let mut lifecycle_flows: Vec<(Option<String>, String, u64)> =
        flows.into_iter().map(|((f, t), n)| (f, t, n)).collect();
    lifecycle_flows.sort();

    steps.mark("stage changes");
    // Selection, when the relationship facts are known.
    let mut selection_counts = None;
    let mut selection_indicators = Vec::new();
    // A refresh scores with the run's settings as scored; a run without
    // CLV predictions leaves the CLV indicator out.
    let selection_config = match inputs.pins {
        Some(p) => p.selection.clone(),
        None => {
            let mut c = config.selection.clone();
            if clv_models.is_none() || predictions.is_empty() {
                c.value.retain(|i| i.name != CLV);
            }
            c
        }
    };
    let mut distributions = BTreeMap::new();
    if let Some(facts) = inputs.relationships {
        let n = results.len();
        // Relationship facts by customer slot (facts come sorted by id).
        let mut fact_of: Vec<Option<&RelationshipFacts>> = vec![None; n];
        for f in facts {
            if let Some(i) = index(f.customer_id) {
                fact_of[i] = Some(f);
            }
        }
        let fact = |pick: fn(&RelationshipFacts) -> i64| -> Vec<Option<f64>> {
            fact_of
                .iter()
                .map(|f| Some(f.map_or(0.0, |f| pick(f) as f64)))
                .collect()
        };
        let mut columns = BTreeMap::new();
        columns.insert(
            REVENUE.to_owned(),
            results
                .iter()
                .map(|r| Some(r.revenue_minor as f64 / 100.0))
                .collect(),
        );
        columns.insert(
            PURCHASES.to_owned(),
            results
                .iter()
                .map(|r| Some(r.frequency.unwrap_or(0) as f64))
                .collect(),
        );
        columns.insert(
            CLV.to_owned(),
            results
                .iter()
                .map(|r| r.clv_minor.map(|c| c as f64 / 100.0))
                .collect(),
        );
        columns.insert(KDM_CLOSENESS.to_owned(), fact(|f| f.kdm_closeness));
        columns.insert(
            RECENT_INTERACTIONS.to_owned(),
            fact(|f| f.recent_interactions),
        );
        columns.insert(CONTACTS.to_owned(), fact(|f| f.contacts));
        steps.mark("selection inputs");
        let scored = match inputs.pins {
            None => {
                let (scored, exact) =
                    selection::score_columns_exact(n, &columns, &selection_config)?;
                distributions = exact
                    .into_iter()
                    .map(|(k, d)| (k, d.compress(PINNED_VALUES)))
                    .collect();
                scored
            }
            Some(p) => {
                selection::score_columns_in(n, &columns, &selection_config, &p.distributions)?
            }
        };
        steps.mark("selection scores");
        let names: Vec<&str> = selection_config
            .value
            .iter()
            .chain(&selection_config.capability)
            .map(|i| i.name.as_str())
            .collect();
        let raw: Vec<&[Option<f64>]> = names
            .iter()
            .map(|name| columns.get(*name).map_or(&[][..], |c| c.as_slice()))
            .collect();
        let k = names.len();
        // A million explanations are written side by side, a part of the
        // customers per core (one part for a refresh's few).
        let part = results
            .len()
            .div_ceil(kehu_analytics::workers(results.len()))
            .max(1);
        let (scored, raw) = (&scored, &raw);
        std::thread::scope(|scope| {
            for (p, rows) in results.chunks_mut(part).enumerate() {
                scope.spawn(move || {
                    for (i, r) in (p * part..).zip(rows.iter_mut()) {
                        let q = scored.quadrant[i];
                        r.value_score = Some(scored.value_score[i]);
                        r.capability_score = Some(scored.capability_score[i]);
                        r.selection_quadrant = Some(q.key().into());
                        r.selection_explanation = Some(compact_explanation((0..k).map(|j| {
                            (raw[j].get(i).copied().flatten(), scored.points[i * k + j])
                        })));
                    }
                });
            }
        });
        let mut counts = [0u64; 4];
        for q in &scored.quadrant {
            counts[*q as usize] += 1;
        }
        selection_counts = Some(counts);
        selection_indicators = selection_config
            .value
            .iter()
            .map(|i| IndicatorRef {
                group: "value".into(),
                name: i.name.clone(),
            })
            .chain(selection_config.capability.iter().map(|i| IndicatorRef {
                group: "capability".into(),
                name: i.name.clone(),
            }))
            .collect();
    }

    steps.mark("selection");
    let pins = match inputs.pins {
        Some(p) => p.clone(),
        None => Pins {
            rfm: rfm.breakpoints,
            head_min_minor: pyramid_revenue.head_min_value_minor,
            waist_min_minor: pyramid_revenue.waist_min_value_minor,
            value_groups: groups.thresholds,
            clv: clv_models,
            selection: selection_config,
            distributions,
        },
    };
    pyramid_revenue.members = Vec::new();
    pyramid_profit.members = Vec::new();
    let rfm_segments = RfmSegment::ALL
        .iter()
        .map(|s| {
            let (customers, revenue_minor) = segment_totals.get(s).copied().unwrap_or_default();
            SegmentCount {
                segment: s.key().to_owned(),
                customers,
                revenue_minor,
            }
        })
        .collect();
    let clv_total_minor = results.iter().filter_map(|r| r.clv_minor).sum();
    let mut value_group_counts = groups.counts;
    // Customers without any order in the window are A too.
    value_group_counts[ValueGroup::A as usize] += (n - groups.records.len()) as u64;
    let summary = Summary {
        config: config.clone(),
        customers: n as u64,
        orders: inputs.book.len() as u64,
        active_customers: rfm.records.len() as u64,
        rfm_breakpoints: rfm.breakpoints,
        rfm_segments,
        rfm_grid: rfm.grid(),
        pyramid_revenue,
        pyramid_profit,
        value_group_thresholds: groups.thresholds,
        value_group_counts,
        value_group_migration: migration,
        lifecycle_counts,
        lifecycle_flows,
        selection_counts,
        selection_indicators,
        clv_models,
        clv_error,
        clv_total_minor,
    };
    Ok(Outcome {
        results,
        changes,
        summary,
        clv_inputs,
        pins,
    })
}

/// A customer's result row before the models fill it in: no purchase in
/// the window, group A, in acquisition since the as-of day.
fn blank_result(id: i64, computed_at: DateTime<Utc>, as_of: NaiveDate) -> CustomerResult {
    CustomerAnalytics {
        customer_id: CustomerId(id),
        computed_at,
        as_of,
        recency_days: None,
        frequency: None,
        monetary_minor: None,
        r_score: None,
        f_score: None,
        m_score: None,
        rfm_segment: None,
        revenue_minor: 0,
        profit_minor: 0,
        pyramid_layer: None,
        value_group: ValueGroup::A.key().into(),
        lifecycle_stage: LifecycleStage::Acquisition.key().into(),
        lifecycle_since: as_of,
        lifecycle_reason: StageReason::NoPurchase.key().into(),
        value_score: None,
        capability_score: None,
        selection_quadrant: None,
        selection_explanation: None,
        probability_alive: None,
        expected_purchases: None,
        expected_order_value_minor: None,
        clv_minor: None,
    }
}

/// RFM, the two pyramids, the A–E groups and their migration, and every
/// customer's lifecycle stage: the models computed beside the CLV thread.
struct ValueModels {
    rfm: rfm::RfmAnalysis,
    pyramid_revenue: PyramidAnalysis,
    pyramid_profit: PyramidAnalysis,
    groups: value_group::ValueGroupAnalysis,
    migration: MigrationMatrix,
    stages: Vec<lifecycle::LifecycleRecord>,
}

/// [`ValueModels`] from the per-customer measures (a refresh scores with
/// the run's pins); customers without orders are in acquisition.
fn value_models(
    inputs: &Inputs<'_>,
    config: &AnalysisConfig,
    lifecycle_config: &LifecycleConfig,
    summaries: &[CustomerSummary],
    earlier_measures: &[(i64, u32, i64)],
    with_orders: Vec<LifecycleInput>,
    steps: &mut Steps,
) -> Result<ValueModels, AnalysisError> {
    let rfm_config = RfmConfig::new(config.as_of, config.window_days)?;
    let rfm = match inputs.pins {
        None => rfm::analyze_summaries(summaries, &rfm_config)?,
        Some(p) => {
            let values = rfm::values_from_summaries(summaries, &rfm_config)?;
            rfm::RfmAnalysis {
                config: rfm_config,
                breakpoints: p.rfm,
                records: p
                    .rfm
                    .map(|bp| rfm::score_with(&values, &bp))
                    .unwrap_or_default(),
            }
        }
    };
    let revenue_config = PyramidConfig {
        basis: PyramidBasis::Revenue,
        ..config.pyramid
    };
    // The revenue pyramid ranks the customers who brought revenue; the
    // profit pyramid keeps the loss-makers, whose losses bend the whale.
    let with_revenue: Vec<_> = summaries
        .iter()
        .filter(|s| s.total_amount_minor > 0)
        .copied()
        .collect();
    let pyramid_revenue = pyramid::analyze_summaries(&with_revenue, &revenue_config)?;
    let profit_config = PyramidConfig {
        basis: PyramidBasis::Profit,
        ..config.pyramid
    };
    let pyramid_profit = pyramid::analyze_summaries(summaries, &profit_config)?;
    steps.mark("rfm and pyramids");
    let group_config = match inputs.pins {
        None => config.value_groups,
        Some(p) => match p.value_groups {
            Some(t) => ValueGroupConfig {
                frequency_threshold: Some(t.frequency),
                order_value_threshold_minor: Some(t.order_value_minor),
            },
            // The run had no active customer, so no thresholds: A for
            // everyone, as it gave (set below).
            None => ValueGroupConfig {
                frequency_threshold: Some(f64::MAX),
                order_value_threshold_minor: Some(f64::MAX),
            },
        },
    };
    let mut groups = value_group::assign_summaries(summaries, &group_config)?;
    if inputs.pins.is_some_and(|p| p.value_groups.is_none()) {
        for r in &mut groups.records {
            r.group = ValueGroup::A;
        }
    }
    let earlier = value_group::assign_measures(earlier_measures, &config.value_groups)?;
    let pairs = |a: &value_group::ValueGroupAnalysis| -> Vec<(i64, ValueGroup)> {
        a.records.iter().map(|r| (r.customer_id, r.group)).collect()
    };
    let migration = value_group::migration(&pairs(&earlier), &pairs(&groups))?;

    // Lifecycle for everyone: customers without orders are acquisition.
    let mut lc_inputs: Vec<LifecycleInput> = Vec::with_capacity(inputs.customers.len());
    let mut it = with_orders.into_iter().peekable();
    for &id in inputs.customers {
        match it.peek() {
            Some(i) if i.customer_id == id => lc_inputs.extend(it.next()),
            _ => lc_inputs.push(LifecycleInput {
                customer_id: id,
                first_purchase: None,
                last_purchase: None,
                purchase_days: 0,
                recent_purchases: 0,
                earlier_purchases: 0,
            }),
        }
    }
    steps.mark("value groups and migration");
    let stages = lifecycle::classify(&lc_inputs, lifecycle_config)?;
    steps.mark("lifecycle");
    Ok(ValueModels {
        rfm,
        pyramid_revenue,
        pyramid_profit,
        groups,
        migration,
        stages,
    })
}

/// The models, why there are none, and the predictions.
type ClvOutcome = (Option<ClvModels>, Option<String>, Vec<clv::ClvRecord>);

/// The CLV models fitted on every purchase day up to the calibration end
/// (or the pinned ones of a refresh) and their predictions; why there are
/// none when the data cannot support them.
fn fit_and_predict(
    clv_inputs: &[clv::RepeatSummary],
    pinned: Option<Option<ClvModels>>,
    warm_start: Option<&ClvModels>,
    config: &ClvConfig,
) -> Result<ClvOutcome, AnalysisError> {
    let fitted = match pinned {
        None => clv::fit_from(clv_inputs, warm_start).map_err(|e| e.to_string()),
        Some(p) => {
            p.ok_or_else(|| "the full run this refresh builds on has no CLV models".to_owned())
        }
    };
    Ok(match fitted {
        Ok(m) => match clv::predict(&m.bg_nbd.params, &m.gamma_gamma.params, clv_inputs, config) {
            Ok(p) => (Some(m), None, p),
            // Bad settings are the caller's mistake, not a lack of data.
            Err(e @ AnalyticsError::InvalidConfig { .. }) => return Err(e.into()),
            Err(e) => (Some(m), Some(e.to_string()), Vec::new()),
        },
        Err(e) => (None, Some(e), Vec::new()),
    })
}

/// What a database run did (also the API's answer to a run on demand).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunReport {
    pub run_id: i64,
    pub customers: u64,
    pub orders: u64,
    pub stage_changes: u64,
    pub load_ms: u64,
    pub compute_ms: u64,
    pub save_ms: u64,
    /// Why there is no CLV, when the data cannot support the models.
    pub clv_error: Option<String>,
}

/// Recomputes every customer's results from the database and replaces
/// the stored ones in one transaction.
pub async fn run_on_store(
    store: &Store,
    config: &AnalysisConfig,
) -> Result<RunReport, AnalysisError> {
    let started = std::time::Instant::now();
    let read_from = store.clock().now().timestamp_millis();
    let mut steps = Steps(started);
    // The four reads go side by side. A customer created meanwhile may
    // have no order in the run; orders of a customer deleted meanwhile
    // are left out below.
    let (since, until) = recent_interactions(config.as_of)?;
    // Each on a task of its own: PostgreSQL's rows are decoded as they
    // stream in, on as many threads.
    let stopped = |e: tokio::task::JoinError| AnalysisError::Input(format!("a read stopped: {e}"));
    let (s, as_of) = (store.clone(), config.as_of);
    let book = tokio::spawn(async move { s.analysis_book(as_of).await });
    let s = store.clone();
    let customers = tokio::spawn(async move { s.all_customer_ids().await });
    let s = store.clone();
    let facts = tokio::spawn(async move { s.relationship_facts(since, until).await });
    let s = store.clone();
    let states = tokio::spawn(async move { s.lifecycle_states().await });
    let customers = customers.await.map_err(stopped)??;
    steps.mark("read customer ids");
    let previous = states.await.map_err(stopped)??;
    steps.mark("read lifecycle stages");
    let facts = facts.await.map_err(stopped)??;
    steps.mark("read relationship facts");
    let mut book = book.await.map_err(stopped)??;
    steps.mark("read orders");
    let members = Members::new(&customers);
    book.retain(|id| members.contains(id));
    // The previous run's models start this run's fit.
    let warm_start = store
        .latest_run_pins()
        .await?
        .and_then(|pins| serde_json::from_str::<Pins>(&pins).ok())
        .and_then(|pins| pins.clv);
    let loaded = started.elapsed();
    let now = store.clock().now();
    let (customers_n, orders_n) = (customers.len(), book.len());
    let read = Read {
        customers,
        book,
        facts,
        previous,
    };
    let outcome = read
        .compute_apart(None, warm_start, config.clone(), now)
        .await?;
    let pins = serde_json::to_string(&outcome.pins)
        .map_err(|e| AnalysisError::Input(format!("pins: {e}")))?;
    let computed = started.elapsed();
    let summary = serde_json::to_value(&outcome.summary)
        .map_err(|e| AnalysisError::Input(format!("summary: {e}")))?;
    let run = AnalysisRun {
        id: 0,
        computed_at: now,
        as_of: config.as_of,
        customers: customers_n as i64,
        orders: orders_n as i64,
        duration_ms: computed.as_millis() as i64,
        summary,
    };
    let run_id = store
        .save_analysis(
            &std::sync::Arc::new(outcome.results),
            &outcome.changes,
            &run,
            read_from,
            &pins,
        )
        .await?;
    let saved = started.elapsed();
    Ok(RunReport {
        run_id,
        customers: customers_n as u64,
        orders: orders_n as u64,
        stage_changes: outcome.changes.len() as u64,
        load_ms: loaded.as_millis() as u64,
        compute_ms: (computed - loaded).as_millis() as u64,
        save_ms: (saved - computed).as_millis() as u64,
        clv_error: outcome.summary.clv_error,
    })
}

/// The place of each id in an ascending list of ids, asked once per
/// customer of the orders and per result: a table indexed by id when the ids are dense (database
/// keys usually are), binary search otherwise.
struct Members<'a> {
    ids: &'a [i64],
    /// (smallest id, the slot of each id from it, `u32::MAX` for none).
    table: Option<(i64, Vec<u32>)>,
}

impl<'a> Members<'a> {
    fn new(ids: &'a [i64]) -> Self {
        let table = match (ids.first(), ids.last()) {
            (Some(&lo), Some(&hi))
                if ids.len() < u32::MAX as usize
                    && hi
                        .checked_sub(lo)
                        .is_some_and(|span| span / 2 <= ids.len() as i64) =>
            {
                let mut table = vec![u32::MAX; (hi - lo + 1) as usize];
                for (slot, id) in ids.iter().enumerate() {
                    table[(id - lo) as usize] = slot as u32;
                }
                Some((lo, table))
            }
            _ => None,
        };
        Self { ids, table }
    }

    /// The position of `id` in the list.
    fn slot(&self, id: i64) -> Option<usize> {
        match &self.table {
            Some((lo, table)) => {
                let at = id.checked_sub(*lo).and_then(|d| usize::try_from(d).ok())?;
                table
                    .get(at)
                    .copied()
                    .filter(|s| *s != u32::MAX)
                    .map(|s| s as usize)
            }
            None => self.ids.binary_search(&id).ok(),
        }
    }

    fn contains(&self, id: i64) -> bool {
        self.slot(id).is_some()
    }
}

/// What a run or a refresh read from the database.
struct Read {
    customers: Vec<i64>,
    book: OrderBook,
    facts: Vec<RelationshipFacts>,
    previous: Vec<(i64, StageState)>,
}

impl Read {
    /// [`compute`] off the async runtime.
    async fn compute_apart(
        self,
        pins: Option<Pins>,
        warm_start: Option<ClvModels>,
        config: AnalysisConfig,
        now: DateTime<Utc>,
    ) -> Result<Outcome, AnalysisError> {
        tokio::task::spawn_blocking(move || {
            let inputs = Inputs {
                customers: &self.customers,
                book: &self.book,
                relationships: Some(&self.facts),
                previous_stages: &self.previous,
                pins: pins.as_ref(),
                warm_start: warm_start.as_ref(),
            };
            compute(&inputs, &config, now)
        })
        .await
        .map_err(|e| AnalysisError::Input(format!("the computation stopped: {e}")))?
    }
}

/// Recent interactions: the [`RECENT_DAYS`] days up to and including the
/// as-of day, in the company's time zone, as `[since, until)` in ms.
fn recent_interactions(as_of: NaiveDate) -> Result<(i64, i64), AnalysisError> {
    let first_day = as_of
        .checked_sub_days(Days::new(RECENT_DAYS - 1))
        .ok_or_else(|| AnalysisError::Input("as-of date too early".into()))?;
    let day_after = as_of
        .checked_add_days(Days::new(1))
        .ok_or_else(|| AnalysisError::Input("as-of date too late".into()))?;
    Ok((
        crate::time::start_of_day_ms(first_day, TIME_ZONE),
        crate::time::start_of_day_ms(day_after, TIME_ZONE),
    ))
}

/// Changes picked up again by each refresh: a transaction that stamped an
/// order change just before a refresh began reading may commit after it
/// read, so each refresh also re-scores what changed this long before the
/// previous one began.
pub const REFRESH_OVERLAP_MS: i64 = 10 * 60 * 1000;

/// What a refresh did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefreshReport {
    /// The full run whose results were refreshed.
    pub run_id: i64,
    /// Its as-of day, which the refreshed results describe too.
    pub as_of: NaiveDate,
    /// Customers re-scored: those whose orders changed or who were
    /// created since the run or the previous refresh.
    pub customers: u64,
    /// Their orders read.
    pub orders: u64,
    pub stage_changes: u64,
    pub load_ms: u64,
    pub compute_ms: u64,
    pub save_ms: u64,
}

/// Brings the latest run's results up to date for the customers whose
/// orders changed (and new customers) since it or the previous refresh,
/// scoring them with what the run fixed: its RFM breakpoints, pyramid cut
/// values, A–E thresholds, CLV models and selection distributions, on its
/// as-of day. Everything company-wide (shares, curves, medians, fits) is
/// re-derived by the next full run.
pub async fn refresh_on_store(store: &Store) -> Result<RefreshReport, AnalysisError> {
    let started = std::time::Instant::now();
    let Some(run) = store.latest_analysis_run().await? else {
        return Err(AnalysisError::NeedsRun(
            "there is no analysis run to refresh yet: run the analysis first".into(),
        ));
    };
    let (pins, from) = store.refresh_base(run.id).await?;
    let stale = || {
        AnalysisError::NeedsRun(
            "the latest analysis run predates refreshes: run the analysis again first".into(),
        )
    };
    let pins: Pins = serde_json::from_str(&pins.ok_or_else(stale)?).map_err(|_| stale())?;
    let config: AnalysisConfig =
        serde_json::from_value(run.summary["config"].clone()).map_err(|_| stale())?;
    let read_from = store.clock().now().timestamp_millis();
    let customers = store
        .customers_changed_since(from - REFRESH_OVERLAP_MS)
        .await?;
    let mut report = RefreshReport {
        run_id: run.id,
        as_of: run.as_of,
        customers: customers.len() as u64,
        orders: 0,
        stage_changes: 0,
        load_ms: 0,
        compute_ms: 0,
        save_ms: 0,
    };
    if customers.is_empty() {
        return Ok(report);
    }
    // The three reads side by side, each on a connection of its own.
    let (since, until) = recent_interactions(config.as_of)?;
    let (book, facts, previous) = tokio::try_join!(
        store.analysis_book_of(&customers, config.as_of),
        store.relationship_facts_of(&customers, since, until),
        store.lifecycle_states_of(&customers),
    )?;
    let loaded = started.elapsed();
    let now = store.clock().now();
    report.orders = book.len() as u64;
    let read = Read {
        customers,
        book,
        facts,
        previous,
    };
    let outcome = read.compute_apart(Some(pins), None, config, now).await?;
    let computed = started.elapsed();
    store
        .save_refresh(
            &outcome.results,
            &outcome.changes,
            &AnalysisRefresh {
                run_id: run.id,
                refreshed_at: now,
                read_from,
                customers: report.customers as i64,
                orders: report.orders as i64,
                duration_ms: computed.as_millis() as i64,
            },
        )
        .await?;
    report.stage_changes = outcome.changes.len() as u64;
    report.load_ms = loaded.as_millis() as u64;
    report.compute_ms = (computed - loaded).as_millis() as u64;
    report.save_ms = (started.elapsed() - computed).as_millis() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_by_table_and_by_search_agree() {
        let dense: Vec<i64> = (5..3000).filter(|i| i % 7 != 0).collect();
        let sparse: Vec<i64> = vec![-9, 3, 1 << 40, 1 << 50];
        for ids in [&dense, &sparse, &Vec::new()] {
            let m = Members::new(ids);
            for probe in (-20..3100).chain([1 << 40, 1 << 50, i64::MIN, i64::MAX]) {
                assert_eq!(m.slot(probe), ids.binary_search(&probe).ok(), "{probe}");
                assert_eq!(m.contains(probe), m.slot(probe).is_some());
            }
        }
        assert!(Members::new(&dense).table.is_some());
        assert!(Members::new(&sparse).table.is_none());
    }

    #[test]
    fn explanations_round_trip_through_the_compact_form() {
        let lines = vec![(Some(1234.567), 40.04), (None, 0.0)];
        let compact = compact_explanation(lines.into_iter());
        assert_eq!(compact, "[[1234.57,40],[null,0]]");
        let indicators = vec![
            IndicatorRef {
                group: "value".into(),
                name: REVENUE.into(),
            },
            IndicatorRef {
                group: "capability".into(),
                name: CONTACTS.into(),
            },
        ];
        // The same text as the rounded numbers' own shortest form.
        for x in [
            0.0,
            0.1,
            0.05,
            1.005,
            -3.2,
            40.04,
            123_456_789.987,
            -0.004,
            7.0,
            1e17,
        ] {
            for decimals in [1, 2] {
                let mut text = String::new();
                push_decimal(&mut text, x, decimals);
                let scale = 10f64.powi(decimals as i32);
                let rounded = (x * scale).round() / scale;
                let expected = if rounded == 0.0 {
                    "0".to_owned()
                } else {
                    rounded.to_string()
                };
                assert_eq!(text, expected, "{x} to {decimals} places");
            }
        }
        let back = explain(&compact, &indicators);
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].raw, back[0].points), (Some(1234.57), 40.0));
        assert_eq!((back[1].group.as_str(), back[1].raw), ("capability", None));
    }
}
