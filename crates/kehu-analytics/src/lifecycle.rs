//! Lifecycle stage (客户生命周期): acquisition, growth, maturity, decline,
//! departed.
//!
//! # Default rules
//!
//! Each customer is compared with **their own rhythm**: the typical gap
//! between purchase days, `(last - first) / (purchase_days - 1)`. A customer
//! with a single purchase day has no rhythm yet and borrows the default gap
//! (by default the median typical gap of the repeat customers in the same
//! run, or 30 days if there is none). Gaps are floored at `min_gap_days` so
//! that a burst of same-week orders does not make a customer "overdue" after
//! two days. With `recency` the days since the last purchase and `W` the
//! window, the first matching rule wins:
//!
//! | stage | rule (defaults) |
//! |---|---|
//! | acquisition 获取期 | no purchase yet |
//! | departed 离开期 | no purchase within the window (`recency > W`, 365 days), or `recency > 4 x gap` |
//! | decline 衰退期 | `recency > 2 x gap` (overdue), or frequency clearly falling: purchases in the recent half of the window below `0.5 x` those of the earlier half, with at least 2 in the earlier half |
//! | maturity 成熟期 | at least 3 purchase days and at least 90 days since the first purchase |
//! | growth 提升期 | otherwise: first purchases, retention still fragile |
//!
//! All multiples and counts are in [`LifecycleConfig`]. A statistical
//! "probability alive" from [`crate::clv`] can be used as an additional
//! decline signal by the caller.
//!
//! # Recording changes
//!
//! Stages are stored with the date they were entered. [`advance`] takes the
//! stored state and the newly computed stage and returns the new state plus,
//! when the stage changed, a [`StageChange`] dated on the evaluation day, so
//! that "entered decline" can trigger follow-up work.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::aggregate;
use crate::error::{invalid_config, AnalyticsError, Result};
use crate::input::{Order, Window};
use crate::label::Label;
use crate::rank::median;

/// The five stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Lead or opportunity, no purchase yet.
    Acquisition,
    /// First purchases; retention still fragile.
    Growth,
    /// Stable frequency, highest value.
    Maturity,
    /// Frequency or activity clearly falling.
    Decline,
    /// No purchase in the window.
    Departed,
}

impl LifecycleStage {
    /// All stages in lifecycle order.
    pub const ALL: [LifecycleStage; 5] = [
        LifecycleStage::Acquisition,
        LifecycleStage::Growth,
        LifecycleStage::Maturity,
        LifecycleStage::Decline,
        LifecycleStage::Departed,
    ];

    /// The stage of a stored key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Stable key.
    pub fn key(&self) -> &'static str {
        match self {
            LifecycleStage::Acquisition => "acquisition",
            LifecycleStage::Growth => "growth",
            LifecycleStage::Maturity => "maturity",
            LifecycleStage::Decline => "decline",
            LifecycleStage::Departed => "departed",
        }
    }

    /// Display name.
    pub fn label(&self) -> Label {
        match self {
            LifecycleStage::Acquisition => Label {
                en: "Acquisition",
                zh_cn: "获取期",
            },
            LifecycleStage::Growth => Label {
                en: "Growth",
                zh_cn: "提升期",
            },
            LifecycleStage::Maturity => Label {
                en: "Maturity",
                zh_cn: "成熟期",
            },
            LifecycleStage::Decline => Label {
                en: "Decline",
                zh_cn: "衰退期",
            },
            LifecycleStage::Departed => Label {
                en: "Departed",
                zh_cn: "离开期",
            },
        }
    }
}

/// Which rule decided the stage, for the explanation on the customer page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageReason {
    /// No purchase yet.
    NoPurchase,
    /// No purchase within the window.
    NoPurchaseInWindow,
    /// Recency beyond the departed multiple of the gap.
    FarOverdue,
    /// Recency beyond the decline multiple of the gap.
    Overdue,
    /// Recent half of the window clearly below the earlier half.
    FallingFrequency,
    /// Enough purchases and tenure.
    Established,
    /// Still early in the relationship.
    Early,
}

impl StageReason {
    pub const ALL: [StageReason; 7] = [
        StageReason::NoPurchase,
        StageReason::NoPurchaseInWindow,
        StageReason::FarOverdue,
        StageReason::Overdue,
        StageReason::FallingFrequency,
        StageReason::Established,
        StageReason::Early,
    ];

    /// Stable key, as serialized.
    pub fn key(&self) -> &'static str {
        match self {
            StageReason::NoPurchase => "no_purchase",
            StageReason::NoPurchaseInWindow => "no_purchase_in_window",
            StageReason::FarOverdue => "far_overdue",
            StageReason::Overdue => "overdue",
            StageReason::FallingFrequency => "falling_frequency",
            StageReason::Established => "established",
            StageReason::Early => "early",
        }
    }
}

/// Lifecycle rules; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifecycleConfig {
    /// Evaluation day.
    pub as_of: NaiveDate,
    /// Window in days, default 365: no purchase within it means departed, and
    /// its two halves are compared for the frequency trend.
    pub window_days: u32,
    /// Recency above this multiple of the gap means decline (default 2).
    pub decline_gap_multiple: f64,
    /// Recency above this multiple of the gap means departed (default 4).
    pub departed_gap_multiple: f64,
    /// Floor for a customer's gap in days (default 7).
    pub min_gap_days: f64,
    /// Gap for customers with a single purchase day; `None` = median gap of
    /// the repeat customers in the run (30 days if none).
    pub default_gap_days: Option<f64>,
    /// Recent-half purchases below this fraction of the earlier half mean
    /// decline (default 0.5).
    pub decline_trend_ratio: f64,
    /// The trend rule needs at least this many earlier-half purchases (default 2).
    pub trend_min_earlier: u32,
    /// Maturity needs at least this many purchase days (default 3).
    pub maturity_min_purchase_days: u32,
    /// Maturity needs at least this many days since the first purchase (default 90).
    pub maturity_min_tenure_days: u32,
}

impl LifecycleConfig {
    /// The two halves of the window whose purchases the trend rule
    /// compares: the recent half (the later `window_days / 2` days,
    /// rounded down; `None` when that is no day) and the earlier half.
    pub(crate) fn halves(&self) -> Result<(Option<Window>, Window)> {
        let recent_days = self.window_days / 2;
        let recent = (recent_days > 0)
            .then(|| Window::new(self.as_of, recent_days))
            .transpose()?;
        let earlier_end = self
            .as_of
            .checked_sub_days(Days::new(u64::from(recent_days)))
            .unwrap_or(NaiveDate::MIN);
        let earlier = Window::new(earlier_end, (self.window_days - recent_days).max(1))?;
        Ok((recent, earlier))
    }

    /// Defaults for an evaluation on `as_of`.
    pub fn new(as_of: NaiveDate) -> Self {
        Self {
            as_of,
            window_days: 365,
            decline_gap_multiple: 2.0,
            departed_gap_multiple: 4.0,
            min_gap_days: 7.0,
            default_gap_days: None,
            decline_trend_ratio: 0.5,
            trend_min_earlier: 2,
            maturity_min_purchase_days: 3,
            maturity_min_tenure_days: 90,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        Window::new(self.as_of, self.window_days)?;
        let positive = [
            ("decline_gap_multiple", self.decline_gap_multiple),
            ("departed_gap_multiple", self.departed_gap_multiple),
            ("min_gap_days", self.min_gap_days),
        ];
        for (field, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid_config(field, "must be a positive number"));
            }
        }
        if self.departed_gap_multiple < self.decline_gap_multiple {
            return Err(invalid_config(
                "departed_gap_multiple",
                "must not be below decline_gap_multiple",
            ));
        }
        if self
            .default_gap_days
            .is_some_and(|g| !(g.is_finite() && g > 0.0))
        {
            return Err(invalid_config(
                "default_gap_days",
                "must be a positive number",
            ));
        }
        if !(self.decline_trend_ratio.is_finite() && self.decline_trend_ratio >= 0.0) {
            return Err(invalid_config(
                "decline_trend_ratio",
                "must be a non-negative number",
            ));
        }
        Ok(())
    }
}

/// What the lifecycle rules read about one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleInput {
    /// The customer's id.
    pub customer_id: i64,
    /// First purchase ever (up to the as-of date).
    pub first_purchase: Option<NaiveDate>,
    /// Last purchase (up to the as-of date).
    pub last_purchase: Option<NaiveDate>,
    /// Distinct purchase days ever.
    pub purchase_days: u32,
    /// Purchases in the recent half of the window.
    pub recent_purchases: u32,
    /// Purchases in the earlier half of the window.
    pub earlier_purchases: u32,
}

/// One customer's stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifecycleRecord {
    /// The customer's id.
    pub customer_id: i64,
    /// The stage.
    pub stage: LifecycleStage,
    /// The rule that decided it.
    pub reason: StageReason,
    /// Days since the last purchase.
    pub recency_days: Option<i64>,
    /// The gap the recency was compared with (after defaults and floor).
    pub gap_days: Option<f64>,
}

/// The stage stored for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageState {
    /// Current stage.
    pub stage: LifecycleStage,
    /// Since when.
    pub since: NaiveDate,
}

/// A recorded stage change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    /// The customer's id.
    pub customer_id: i64,
    /// Previous stage; `None` for the first evaluation.
    pub from: Option<LifecycleStage>,
    /// New stage.
    pub to: LifecycleStage,
    /// The evaluation day on which the change was observed.
    pub date: NaiveDate,
}

/// Build lifecycle inputs from an order stream: lifetime first/last/distinct
/// purchase days up to `as_of`, and the purchases in each half of the window
/// (the recent half is the later `window_days / 2` days, rounded down).
/// Sorted by customer id; only customers with an order appear.
pub fn inputs_from_orders(
    orders: &[Order],
    config: &LifecycleConfig,
) -> Result<Vec<LifecycleInput>> {
    config.validate()?;
    let as_of = config.as_of;
    let earliest = orders.iter().map(|o| o.date).filter(|d| *d <= as_of).min();
    let Some(earliest) = earliest else {
        return Ok(Vec::new());
    };
    let span = (as_of - earliest).num_days() + 1;
    let lifetime_window = Window::new(as_of, u32::try_from(span).unwrap_or(u32::MAX))?;
    let lifetime = aggregate::aggregate::<aggregate::Full>(orders, &lifetime_window);
    let days = aggregate::distinct_purchase_days(orders, &lifetime_window, &lifetime);

    let (recent, earlier) = config.halves()?;
    let recent = recent.map(|w| aggregate::aggregate::<aggregate::Lean>(orders, &w));
    let earlier = aggregate::aggregate::<aggregate::Lean>(orders, &earlier);
    let count_in = |totals: &[(i64, aggregate::Lean)], id: i64| {
        totals
            .binary_search_by_key(&id, |t| t.0)
            .map_or(0, |i| totals[i].1.purchases)
    };
    Ok(lifetime
        .customers
        .iter()
        .zip(days)
        .map(|((customer_id, t), purchase_days)| LifecycleInput {
            customer_id: *customer_id,
            first_purchase: t.first_purchase(),
            last_purchase: t.last_purchase(),
            purchase_days,
            recent_purchases: recent
                .as_ref()
                .map_or(0, |r| count_in(&r.customers, *customer_id)),
            earlier_purchases: count_in(&earlier.customers, *customer_id),
        })
        .collect())
}

fn own_gap(i: &LifecycleInput) -> Option<f64> {
    match (i.first_purchase, i.last_purchase) {
        (Some(f), Some(l)) if i.purchase_days >= 2 => {
            Some((l - f).num_days() as f64 / f64::from(i.purchase_days - 1))
        }
        _ => None,
    }
}

/// Assign a stage to each customer (in input order).
pub fn classify(
    inputs: &[LifecycleInput],
    config: &LifecycleConfig,
) -> Result<Vec<LifecycleRecord>> {
    config.validate()?;
    let default_gap = match config.default_gap_days {
        Some(g) => g,
        None => {
            let mut gaps: Vec<f64> = inputs.iter().filter_map(own_gap).collect();
            median(&mut gaps).unwrap_or(30.0)
        }
    };
    inputs
        .iter()
        .map(|i| classify_one(i, default_gap, config))
        .collect()
}

fn classify_one(
    i: &LifecycleInput,
    default_gap: f64,
    c: &LifecycleConfig,
) -> Result<LifecycleRecord> {
    let record = |stage, reason, recency_days, gap_days| LifecycleRecord {
        customer_id: i.customer_id,
        stage,
        reason,
        recency_days,
        gap_days,
    };
    let (Some(first), Some(last)) = (i.first_purchase, i.last_purchase) else {
        return Ok(record(
            LifecycleStage::Acquisition,
            StageReason::NoPurchase,
            None,
            None,
        ));
    };
    if i.purchase_days == 0 {
        return Ok(record(
            LifecycleStage::Acquisition,
            StageReason::NoPurchase,
            None,
            None,
        ));
    }
    if last > c.as_of || first > last {
        return Err(AnalyticsError::InvalidInput {
            customer_id: i.customer_id,
            reason: format!(
                "purchase dates {first}..{last} do not fit before {}",
                c.as_of
            ),
        });
    }
    let recency = (c.as_of - last).num_days();
    let gap = own_gap(i).unwrap_or(default_gap).max(c.min_gap_days);
    let r = recency as f64;
    let (stage, reason) = if recency > i64::from(c.window_days) {
        (LifecycleStage::Departed, StageReason::NoPurchaseInWindow)
    } else if r > c.departed_gap_multiple * gap {
        (LifecycleStage::Departed, StageReason::FarOverdue)
    } else if r > c.decline_gap_multiple * gap {
        (LifecycleStage::Decline, StageReason::Overdue)
    } else if i.earlier_purchases >= c.trend_min_earlier
        && f64::from(i.recent_purchases) < c.decline_trend_ratio * f64::from(i.earlier_purchases)
    {
        (LifecycleStage::Decline, StageReason::FallingFrequency)
    } else if i.purchase_days >= c.maturity_min_purchase_days
        && (c.as_of - first).num_days() >= i64::from(c.maturity_min_tenure_days)
    {
        (LifecycleStage::Maturity, StageReason::Established)
    } else {
        (LifecycleStage::Growth, StageReason::Early)
    };
    Ok(record(stage, reason, Some(recency), Some(gap)))
}

/// Move a customer's stored stage forward to `stage`, observed on `as_of`.
///
/// Returns the state to store and, if the stage changed (or there was no
/// previous state), the change to record. An unchanged stage keeps its
/// original `since` date.
pub fn advance(
    customer_id: i64,
    previous: Option<StageState>,
    stage: LifecycleStage,
    as_of: NaiveDate,
) -> (StageState, Option<StageChange>) {
    match previous {
        Some(p) if p.stage == stage => (p, None),
        _ => (
            StageState {
                stage,
                since: as_of,
            },
            Some(StageChange {
                customer_id,
                from: previous.map(|p| p.stage),
                to: stage,
                date: as_of,
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleStage::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn reason_keys_match_serde() {
        for r in StageReason::ALL {
            let json = format!("\"{}\"", r.key());
            assert_eq!(serde_json::to_string(&r).unwrap(), json);
        }
    }

    fn input(first: &str, last: &str, days: u32, recent: u32, earlier: u32) -> LifecycleInput {
        LifecycleInput {
            customer_id: 1,
            first_purchase: Some(d(first)),
            last_purchase: Some(d(last)),
            purchase_days: days,
            recent_purchases: recent,
            earlier_purchases: earlier,
        }
    }

    fn stage(i: LifecycleInput) -> (LifecycleStage, StageReason) {
        let mut c = LifecycleConfig::new(d("2024-12-31"));
        c.default_gap_days = Some(30.0);
        let r = classify(&[i], &c).unwrap()[0];
        (r.stage, r.reason)
    }

    #[test]
    fn rules_in_order() {
        let none = LifecycleInput {
            first_purchase: None,
            last_purchase: None,
            purchase_days: 0,
            ..input("2024-01-01", "2024-01-01", 0, 0, 0)
        };
        assert_eq!(stage(none).0, Acquisition);
        // Monthly buyer (gap 30), last bought 20 days ago, 12 purchase days: mature.
        assert_eq!(
            stage(input("2024-01-11", "2024-12-11", 12, 6, 6)),
            (Maturity, StageReason::Established)
        );
        // Same buyer, silent for 70 days (> 2 x 30): decline.
        assert_eq!(
            stage(input("2023-12-22", "2024-10-22", 11, 4, 6)).0,
            Decline
        );
        // Silent for 130 days (> 4 x 30): departed.
        assert_eq!(
            stage(input("2023-09-24", "2024-08-23", 12, 2, 6)),
            (Departed, StageReason::FarOverdue)
        );
        // Nothing within the 365-day window: departed whatever the gap.
        assert_eq!(
            stage(input("2020-01-01", "2023-12-01", 3, 0, 0)),
            (Departed, StageReason::NoPurchaseInWindow)
        );
        // Recent but slowing: 1 purchase lately vs 6 earlier.
        assert_eq!(
            stage(input("2024-01-05", "2024-12-20", 7, 1, 6)),
            (Decline, StageReason::FallingFrequency)
        );
        // New customer, one purchase last week: growth.
        assert_eq!(
            stage(input("2024-12-24", "2024-12-24", 1, 1, 0)),
            (Growth, StageReason::Early)
        );
    }

    #[test]
    fn min_gap_floor_keeps_burst_buyers_from_looking_overdue() {
        // Two purchases a day apart, last one 10 days ago: gap 1 day is floored to 7.
        assert_eq!(stage(input("2024-12-20", "2024-12-21", 2, 2, 0)).0, Growth);
    }

    #[test]
    fn advance_records_only_changes() {
        let day1 = d("2024-01-01");
        let day2 = d("2024-02-01");
        let (s, c) = advance(9, None, Growth, day1);
        assert_eq!(
            s,
            StageState {
                stage: Growth,
                since: day1
            }
        );
        assert_eq!(c.unwrap().from, None);
        let (s2, c2) = advance(9, Some(s), Growth, day2);
        assert_eq!(s2.since, day1);
        assert!(c2.is_none());
        let (s3, c3) = advance(9, Some(s2), Decline, day2);
        assert_eq!(
            s3,
            StageState {
                stage: Decline,
                since: day2
            }
        );
        assert_eq!(
            c3,
            Some(StageChange {
                customer_id: 9,
                from: Some(Growth),
                to: Decline,
                date: day2
            })
        );
    }

    #[test]
    fn inputs_from_orders_count_halves_and_distinct_days() {
        let o = |date: &str, amount| Order {
            customer_id: 5,
            date: d(date),
            amount_minor: amount,
            cost_minor: None,
        };
        let orders = [
            o("2023-06-01", 100),
            o("2024-03-01", 100),
            o("2024-03-01", 100),
            o("2024-09-01", 100),
            o("2024-10-01", -50),
            o("2025-01-05", 100), // after as-of
        ];
        let c = LifecycleConfig::new(d("2024-12-31"));
        let i = inputs_from_orders(&orders, &c).unwrap();
        assert_eq!(
            i,
            [LifecycleInput {
                customer_id: 5,
                first_purchase: Some(d("2023-06-01")),
                last_purchase: Some(d("2024-09-01")),
                purchase_days: 3,
                recent_purchases: 1,
                earlier_purchases: 2,
            }]
        );
    }
}
