//! The frequency x average-order-value quadrant: groups A-E.
//!
//! Per customer over a period: **frequency** is the number of purchases and
//! **average order value** (客单价) the net value divided by the purchases.
//!
//! | group | rule | typical customer |
//! |---|---|---|
//! | A | no purchase in the period | potential customer (lead) |
//! | B | frequency low, order value low | typical new customer |
//! | C | frequency **high**, order value low | buys often, small baskets |
//! | D | frequency low, order value **high** | buys rarely, big baskets |
//! | E | frequency high, order value high | the best customers |
//!
//! "High" means *strictly above* the threshold. Thresholds are configurable;
//! by default each is the median over the **active** customers (those with at
//! least one purchase), where the median of an even count is the mean of the
//! two middle values. Because "high" is strict, a measure on which everybody
//! is equal makes nobody high, and at least half of the active customers are
//! low on each default axis.
//!
//! The business goal is to move A to B, B to E, and keep E; [`migration`]
//! counts how customers moved between two periods' assignments.

use serde::{Deserialize, Serialize};

use crate::aggregate;
use crate::error::{invalid_config, AnalyticsError, Result};
use crate::input::{CustomerSummary, Order, Window};
use crate::label::Label;
use crate::rank::median;

/// The five groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueGroup {
    /// No purchase yet.
    A,
    /// Low frequency, low order value.
    B,
    /// High frequency, low order value.
    C,
    /// Low frequency, high order value.
    D,
    /// High frequency, high order value.
    E,
}

impl ValueGroup {
    /// All groups in order.
    pub const ALL: [ValueGroup; 5] = [
        ValueGroup::A,
        ValueGroup::B,
        ValueGroup::C,
        ValueGroup::D,
        ValueGroup::E,
    ];

    /// Stable key: `a` to `e`.
    pub fn key(&self) -> &'static str {
        match self {
            ValueGroup::A => "a",
            ValueGroup::B => "b",
            ValueGroup::C => "c",
            ValueGroup::D => "d",
            ValueGroup::E => "e",
        }
    }

    /// The group for a customer's measures and the thresholds.
    pub fn classify(
        purchases: u32,
        average_order_value_minor: f64,
        t: &ValueGroupThresholds,
    ) -> Self {
        if purchases == 0 {
            return ValueGroup::A;
        }
        let high_f = f64::from(purchases) > t.frequency;
        let high_v = average_order_value_minor > t.order_value_minor;
        match (high_f, high_v) {
            (false, false) => ValueGroup::B,
            (true, false) => ValueGroup::C,
            (false, true) => ValueGroup::D,
            (true, true) => ValueGroup::E,
        }
    }

    /// Display name.
    pub fn label(&self) -> Label {
        match self {
            ValueGroup::A => Label {
                en: "A: potential (no order yet)",
                zh_cn: "A：潜在客户（尚未下单）",
            },
            ValueGroup::B => Label {
                en: "B: low frequency, low order value",
                zh_cn: "B：低频低客单",
            },
            ValueGroup::C => Label {
                en: "C: high frequency, low order value",
                zh_cn: "C：高频低客单",
            },
            ValueGroup::D => Label {
                en: "D: low frequency, high order value",
                zh_cn: "D：低频高客单",
            },
            ValueGroup::E => Label {
                en: "E: high frequency, high order value",
                zh_cn: "E：高频高客单",
            },
        }
    }

    /// What to do with the group.
    pub fn strategy(&self) -> Label {
        match self {
            ValueGroup::A => Label {
                en: "Convert: win the first order.",
                zh_cn: "转化：促成首单。",
            },
            ValueGroup::B => Label {
                en: "Develop: raise both frequency and order value towards E.",
                zh_cn: "培育：同时提升购买频次和客单价，向 E 组发展。",
            },
            ValueGroup::C => Label {
                en: "Up-sell: bigger baskets, bundles and higher tiers.",
                zh_cn: "向上销售：提高客单价，推荐组合和更高档次。",
            },
            ValueGroup::D => Label {
                en: "Bring back more often: reminders, subscriptions, replenishment.",
                zh_cn: "提高频次：提醒、订阅、定期补货。",
            },
            ValueGroup::E => Label {
                en: "Keep: recognition, service priority, early warning on any drop.",
                zh_cn: "保持：给予认可和服务优先，发现下滑及时预警。",
            },
        }
    }
}

/// Thresholds; `None` means the median over active customers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueGroupConfig {
    /// Frequency above which a customer is "high frequency".
    pub frequency_threshold: Option<f64>,
    /// Average order value (minor units) above which a customer is "high value".
    pub order_value_threshold_minor: Option<f64>,
}

/// The thresholds actually used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueGroupThresholds {
    /// Purchases; high iff strictly above.
    pub frequency: f64,
    /// Average order value in minor units; high iff strictly above.
    pub order_value_minor: f64,
}

/// One customer's group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueGroupRecord {
    /// The customer's id.
    pub customer_id: i64,
    /// Purchases in the period.
    pub purchases: u32,
    /// Net value divided by purchases, minor units; `None` without purchases.
    pub average_order_value_minor: Option<f64>,
    /// The group.
    pub group: ValueGroup,
}

/// Groups of all customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueGroupAnalysis {
    /// Thresholds used; `None` when there is no active customer and a
    /// default (median) was asked for, in which case everyone is in A.
    pub thresholds: Option<ValueGroupThresholds>,
    /// Customers per group, A to E.
    pub counts: [u64; 5],
    /// One record per input customer, in input order.
    pub records: Vec<ValueGroupRecord>,
}

/// Groups from measures of each customer: (id, purchases, net value),
/// as [`crate::book::profiles`] gives them for a period.
pub fn assign_measures(
    measures: &[(i64, u32, i64)],
    config: &ValueGroupConfig,
) -> Result<ValueGroupAnalysis> {
    for (field, v) in [
        ("frequency_threshold", config.frequency_threshold),
        (
            "order_value_threshold_minor",
            config.order_value_threshold_minor,
        ),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(invalid_config(field, "must be finite"));
        }
    }
    let aov =
        |purchases: u32, amount: i64| (purchases > 0).then(|| amount as f64 / f64::from(purchases));
    let frequency = match config.frequency_threshold {
        Some(t) => Some(t),
        None => {
            let mut f: Vec<f64> = measures
                .iter()
                .filter(|m| m.1 > 0)
                .map(|m| f64::from(m.1))
                .collect();
            median(&mut f)
        }
    };
    let order_value = match config.order_value_threshold_minor {
        Some(t) => Some(t),
        None => {
            let mut v: Vec<f64> = measures.iter().filter_map(|m| aov(m.1, m.2)).collect();
            median(&mut v)
        }
    };
    let thresholds = match (frequency, order_value) {
        (Some(frequency), Some(order_value_minor)) => Some(ValueGroupThresholds {
            frequency,
            order_value_minor,
        }),
        _ => None,
    };
    let mut counts = [0u64; 5];
    let records = measures
        .iter()
        .map(|&(customer_id, purchases, amount)| {
            let average_order_value_minor = aov(purchases, amount);
            let group = match (thresholds, average_order_value_minor) {
                (Some(t), Some(v)) => ValueGroup::classify(purchases, v, &t),
                _ => ValueGroup::A,
            };
            counts[group as usize] += 1;
            ValueGroupRecord {
                customer_id,
                purchases,
                average_order_value_minor,
                group,
            }
        })
        .collect();
    Ok(ValueGroupAnalysis {
        thresholds,
        counts,
        records,
    })
}

/// Groups from per-customer summaries of the period (customers without
/// orders are A).
pub fn assign_summaries(
    summaries: &[CustomerSummary],
    config: &ValueGroupConfig,
) -> Result<ValueGroupAnalysis> {
    let m: Vec<(i64, u32, i64)> = summaries
        .iter()
        .map(|s| (s.customer_id, s.order_count, s.total_amount_minor))
        .collect();
    assign_measures(&m, config)
}

/// Groups from the window's orders. Only customers with an order in the
/// window appear; add the rest as A with [`assign_summaries`] if needed.
pub fn assign_orders(
    orders: &[Order],
    window: &Window,
    config: &ValueGroupConfig,
) -> Result<ValueGroupAnalysis> {
    window.validate()?;
    let agg = aggregate::aggregate::<aggregate::Lean>(orders, window);
    let m: Vec<(i64, u32, i64)> = agg
        .customers
        .iter()
        .map(|(id, t)| (*id, t.purchases, t.amount_minor))
        .collect();
    assign_measures(&m, config)
}

/// How customers moved between two periods' groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationMatrix {
    /// `moved[from][to]`: customers in group `from` before and `to` after
    /// (indices A=0 .. E=4). The diagonal holds those who stayed.
    pub moved: [[u64; 5]; 5],
    /// Customers only present after, by their new group.
    pub entered: [u64; 5],
    /// Customers only present before, by their old group.
    pub left: [u64; 5],
}

impl MigrationMatrix {
    /// Customers who went from `from` to `to`.
    pub fn count(&self, from: ValueGroup, to: ValueGroup) -> u64 {
        self.moved[from as usize][to as usize]
    }
}

/// Count moves between two assignments of `(customer id, group)`. Each id
/// may appear at most once per side.
pub fn migration(
    before: &[(i64, ValueGroup)],
    after: &[(i64, ValueGroup)],
) -> Result<MigrationMatrix> {
    let sorted = |side: &[(i64, ValueGroup)]| -> Result<Vec<(i64, ValueGroup)>> {
        let mut v = side.to_vec();
        v.sort_unstable_by_key(|p| p.0);
        if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(AnalyticsError::InvalidInput {
                customer_id: w[0].0,
                reason: "appears twice in one period".into(),
            });
        }
        Ok(v)
    };
    let (b, a) = (sorted(before)?, sorted(after)?);
    let mut m = MigrationMatrix::default();
    let (mut i, mut j) = (0, 0);
    while i < b.len() || j < a.len() {
        match (b.get(i), a.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                m.moved[x.1 as usize][y.1 as usize] += 1;
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                m.left[x.1 as usize] += 1;
                i += 1;
            }
            (Some(x), None) => {
                m.left[x.1 as usize] += 1;
                i += 1;
            }
            (_, Some(y)) => {
                m.entered[y.1 as usize] += 1;
                j += 1;
            }
            (None, None) => break,
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValueGroup::*;

    fn summary(id: i64, orders: u32, amount: i64) -> CustomerSummary {
        CustomerSummary {
            order_count: orders,
            purchase_days: orders,
            total_amount_minor: amount,
            ..CustomerSummary::without_orders(id)
        }
    }

    #[test]
    fn default_thresholds_are_medians_over_active_customers() {
        let s = [
            summary(1, 0, 0),     // A
            summary(2, 1, 1000),  // f 1, aov 1000
            summary(3, 2, 1000),  // f 2, aov 500
            summary(4, 5, 25000), // f 5, aov 5000
            summary(5, 1, 8000),  // f 1, aov 8000
        ];
        let a = assign_summaries(&s, &ValueGroupConfig::default()).unwrap();
        let t = a.thresholds.unwrap();
        assert_eq!(t.frequency, 1.5);
        assert_eq!(t.order_value_minor, 3000.0);
        let g: Vec<ValueGroup> = a.records.iter().map(|r| r.group).collect();
        assert_eq!(g, [A, B, C, E, D]);
        assert_eq!(a.counts, [1, 1, 1, 1, 1]);
    }

    #[test]
    fn nobody_active_means_everyone_is_a_and_fixed_thresholds_apply() {
        let a = assign_summaries(&[summary(1, 0, 0)], &ValueGroupConfig::default()).unwrap();
        assert!(a.thresholds.is_none());
        assert_eq!(a.records[0].group, A);
        let cfg = ValueGroupConfig {
            frequency_threshold: Some(3.0),
            order_value_threshold_minor: Some(0.0),
        };
        let a = assign_summaries(&[summary(1, 3, 10), summary(2, 4, -10)], &cfg).unwrap();
        assert_eq!(a.records[0].group, D);
        assert_eq!(a.records[1].group, C);
    }

    #[test]
    fn migration_counts_moves_entries_and_exits() {
        let before = [(1, A), (2, B), (3, B), (4, E), (9, C)];
        let after = [(4, C), (3, E), (2, E), (1, B), (7, A)];
        let m = migration(&before, &after).unwrap();
        assert_eq!(m.count(A, B), 1);
        assert_eq!(m.count(B, E), 2);
        assert_eq!(m.count(E, C), 1);
        assert_eq!(m.entered, [1, 0, 0, 0, 0]);
        assert_eq!(m.left, [0, 0, 1, 0, 0]);
        assert!(migration(&[(1, A), (1, B)], &[]).is_err());
    }
}
