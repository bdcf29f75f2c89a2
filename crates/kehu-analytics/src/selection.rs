//! Selection scoring (精准选择客户): customer value x our capability.
//!
//! Two weighted scores per customer, each 0-100:
//!
//! * **value** (attractiveness of the customer): e.g. total purchases,
//!   incremental and cross purchases, reference value, minus cost to serve
//!   and credit risk;
//! * **capability** (how well we can serve them): e.g. fit with our offer,
//!   value we deliver, the customer's cost of dealing with us.
//!
//! Each [`Indicator`] names a numeric input (the caller supplies, per
//! customer, a map from indicator name to value: fields, tags turned into
//! 0/1, aggregates, outputs of other models) with a weight and a direction
//! (cost and risk indicators are "lower is better").
//!
//! # Normalisation
//!
//! Raw values are first brought to 0-100 across the customers of the run:
//!
//! * [`Normalization::MinMax`] (default): `100 * (x - min) / (max - min)`;
//!   sensitive to outliers, keeps distances.
//! * [`Normalization::Percentile`]: the mid-rank percentile
//!   `100 * (below + equal / 2) / n`, where `below` counts the strictly
//!   smaller values and `equal` the equal ones (the customer included);
//!   robust to outliers, and equal values get equal scores.
//!
//! For "lower is better" indicators the normalised value is `100 - s`. When
//! all customers have the same value the indicator carries no information and
//! every customer gets 50 on it. A customer with no value for an indicator
//! gets 0 on it (it cannot earn points for unknown evidence) and the
//! explanation marks the value as missing.
//!
//! The group score is the weighted mean `sum(w_i * s_i) / sum(w_i)`; the
//! explanation lists each indicator's points `w_i * s_i / sum(w_i)`, which
//! add up to the score.
//!
//! # Quadrant
//!
//! | | capability high | capability low |
//! |---|---|---|
//! | value high | A: pursue first (重点选择) | B: pursue when able (择机选择) |
//! | value low | C: serve passively (消极选择) | D: give up (放弃) |
//!
//! "High" means a score of at least the threshold (default 50 for both).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aggregate;
use crate::error::{invalid_config, Result};
use crate::label::Label;

/// Whether a larger raw value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better (revenue, intent).
    #[default]
    HigherIsBetter,
    /// Smaller is better (cost to serve, risk, days late).
    LowerIsBetter,
}

/// How raw values become 0-100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Linear between the run's minimum and maximum.
    #[default]
    MinMax,
    /// Mid-rank percentile.
    Percentile,
}

/// One weighted indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// The input name looked up in each customer's map.
    pub name: String,
    /// Non-negative weight; weights of a group need not sum to 1.
    pub weight: f64,
    /// Direction.
    #[serde(default)]
    pub direction: Direction,
}

impl Indicator {
    /// A "higher is better" indicator.
    pub fn higher(name: impl Into<String>, weight: f64) -> Self {
        Self {
            name: name.into(),
            weight,
            direction: Direction::HigherIsBetter,
        }
    }

    /// A "lower is better" indicator.
    pub fn lower(name: impl Into<String>, weight: f64) -> Self {
        Self {
            name: name.into(),
            weight,
            direction: Direction::LowerIsBetter,
        }
    }
}

/// Selection configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionConfig {
    /// Indicators of the customer's value.
    pub value: Vec<Indicator>,
    /// Indicators of our capability to serve.
    pub capability: Vec<Indicator>,
    /// Normalisation method.
    #[serde(default)]
    pub normalization: Normalization,
    /// Value score at or above which value is "high", default 50.
    pub value_threshold: f64,
    /// Capability score at or above which capability is "high", default 50.
    pub capability_threshold: f64,
}

impl SelectionConfig {
    /// A configuration with default thresholds and min-max normalisation.
    pub fn new(value: Vec<Indicator>, capability: Vec<Indicator>) -> Self {
        Self {
            value,
            capability,
            normalization: Normalization::MinMax,
            value_threshold: 50.0,
            capability_threshold: 50.0,
        }
    }

    fn validate(&self) -> Result<()> {
        for (field, group) in [("value", &self.value), ("capability", &self.capability)] {
            if group.is_empty() {
                return Err(invalid_config(field, "needs at least one indicator"));
            }
            if group
                .iter()
                .any(|i| !(i.weight.is_finite() && i.weight >= 0.0))
            {
                return Err(invalid_config(
                    field,
                    "weights must be finite and non-negative",
                ));
            }
            if group.iter().map(|i| i.weight).sum::<f64>() <= 0.0 {
                return Err(invalid_config(field, "weights must not all be zero"));
            }
        }
        for (field, t) in [
            ("value_threshold", self.value_threshold),
            ("capability_threshold", self.capability_threshold),
        ] {
            if !(0.0..=100.0).contains(&t) {
                return Err(invalid_config(field, "must be between 0 and 100"));
            }
        }
        Ok(())
    }
}

/// Raw indicator values of one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionInput {
    /// The customer's id.
    pub customer_id: i64,
    /// Indicator name to raw value; non-finite values count as missing.
    pub values: BTreeMap<String, f64>,
}

/// The selection quadrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionQuadrant {
    /// Value high, capability high: pursue first.
    A,
    /// Value high, capability low: pursue when able.
    B,
    /// Value low, capability high: serve passively.
    C,
    /// Value low, capability low: give up.
    D,
}

impl SelectionQuadrant {
    pub const ALL: [SelectionQuadrant; 4] = [
        SelectionQuadrant::A,
        SelectionQuadrant::B,
        SelectionQuadrant::C,
        SelectionQuadrant::D,
    ];

    /// Stable key `a`-`d`.
    pub fn key(&self) -> &'static str {
        match self {
            SelectionQuadrant::A => "a",
            SelectionQuadrant::B => "b",
            SelectionQuadrant::C => "c",
            SelectionQuadrant::D => "d",
        }
    }

    /// Display name.
    pub fn label(&self) -> Label {
        match self {
            SelectionQuadrant::A => Label {
                en: "A: pursue first",
                zh_cn: "A：重点选择",
            },
            SelectionQuadrant::B => Label {
                en: "B: pursue when able",
                zh_cn: "B：择机选择",
            },
            SelectionQuadrant::C => Label {
                en: "C: serve passively",
                zh_cn: "C：消极选择",
            },
            SelectionQuadrant::D => Label {
                en: "D: give up",
                zh_cn: "D：放弃",
            },
        }
    }

    /// The quadrant of two "high" flags.
    pub fn from_flags(value_high: bool, capability_high: bool) -> Self {
        match (value_high, capability_high) {
            (true, true) => SelectionQuadrant::A,
            (true, false) => SelectionQuadrant::B,
            (false, true) => SelectionQuadrant::C,
            (false, false) => SelectionQuadrant::D,
        }
    }
}

/// Which score an indicator feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreGroup {
    /// Customer value.
    Value,
    /// Our capability.
    Capability,
}

/// One line of a customer's explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Value or capability.
    pub group: ScoreGroup,
    /// Indicator name.
    pub indicator: String,
    /// The raw value; `None` when missing.
    pub raw: Option<f64>,
    /// The 0-100 normalised value (after direction).
    pub normalized: f64,
    /// The weight as a share of its group's total weight.
    pub weight_share: f64,
    /// Points added to the group score: `weight_share * normalized`.
    pub points: f64,
}

/// One customer's selection result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionRecord {
    /// The customer's id.
    pub customer_id: i64,
    /// Value score 0-100.
    pub value_score: f64,
    /// Capability score 0-100.
    pub capability_score: f64,
    /// The quadrant.
    pub quadrant: SelectionQuadrant,
    /// Every indicator's contribution, value indicators first, in
    /// configuration order.
    pub explanation: Vec<Contribution>,
}

/// The values of one indicator over the customers of a run, as far as
/// normalisation needs them: each distinct value with the share of values
/// strictly below it and at or below it.
///
/// Built from a whole column it is exact. [`Distribution::compress`] keeps
/// at most a given number of those values (the smallest, the largest and
/// evenly spaced ranks between), which is what a run stores so that a later
/// refresh can place a changed customer in the run's distribution: between
/// two kept values the percentile is interpolated linearly, so it is off by
/// at most the share of values between them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Distribution {
    /// Distinct values, ascending.
    values: Vec<f64>,
    /// Share of values strictly below `values[i]`.
    below: Vec<f64>,
    /// Share of values at or below `values[i]`.
    upto: Vec<f64>,
}

impl Distribution {
    /// The exact distribution of `raw` (non-finite values are left out).
    pub fn new(raw: impl Iterator<Item = f64>) -> Self {
        let mut sorted: Vec<f64> = raw.filter(|v| v.is_finite()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mut d = Self::default();
        let mut i = 0;
        while i < sorted.len() {
            let v = sorted[i];
            let mut j = i + 1;
            while j < sorted.len() && sorted[j] == v {
                j += 1;
            }
            d.values.push(v);
            d.below.push(i as f64 / n);
            d.upto.push(j as f64 / n);
            i = j;
        }
        d
    }

    /// At most `max_values` of the distinct values (at least 2): the
    /// smallest, the largest, and the first value reaching each of the
    /// evenly spaced shares between.
    pub fn compress(&self, max_values: usize) -> Self {
        let len = self.values.len();
        let max_values = max_values.max(2);
        if len <= max_values {
            return self.clone();
        }
        let mut keep = Vec::with_capacity(max_values);
        keep.push(0);
        let steps = (max_values - 1) as f64;
        let mut next = 1.0;
        for i in 1..len - 1 {
            if self.upto[i] * steps >= next {
                keep.push(i);
                next = (self.upto[i] * steps).floor() + 1.0;
            }
        }
        keep.push(len - 1);
        keep.truncate(max_values - 1);
        if keep.last() != Some(&(len - 1)) {
            keep.push(len - 1);
        }
        Self {
            values: keep.iter().map(|&i| self.values[i]).collect(),
            below: keep.iter().map(|&i| self.below[i]).collect(),
            upto: keep.iter().map(|&i| self.upto[i]).collect(),
        }
    }

    /// Number of distinct values kept.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn min(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    fn max(&self) -> f64 {
        self.values.last().copied().unwrap_or(0.0)
    }

    /// The mid-rank percentile of `x`, 0-100.
    fn percentile(&self, x: f64) -> f64 {
        let i = self.values.partition_point(|v| *v < x);
        let share = if i < self.values.len() && self.values[i] == x {
            (self.below[i] + self.upto[i]) / 2.0
        } else if i == 0 {
            0.0
        } else if i == self.values.len() {
            1.0
        } else {
            // Between two kept values: exact when every distinct value is
            // kept (then upto[i - 1] == below[i]), interpolated otherwise.
            let (lo, hi) = (self.values[i - 1], self.values[i]);
            let t = (x - lo) / (hi - lo);
            self.upto[i - 1] + t * (self.below[i] - self.upto[i - 1])
        };
        100.0 * share
    }

    fn normalize(&self, x: f64, method: Normalization) -> f64 {
        let (min, max) = (self.min(), self.max());
        if max <= min {
            return 50.0;
        }
        match method {
            Normalization::MinMax => 100.0 * (x - min) / (max - min),
            Normalization::Percentile => self.percentile(x),
        }
    }
}

/// Raw values of one indicator for every customer of a run, in the order
/// of the run's customer ids; `None` (or a non-finite value) is missing.
pub type Column<'a> = &'a [Option<f64>];

/// Scores of a run in columns: one entry per customer, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnScores {
    pub value_score: Vec<f64>,
    pub capability_score: Vec<f64>,
    pub quadrant: Vec<SelectionQuadrant>,
    /// `points[i * k + j]`: the points of indicator `j` (value indicators
    /// first, in configuration order; `k` of them) for customer `i`.
    pub points: Vec<f64>,
    /// `normalized[i * k + j]`, likewise.
    pub normalized: Vec<f64>,
    /// Each indicator's weight as a share of its group's total weight.
    pub weight_shares: Vec<f64>,
}

/// Score `n` customers from one column per configured indicator (looked up
/// by name; an indicator without a column is missing for everyone; every
/// column must hold `n` values). The fast path for large runs: no
/// per-customer allocation.
pub fn score_columns(
    n: usize,
    columns: &BTreeMap<String, Vec<Option<f64>>>,
    config: &SelectionConfig,
) -> Result<ColumnScores> {
    Ok(score_columns_exact(n, columns, config)?.0)
}

/// [`score_columns`], also returning the exact distribution of each
/// indicator's column (what [`distributions`] gives). Each column is sorted
/// once and every value takes its percentile from its place in the sorted
/// order, instead of a search of the distribution per value; the columns
/// are sorted side by side on the machine's cores. The scores are the ones
/// [`score_columns_in`] gives with those distributions, to the bit.
pub fn score_columns_exact(
    n: usize,
    columns: &BTreeMap<String, Vec<Option<f64>>>,
    config: &SelectionConfig,
) -> Result<(ColumnScores, BTreeMap<String, Distribution>)> {
    config.validate()?;
    check_lengths(n, columns)?;
    let indicators = weighted(config);
    // Each distinct column once, however many indicators read it.
    let names: Vec<&str> = {
        let mut names: Vec<&str> = indicators
            .iter()
            .filter(|(ind, _)| columns.contains_key(&ind.name))
            .map(|(ind, _)| ind.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    // The columns shared among the cores (one part for small inputs).
    let parts = aggregate::chunks(names.len(), aggregate::workers(n));
    let ranked: Vec<(Distribution, Vec<f64>)> = aggregate::parallel_map(parts, |part| {
        names[part]
            .iter()
            .map(|name| rank_column(&columns[*name], config.normalization))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let by_name: BTreeMap<&str, &(Distribution, Vec<f64>)> =
        names.iter().copied().zip(ranked.iter()).collect();
    let k = indicators.len();
    let mut normalized = vec![0.0; n * k];
    for (j, (ind, _)) in indicators.iter().enumerate() {
        let (Some((_, scores)), Some(col)) =
            (by_name.get(ind.name.as_str()), columns.get(&ind.name))
        else {
            continue;
        };
        for (i, (s, x)) in scores.iter().zip(col).enumerate() {
            // Missing is decided by the raw value: a score of an extreme
            // spread can itself be NaN, and is kept as the search keeps it.
            if !x.is_some_and(f64::is_finite) {
                continue;
            }
            normalized[i * k + j] = match ind.direction {
                Direction::HigherIsBetter => *s,
                Direction::LowerIsBetter => 100.0 - s,
            };
        }
    }
    let distributions = names
        .iter()
        .zip(ranked)
        .map(|(name, (d, _))| ((*name).to_owned(), d))
        .collect();
    Ok((combine(n, config, &indicators, normalized), distributions))
}

/// The exact distribution of a column and each value's normalised score
/// within it (NaN for a missing value): the score
/// [`Distribution::normalize`] gives, computed from the value's place in
/// the sorted column.
fn rank_column(col: &[Option<f64>], method: Normalization) -> (Distribution, Vec<f64>) {
    let mut sorted: Vec<(f64, u32)> = col
        .iter()
        .enumerate()
        .filter_map(|(i, x)| x.filter(|v| v.is_finite()).map(|v| (v, i as u32)))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut scores = vec![f64::NAN; col.len()];
    let mut d = Distribution::default();
    let n = sorted.len() as f64;
    let (min, max) = match (sorted.first(), sorted.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => (0.0, 0.0),
    };
    let mut i = 0;
    while i < sorted.len() {
        let v = sorted[i].0;
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].0 == v {
            j += 1;
        }
        let (below, upto) = (i as f64 / n, j as f64 / n);
        d.values.push(v);
        d.below.push(below);
        d.upto.push(upto);
        let s = if max <= min {
            50.0
        } else {
            match method {
                Normalization::MinMax => 100.0 * (v - min) / (max - min),
                Normalization::Percentile => 100.0 * ((below + upto) / 2.0),
            }
        };
        for &(_, at) in &sorted[i..j] {
            scores[at as usize] = s;
        }
        i = j;
    }
    (d, scores)
}

/// The exact distribution of each configured indicator's column, by name
/// (indicators without a column have none).
pub fn distributions(
    columns: &BTreeMap<String, Vec<Option<f64>>>,
    config: &SelectionConfig,
) -> BTreeMap<String, Distribution> {
    config
        .value
        .iter()
        .chain(&config.capability)
        .filter_map(|ind| {
            let col = columns.get(&ind.name)?;
            Some((
                ind.name.clone(),
                Distribution::new(col.iter().flatten().copied()),
            ))
        })
        .collect()
}

/// Every indicator with its weight as a share of its group's total, value
/// indicators first.
fn weighted(config: &SelectionConfig) -> Vec<(&Indicator, f64)> {
    [&config.value, &config.capability]
        .into_iter()
        .flat_map(|group| {
            let total: f64 = group.iter().map(|i| i.weight).sum();
            group.iter().map(move |i| (i, i.weight / total))
        })
        .collect()
}

fn check_lengths(n: usize, columns: &BTreeMap<String, Vec<Option<f64>>>) -> Result<()> {
    match columns.iter().find(|(_, c)| c.len() != n) {
        Some((name, _)) => Err(invalid_config(
            "columns",
            format!("column {name:?} does not have one value per customer"),
        )),
        None => Ok(()),
    }
}

/// [`score_columns`] with every value normalised within given
/// distributions instead of its own column's: a run's stored distributions
/// score the customers of a later refresh as the run would have. An
/// indicator without a distribution is missing for everyone.
pub fn score_columns_in(
    n: usize,
    columns: &BTreeMap<String, Vec<Option<f64>>>,
    config: &SelectionConfig,
    distributions: &BTreeMap<String, Distribution>,
) -> Result<ColumnScores> {
    config.validate()?;
    check_lengths(n, columns)?;
    let indicators = weighted(config);
    let k = indicators.len();
    let column_of = |name: &str| columns.get(name).map(Vec::as_slice);
    let mut normalized = vec![0.0; n * k];
    for (j, (ind, _)) in indicators.iter().enumerate() {
        let (Some(col), Some(norm)) = (column_of(&ind.name), distributions.get(&ind.name)) else {
            continue;
        };
        let finite = |x: &Option<f64>| x.filter(|v| v.is_finite());
        for (i, x) in col.iter().enumerate() {
            if let Some(x) = finite(x) {
                let s = norm.normalize(x, config.normalization);
                normalized[i * k + j] = match ind.direction {
                    Direction::HigherIsBetter => s,
                    Direction::LowerIsBetter => 100.0 - s,
                };
            }
        }
    }
    Ok(combine(n, config, &indicators, normalized))
}

/// Points, group scores and quadrants from the normalised values.
fn combine(
    n: usize,
    config: &SelectionConfig,
    indicators: &[(&Indicator, f64)],
    normalized: Vec<f64>,
) -> ColumnScores {
    let k = indicators.len();
    let n_value = config.value.len();
    let weight_shares: Vec<f64> = indicators.iter().map(|(_, share)| *share).collect();
    let mut points = vec![0.0; n * k];
    let mut value_score = Vec::with_capacity(n);
    let mut capability_score = Vec::with_capacity(n);
    let mut quadrant = Vec::with_capacity(n);
    for i in 0..n {
        let row = &mut points[i * k..(i + 1) * k];
        for (j, p) in row.iter_mut().enumerate() {
            *p = weight_shares[j] * normalized[i * k + j];
        }
        let v = row[..n_value].iter().sum::<f64>().clamp(0.0, 100.0);
        let c = row[n_value..].iter().sum::<f64>().clamp(0.0, 100.0);
        value_score.push(v);
        capability_score.push(c);
        quadrant.push(SelectionQuadrant::from_flags(
            v >= config.value_threshold,
            c >= config.capability_threshold,
        ));
    }
    ColumnScores {
        value_score,
        capability_score,
        quadrant,
        points,
        normalized,
        weight_shares,
    }
}

/// Score every customer, with a full explanation per customer.
pub fn score(inputs: &[SelectionInput], config: &SelectionConfig) -> Result<Vec<SelectionRecord>> {
    config.validate()?;
    let n = inputs.len();
    let mut columns: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for ind in config.value.iter().chain(&config.capability) {
        columns.entry(ind.name.clone()).or_insert_with(|| {
            inputs
                .iter()
                .map(|inp| inp.values.get(&ind.name).copied())
                .collect()
        });
    }
    let scored = score_columns(n, &columns, config)?;
    let groups: Vec<(ScoreGroup, &Indicator)> = config
        .value
        .iter()
        .map(|i| (ScoreGroup::Value, i))
        .chain(
            config
                .capability
                .iter()
                .map(|i| (ScoreGroup::Capability, i)),
        )
        .collect();
    let k = groups.len();
    Ok(inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| SelectionRecord {
            customer_id: inp.customer_id,
            value_score: scored.value_score[i],
            capability_score: scored.capability_score[i],
            quadrant: scored.quadrant[i],
            explanation: groups
                .iter()
                .enumerate()
                .map(|(j, (group, ind))| Contribution {
                    group: *group,
                    indicator: ind.name.clone(),
                    raw: inp.values.get(&ind.name).copied().filter(|v| v.is_finite()),
                    normalized: scored.normalized[i * k + j],
                    weight_share: scored.weight_shares[j],
                    points: scored.points[i * k + j],
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(id: i64, pairs: &[(&str, f64)]) -> SelectionInput {
        SelectionInput {
            customer_id: id,
            values: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn config() -> SelectionConfig {
        SelectionConfig::new(
            vec![
                Indicator::higher("revenue", 3.0),
                Indicator::lower("risk", 1.0),
            ],
            vec![Indicator::higher("fit", 1.0)],
        )
    }

    #[test]
    fn min_max_scores_quadrants_and_explanations() {
        let inputs = [
            input(1, &[("revenue", 100.0), ("risk", 0.0), ("fit", 10.0)]),
            input(2, &[("revenue", 0.0), ("risk", 10.0), ("fit", 0.0)]),
            input(3, &[("revenue", 100.0), ("risk", 10.0), ("fit", 0.0)]),
            input(4, &[("risk", 5.0), ("fit", 10.0)]),
        ];
        let r = score(&inputs, &config()).unwrap();
        assert_eq!(r[0].value_score, 100.0);
        assert_eq!(r[0].quadrant, SelectionQuadrant::A);
        assert_eq!(r[1].value_score, 0.0);
        assert_eq!(r[1].quadrant, SelectionQuadrant::D);
        assert_eq!(r[2].value_score, 75.0);
        assert_eq!(r[2].quadrant, SelectionQuadrant::B);
        // Missing revenue earns nothing; risk 5 of 0..10 earns half of 25 points.
        assert_eq!(r[3].value_score, 12.5);
        assert_eq!(r[3].quadrant, SelectionQuadrant::C);
        assert_eq!(r[3].explanation[0].raw, None);
        for rec in &r {
            let v: f64 = rec
                .explanation
                .iter()
                .filter(|c| c.group == ScoreGroup::Value)
                .map(|c| c.points)
                .sum();
            assert!((v - rec.value_score).abs() < 1e-9);
        }
    }

    #[test]
    fn percentile_gives_ties_equal_scores_and_constant_indicators_fifty() {
        let mut c = config();
        c.normalization = Normalization::Percentile;
        let inputs = [
            input(1, &[("revenue", 5.0), ("risk", 1.0), ("fit", 3.0)]),
            input(2, &[("revenue", 5.0), ("risk", 1.0), ("fit", 3.0)]),
            input(3, &[("revenue", 9.0), ("risk", 1.0), ("fit", 3.0)]),
        ];
        let r = score(&inputs, &c).unwrap();
        assert_eq!(
            r[0].explanation[0].normalized,
            r[1].explanation[0].normalized
        );
        assert!((r[0].explanation[0].normalized - 100.0 * 1.0 / 3.0).abs() < 1e-9);
        assert!((r[2].explanation[0].normalized - 100.0 * 2.5 / 3.0).abs() < 1e-9);
        assert_eq!(r[0].capability_score, 50.0);
        assert_eq!(r[0].explanation[1].normalized, 50.0);
    }

    fn column(values: &[Option<f64>]) -> BTreeMap<String, Vec<Option<f64>>> {
        [("revenue".to_owned(), values.to_vec())].into()
    }

    #[test]
    fn scoring_in_the_runs_own_distributions_gives_the_runs_scores() {
        let mut c = config();
        c.normalization = Normalization::Percentile;
        let raw: Vec<Option<f64>> = (0..200)
            .map(|i| (i % 7 != 0).then_some(f64::from(i % 37) * 10.0))
            .collect();
        let cols = column(&raw);
        let full = score_columns(raw.len(), &cols, &c).unwrap();
        // Few distinct values: compressing keeps them all, and scoring a
        // subset of the customers in the stored distribution reproduces
        // their scores exactly.
        let stored: BTreeMap<_, _> = distributions(&cols, &c)
            .into_iter()
            .map(|(k, d)| (k, d.compress(1000)))
            .collect();
        let subset: Vec<usize> = vec![0, 3, 17, 199];
        let sub = column(&subset.iter().map(|&i| raw[i]).collect::<Vec<_>>());
        let again = score_columns_in(subset.len(), &sub, &c, &stored).unwrap();
        for (j, &i) in subset.iter().enumerate() {
            assert_eq!(again.value_score[j], full.value_score[i], "customer {i}");
            assert_eq!(again.quadrant[j], full.quadrant[i]);
        }
    }

    #[test]
    fn a_compressed_distribution_is_off_by_at_most_the_share_between_kept_values() {
        // 10,000 distinct values kept as 101: percentiles within 1 point.
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i).powf(1.5)).collect();
        let exact = Distribution::new(values.iter().copied());
        let small = exact.compress(101);
        assert!(small.len() <= 101);
        assert_eq!((small.min(), small.max()), (exact.min(), exact.max()));
        for x in values.iter().step_by(37).chain([&-1.0, &1e9]) {
            let (a, b) = (exact.percentile(*x), small.percentile(*x));
            assert!((a - b).abs() <= 1.0, "x {x}: exact {a}, compressed {b}");
        }
    }

    #[test]
    fn bad_configurations_are_rejected() {
        let mut c = config();
        c.value.clear();
        assert!(score(&[], &c).is_err());
        let mut c = config();
        c.capability[0].weight = -1.0;
        assert!(score(&[], &c).is_err());
        let mut c = config();
        c.value_threshold = 120.0;
        assert!(score(&[], &c).is_err());
    }
}
