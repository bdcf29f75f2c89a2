//! The customer pyramid (金字塔分层): head, waist and tail by value.
//!
//! Customers are ranked by revenue (net amount) or by profit over a window.
//! The top `head_pct` percent of customers form the **head** (头部), the next
//! `waist_pct` percent the **waist** (腰部), and the rest the **tail** (尾部).
//! Defaults are 10% / 30% / 60%; the classic expectation is that they bring
//! about 60% / 30% / 10% of the value, and the analysis reports the actual
//! shares next to those typical ones.
//!
//! # Layer sizes and ties
//!
//! With `n` customers, the head holds the customers ranked in the first
//! `ceil(n * head_pct / 100)` places and the waist those up to
//! `ceil(n * (head_pct + waist_pct) / 100)` (a fractional customer rounds up,
//! so a small book still has a head). The rank of a customer is one plus the
//! number of customers with a strictly larger value, so **customers tied on
//! the boundary all join the higher layer**: equal value, equal layer,
//! independent of input order or ids. A layer can therefore be larger than
//! its nominal share when values tie at the cut.
//!
//! # Cumulative value curve
//!
//! Sorting customers from most to least valuable, the curve gives the share
//! of the total value brought by the top `k` customers. For revenue it is the
//! Pareto curve, rising and flattening towards 100%. For profit it is the
//! **whale curve** (Kaplan & Cooper, *Cost & Effect*, 1998): it rises above
//! 100% and then falls back to 100%, because the tail destroys part of the
//! profit the head earns. Its peak is reported separately. When the total
//! value is zero or negative, shares are undefined (`None`) and only the
//! absolute cumulative values are given.

use serde::{Deserialize, Serialize};

use crate::aggregate;
use crate::error::{invalid_config, Result};
use crate::input::{CustomerSummary, Order, Window};
use crate::label::Label;

/// What the pyramid ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PyramidBasis {
    /// Net amount (purchases minus refunds).
    #[default]
    Revenue,
    /// Amount minus cost.
    Profit,
}

/// Pyramid configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PyramidConfig {
    /// The value basis.
    pub basis: PyramidBasis,
    /// Percent of customers in the head, default 10.
    pub head_pct: f64,
    /// Percent of customers in the waist, default 30. The tail is the rest.
    pub waist_pct: f64,
    /// Number of equal customer-share steps of the returned curve, default
    /// 100 (so 101 points from 0% to 100% of customers).
    pub curve_steps: u32,
}

impl Default for PyramidConfig {
    fn default() -> Self {
        Self {
            basis: PyramidBasis::Revenue,
            head_pct: 10.0,
            waist_pct: 30.0,
            curve_steps: 100,
        }
    }
}

impl PyramidConfig {
    /// Check the ranges: both percentages finite and non-negative, summing to
    /// at most 100; 1 to 100 000 curve steps.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [("head_pct", self.head_pct), ("waist_pct", self.waist_pct)] {
            if !v.is_finite() || v < 0.0 {
                return Err(invalid_config(
                    field,
                    "must be a finite, non-negative percentage",
                ));
            }
        }
        if self.head_pct + self.waist_pct > 100.0 {
            return Err(invalid_config(
                "waist_pct",
                "head_pct + waist_pct must not exceed 100",
            ));
        }
        if !(1..=100_000).contains(&self.curve_steps) {
            return Err(invalid_config(
                "curve_steps",
                "must be between 1 and 100000",
            ));
        }
        Ok(())
    }

    /// Number of rank places in the head and in head + waist for `n` customers.
    pub fn cut_ranks(&self, n: usize) -> (usize, usize) {
        let places = |pct: f64| -> usize {
            let x = n as f64 * pct / 100.0;
            // The small tolerance keeps 30% of 10 customers at 3, not 4,
            // despite binary rounding of the product.
            ((x - 1e-9).ceil().max(0.0) as usize).min(n)
        };
        (
            places(self.head_pct),
            places(self.head_pct + self.waist_pct),
        )
    }
}

/// The three layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PyramidLayer {
    /// 头部: the most valuable customers.
    Head,
    /// 腰部: the middle.
    Waist,
    /// 尾部: the rest.
    Tail,
}

impl PyramidLayer {
    /// All layers, top first.
    pub const ALL: [PyramidLayer; 3] =
        [PyramidLayer::Head, PyramidLayer::Waist, PyramidLayer::Tail];

    /// Stable key.
    pub fn key(&self) -> &'static str {
        match self {
            PyramidLayer::Head => "head",
            PyramidLayer::Waist => "waist",
            PyramidLayer::Tail => "tail",
        }
    }

    /// Display name.
    pub fn label(&self) -> Label {
        match self {
            PyramidLayer::Head => Label {
                en: "Head",
                zh_cn: "头部客户",
            },
            PyramidLayer::Waist => Label {
                en: "Waist",
                zh_cn: "腰部客户",
            },
            PyramidLayer::Tail => Label {
                en: "Tail",
                zh_cn: "尾部客户",
            },
        }
    }

    /// The service strategy for the layer.
    pub fn strategy(&self) -> Label {
        match self {
            PyramidLayer::Head => Label {
                en: "VIP service: dedicated visits, complaints and requests handled first; watch closely for warning signs.",
                zh_cn: "VIP 服务：专人定期拜访，投诉和需求优先处理；密切关注预警信号。",
            },
            PyramidLayer::Waist => Label {
                en: "Upgrade: help them grow their budget with us through account plans and cross-selling.",
                zh_cn: "提升：通过客户规划和交叉销售，帮助其扩大在我方的预算。",
            },
            PyramidLayer::Tail => Label {
                en: "Screen: nurture those with potential; phase out the loss-makers (chronic late payers, unreasonable demands).",
                zh_cn: "筛选：培育有潜力的客户；逐步淘汰亏损客户（长期拖欠货款、提出不合理要求者）。",
            },
        }
    }

    /// The value share a layer typically brings under the default cuts
    /// (60% / 30% / 10%), shown next to the actual share.
    pub fn typical_value_share(&self) -> f64 {
        match self {
            PyramidLayer::Head => 0.6,
            PyramidLayer::Waist => 0.3,
            PyramidLayer::Tail => 0.1,
        }
    }
}

/// One customer's value for ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerValue {
    /// The customer's id.
    pub customer_id: i64,
    /// Revenue or profit, minor units.
    pub value_minor: i64,
}

/// One customer's place in the pyramid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyramidMember {
    /// The customer's id.
    pub customer_id: i64,
    /// The ranked value, minor units.
    pub value_minor: i64,
    /// The layer.
    pub layer: PyramidLayer,
}

/// Totals of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Which layer.
    pub layer: PyramidLayer,
    /// Customers in it.
    pub customers: u64,
    /// Their share of all customers.
    pub customer_share: f64,
    /// Summed value, minor units.
    pub value_minor: i64,
    /// Share of the total value; `None` when the total is not positive.
    pub value_share: Option<f64>,
    /// The nominal customer share from the configuration.
    pub nominal_customer_share: f64,
    /// The typical value share (60/30/10) to compare against.
    pub typical_value_share: f64,
}

/// One point of the cumulative value curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// The top `customers` customers.
    pub customers: u64,
    /// `customers / n`.
    pub customer_share: f64,
    /// Their summed value, minor units.
    pub cumulative_value_minor: i64,
    /// As a share of the total; `None` when the total is not positive.
    pub value_share: Option<f64>,
}

/// The result of a pyramid run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PyramidAnalysis {
    /// The configuration used.
    pub config: PyramidConfig,
    /// Customers ranked.
    pub customers: u64,
    /// Total value, minor units.
    pub total_value_minor: i64,
    /// Lowest value still in the head (`None` when the head is empty).
    pub head_min_value_minor: Option<i64>,
    /// Lowest value still in the waist (`None` when the waist is empty).
    pub waist_min_value_minor: Option<i64>,
    /// Head, waist, tail.
    pub layers: Vec<LayerSummary>,
    /// The cumulative value curve at `curve_steps + 1` evenly spaced
    /// customer counts (rounded to whole customers).
    pub curve: Vec<CurvePoint>,
    /// The highest point of the exact curve: for profit, the top of the whale.
    pub peak: CurvePoint,
    /// One entry per input customer, in input order.
    pub members: Vec<PyramidMember>,
}

/// The layer of a value given the lowest values still in the head and in
/// the waist (a run's `head_min_value_minor` and `waist_min_value_minor`).
pub fn layer_of(value_minor: i64, head_min: Option<i64>, waist_min: Option<i64>) -> PyramidLayer {
    match (head_min, waist_min) {
        (Some(h), _) if value_minor >= h => PyramidLayer::Head,
        (_, Some(w)) if value_minor >= w => PyramidLayer::Waist,
        _ => PyramidLayer::Tail,
    }
}

/// Rank customer values into the pyramid.
pub fn analyze(values: &[CustomerValue], config: &PyramidConfig) -> Result<PyramidAnalysis> {
    config.validate()?;
    let n = values.len();
    let mut sorted: Vec<i64> = values.iter().map(|v| v.value_minor).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total = sorted.iter().fold(0i64, |acc, v| acc.saturating_add(*v));
    let share = |v: i64| (total > 0).then(|| v as f64 / total as f64);
    let (head_end, waist_end) = config.cut_ranks(n);
    // A customer is in the head iff fewer than `head_end` customers have a
    // strictly larger value, i.e. iff its value is at least the
    // `head_end`-th largest value.
    let head_min = head_end.checked_sub(1).map(|i| sorted[i]);
    let waist_min = waist_end.checked_sub(1).map(|i| sorted[i]);
    let members: Vec<PyramidMember> = values
        .iter()
        .map(|v| PyramidMember {
            customer_id: v.customer_id,
            value_minor: v.value_minor,
            layer: layer_of(v.value_minor, head_min, waist_min),
        })
        .collect();

    let mut counts = [0u64; 3];
    let mut sums = [0i64; 3];
    for m in &members {
        counts[m.layer as usize] += 1;
        sums[m.layer as usize] = sums[m.layer as usize].saturating_add(m.value_minor);
    }
    let tail_pct = 100.0 - config.head_pct - config.waist_pct;
    let layers = PyramidLayer::ALL
        .iter()
        .map(|&layer| {
            let i = layer as usize;
            LayerSummary {
                layer,
                customers: counts[i],
                customer_share: if n == 0 {
                    0.0
                } else {
                    counts[i] as f64 / n as f64
                },
                value_minor: sums[i],
                value_share: share(sums[i]),
                nominal_customer_share: [config.head_pct, config.waist_pct, tail_pct][i] / 100.0,
                typical_value_share: layer.typical_value_share(),
            }
        })
        .collect();

    let point = |k: usize, cum: i64| CurvePoint {
        customers: k as u64,
        customer_share: if n == 0 { 0.0 } else { k as f64 / n as f64 },
        cumulative_value_minor: cum,
        value_share: share(cum),
    };
    let steps = config.curve_steps as usize;
    let mut curve = Vec::with_capacity(steps + 1);
    let mut next_step = 0usize;
    let mut cum = 0i64;
    let mut peak = (0usize, 0i64);
    for k in 0..=n {
        if k > 0 {
            cum = cum.saturating_add(sorted[k - 1]);
            if cum > peak.1 {
                peak = (k, cum);
            }
        }
        // Emit every step whose rounded customer count is k.
        while next_step <= steps && ((next_step * n * 2 + steps) / (2 * steps)).min(n) == k {
            curve.push(point(k, cum));
            next_step += 1;
        }
    }

    Ok(PyramidAnalysis {
        config: *config,
        customers: n as u64,
        total_value_minor: total,
        head_min_value_minor: head_min,
        waist_min_value_minor: waist_min,
        layers,
        curve,
        peak: point(peak.0, peak.1),
        members,
    })
}

/// Pyramid over the window's orders of every customer with an order in it.
pub fn analyze_orders(
    orders: &[Order],
    window: &Window,
    config: &PyramidConfig,
) -> Result<PyramidAnalysis> {
    window.validate()?;
    // Revenue needs only the lean totals, which halves the memory traffic.
    let values: Vec<CustomerValue> = match config.basis {
        PyramidBasis::Revenue => aggregate::aggregate::<aggregate::Lean>(orders, window)
            .customers
            .iter()
            .map(|(customer_id, t)| CustomerValue {
                customer_id: *customer_id,
                value_minor: t.amount_minor,
            })
            .collect(),
        PyramidBasis::Profit => aggregate::aggregate::<aggregate::Full>(orders, window)
            .customers
            .iter()
            .map(|(customer_id, t)| CustomerValue {
                customer_id: *customer_id,
                value_minor: t.profit_minor,
            })
            .collect(),
    };
    analyze(&values, config)
}

/// Pyramid over per-customer summaries (customers without orders take part
/// with value zero).
pub fn analyze_summaries(
    summaries: &[CustomerSummary],
    config: &PyramidConfig,
) -> Result<PyramidAnalysis> {
    let values: Vec<CustomerValue> = summaries
        .iter()
        .map(|s| CustomerValue {
            customer_id: s.customer_id,
            value_minor: match config.basis {
                PyramidBasis::Revenue => s.total_amount_minor,
                PyramidBasis::Profit => s.total_profit_minor,
            },
        })
        .collect();
    analyze(&values, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[i64]) -> Vec<CustomerValue> {
        v.iter()
            .enumerate()
            .map(|(i, &value_minor)| CustomerValue {
                customer_id: i as i64 + 1,
                value_minor,
            })
            .collect()
    }

    fn layers(a: &PyramidAnalysis) -> Vec<&'static str> {
        a.members.iter().map(|m| m.layer.key()).collect()
    }

    #[test]
    fn default_cuts_on_ten_customers() {
        let a = analyze(
            &values(&[100, 90, 80, 70, 60, 50, 40, 30, 20, 10]),
            &PyramidConfig::default(),
        )
        .unwrap();
        assert_eq!(
            layers(&a),
            ["head", "waist", "waist", "waist", "tail", "tail", "tail", "tail", "tail", "tail"]
        );
        assert_eq!(a.total_value_minor, 550);
        assert_eq!(a.layers[0].value_share, Some(100.0 / 550.0));
        assert_eq!(a.curve.len(), 101);
        assert_eq!(a.curve[0].customers, 0);
        assert_eq!(a.curve[10].customers, 1);
        assert_eq!(a.curve[100].value_share, Some(1.0));
    }

    #[test]
    fn ties_on_the_boundary_all_join_the_higher_layer() {
        // Head has one place; three customers tie for it. The waist ends at
        // place 4, held by 50; the 10s are tail.
        let a = analyze(
            &values(&[50, 70, 70, 70, 10, 10, 10, 10, 10, 10]),
            &PyramidConfig::default(),
        )
        .unwrap();
        assert_eq!(
            layers(&a),
            ["waist", "head", "head", "head", "tail", "tail", "tail", "tail", "tail", "tail"]
        );
        // Ties at the waist cut: places 1..4 are 9, 8, 7, 7 and a third 7
        // follows; all three 7s join the waist.
        let b = analyze(
            &values(&[9, 8, 7, 7, 7, 1, 1, 1, 1, 1]),
            &PyramidConfig::default(),
        )
        .unwrap();
        assert_eq!(
            b.layers.iter().map(|l| l.customers).collect::<Vec<_>>(),
            [1, 4, 5]
        );
        // Reordering the input changes nothing.
        let mut rev = values(&[50, 70, 70, 70, 10, 10, 10, 10, 10, 10]);
        rev.reverse();
        let r = analyze(&rev, &PyramidConfig::default()).unwrap();
        assert_eq!(a.layers, r.layers);
        // All equal: everyone is head.
        let c = analyze(&values(&[5; 7]), &PyramidConfig::default()).unwrap();
        assert_eq!(c.layers[0].customers, 7);
    }

    #[test]
    fn profit_whale_curve_peaks_above_one_hundred_percent() {
        let cfg = PyramidConfig {
            basis: PyramidBasis::Profit,
            ..PyramidConfig::default()
        };
        let a = analyze(
            &values(&[500, 300, 100, 50, 0, -20, -30, -100, -200, -400]),
            &cfg,
        )
        .unwrap();
        assert_eq!(a.total_value_minor, 200);
        assert_eq!(a.peak.customers, 4);
        assert_eq!(a.peak.value_share, Some(4.75));
        assert_eq!(a.curve.last().unwrap().value_share, Some(1.0));
        assert_eq!(
            a.layers.iter().map(|l| l.value_minor).collect::<Vec<_>>(),
            [500, 450, -750]
        );
    }

    #[test]
    fn non_positive_total_has_no_shares_and_empty_input_is_fine() {
        let a = analyze(&values(&[-5, 0, 3]), &PyramidConfig::default()).unwrap();
        assert!(a.layers.iter().all(|l| l.value_share.is_none()));
        let e = analyze(&[], &PyramidConfig::default()).unwrap();
        assert_eq!(e.customers, 0);
        assert_eq!(e.curve.len(), 101);
        assert!(e.members.is_empty());
    }

    #[test]
    fn invalid_cuts_are_rejected() {
        let cfg = PyramidConfig {
            head_pct: 80.0,
            waist_pct: 30.0,
            ..PyramidConfig::default()
        };
        assert!(analyze(&[], &cfg).is_err());
        let cfg = PyramidConfig {
            head_pct: f64::NAN,
            ..PyramidConfig::default()
        };
        assert!(analyze(&[], &cfg).is_err());
    }
}
