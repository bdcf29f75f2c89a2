//! Predictive customer lifetime value: BG/NBD for the number of future
//! purchases and the probability a customer is still active, Gamma-Gamma
//! for the value of a purchase, and a discounted sum of both.
//!
//! # Data
//!
//! The models read one [`RepeatSummary`] per customer over a calibration
//! period ending on a chosen date: the number of **repeat** purchases `x`
//! (distinct purchase days after the first one; several orders on one day
//! are one transaction, as in the published CDNOW analyses), the time `t_x`
//! from the first to the last purchase, the age `T` from the first purchase
//! to the end of the calibration, and the mean value of the repeat
//! transactions. [`calibration_summary`] builds them from orders; refunds
//! (negative amounts) are not transactions and do not enter the spend model.
//! Time is in the [`TimeUnit`] chosen there.
//!
//! # Lifetime value
//!
//! With `E(t)` the BG/NBD expected purchases in the next `t` time units,
//! `m` the Gamma-Gamma expected value per purchase, `f` time units per
//! month, `d` the monthly discount rate and `H` months:
//!
//! ```text
//! CLV = m * sum_{i = 1..H} (E(i f) - E((i - 1) f)) / (1 + d)^i
//! ```
//!
//! i.e. each month's expected purchases valued at `m` and discounted to
//! today. This is the formula of the `lifetimes` Python package, so results
//! can be compared directly. CLV is in the money unit of the summaries
//! (minor units when built by [`calibration_summary`]).
//!
//! # Errors
//!
//! Fitting returns [`crate::AnalyticsError`] when the data cannot support it:
//! too few customers, nobody repeating, a parameter running to the edge of
//! the search box, or no convergence. Predictions fail only for parameters
//! with no finite answer (e.g. Gamma-Gamma with `q <= 1`).

pub mod bgnbd;
pub mod gamma_gamma;
mod optimize;
pub mod special;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use bgnbd::{BgNbdFit, BgNbdParams};
pub use gamma_gamma::{GammaGammaFit, GammaGammaParams};

use crate::aggregate::{self, chunks, workers};
use crate::error::{invalid_config, Result};
use crate::input::{Order, Window};

/// Per-customer input of the CLV models (the papers' `x`, `t_x`, `T`, `zbar`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RepeatSummary {
    /// The customer's id.
    pub customer_id: i64,
    /// `x`: repeat transactions in the calibration period.
    pub frequency: u32,
    /// `t_x`: time from the first to the last transaction.
    pub recency: f64,
    /// `T`: time from the first transaction to the end of calibration.
    pub age: f64,
    /// `zbar`: mean value of the repeat transactions (0 when `x = 0`).
    pub monetary: f64,
}

/// The time unit of [`RepeatSummary`] durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Days.
    Days,
    /// Weeks of seven days (the unit of the published CDNOW results).
    #[default]
    Weeks,
}

impl TimeUnit {
    /// Length of the unit in days.
    pub fn days(&self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    /// Average units per calendar month (365.25 / 12 days).
    pub fn per_month(&self) -> f64 {
        365.25 / 12.0 / self.days()
    }
}

/// Build CLV inputs from orders: every customer with a purchase on or before
/// `calibration_end`, sorted by id, durations in `unit`, values in minor
/// units.
pub fn calibration_summary(
    orders: &[Order],
    calibration_end: NaiveDate,
    unit: TimeUnit,
) -> Result<Vec<RepeatSummary>> {
    let Some(earliest) = orders
        .iter()
        .map(|o| o.date)
        .filter(|d| *d <= calibration_end)
        .min()
    else {
        return Ok(Vec::new());
    };
    let span = (calibration_end - earliest).num_days() + 1;
    let window = Window::new(calibration_end, u32::try_from(span).unwrap_or(u32::MAX))?;
    let agg = aggregate::aggregate::<aggregate::Full>(orders, &window);
    let buckets = aggregate::bucket_purchases(orders, &window, &agg);
    let per_day = unit.days();
    let mut out = Vec::with_capacity(agg.customers.len());
    for (i, (customer_id, _)) in agg.customers.iter().enumerate() {
        let purchases = buckets.of(i);
        let Some(&(first, _)) = purchases.first() else {
            continue;
        };
        let mut days = 0u32;
        let mut last = first;
        let mut repeat_value = 0.0;
        let mut j = 0;
        while j < purchases.len() {
            let day = purchases[j].0;
            let mut value = 0i64;
            while j < purchases.len() && purchases[j].0 == day {
                value = value.saturating_add(purchases[j].1);
                j += 1;
            }
            if days > 0 {
                repeat_value += value as f64;
            }
            days += 1;
            last = day;
        }
        let x = days - 1;
        out.push(RepeatSummary {
            customer_id: *customer_id,
            frequency: x,
            recency: (last - first).num_days() as f64 / per_day,
            age: (calibration_end - first).num_days() as f64 / per_day,
            monetary: if x > 0 {
                repeat_value / f64::from(x)
            } else {
                0.0
            },
        });
    }
    Ok(out)
}

/// Both fitted models.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvModels {
    /// The purchase model.
    pub bg_nbd: BgNbdFit,
    /// The spend model.
    pub gamma_gamma: GammaGammaFit,
}

/// Fit BG/NBD on all customers and Gamma-Gamma on the repeat customers.
pub fn fit(data: &[RepeatSummary]) -> Result<ClvModels> {
    fit_from(data, None)
}

/// [`fit`] with each search starting at earlier fitted models (a daily
/// run starts from yesterday's).
pub fn fit_from(data: &[RepeatSummary], start: Option<&ClvModels>) -> Result<ClvModels> {
    Ok(ClvModels {
        bg_nbd: bgnbd::fit_from(data, start.map(|m| &m.bg_nbd.params))?,
        gamma_gamma: gamma_gamma::fit_from(data, start.map(|m| &m.gamma_gamma.params))?,
    })
}

/// CLV settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvConfig {
    /// Months of future value to count (default 12).
    pub horizon_months: u32,
    /// Monthly discount rate (default 0.01).
    pub monthly_discount_rate: f64,
    /// Model time units per month (default: weeks, 365.25 / 12 / 7).
    pub periods_per_month: f64,
}

impl ClvConfig {
    /// Defaults for summaries in `unit`.
    pub fn for_unit(unit: TimeUnit) -> Self {
        Self {
            horizon_months: 12,
            monthly_discount_rate: 0.01,
            periods_per_month: unit.per_month(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.horizon_months == 0 || self.horizon_months > 1200 {
            return Err(invalid_config(
                "horizon_months",
                "must be between 1 and 1200",
            ));
        }
        if !(self.monthly_discount_rate.is_finite() && self.monthly_discount_rate > -1.0) {
            return Err(invalid_config(
                "monthly_discount_rate",
                "must be a number above -1",
            ));
        }
        if !(self.periods_per_month.is_finite() && self.periods_per_month > 0.0) {
            return Err(invalid_config(
                "periods_per_month",
                "must be a positive number",
            ));
        }
        Ok(())
    }
}

impl Default for ClvConfig {
    fn default() -> Self {
        Self::for_unit(TimeUnit::Weeks)
    }
}

/// One customer's predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvRecord {
    /// The customer's id.
    pub customer_id: i64,
    /// Probability the customer is still active at the end of calibration.
    pub probability_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Expected value per purchase.
    pub expected_average_value: f64,
    /// Discounted expected value over the horizon.
    pub clv: f64,
}

/// Predict every customer (in input order).
///
/// The expected-purchase series depend on a customer's repeat count and age
/// only (recency enters through P(alive)), so they are evaluated once per
/// distinct `(x, T)` pair, in parallel for large inputs; at day or week
/// resolution that is a small fraction of the customers.
pub fn predict(
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    data: &[RepeatSummary],
    config: &ClvConfig,
) -> Result<Vec<ClvRecord>> {
    config.validate()?;
    gg.population_mean()?;
    let months = config.horizon_months as usize;
    let mut keys: Vec<(u32, u64)> = data
        .iter()
        .map(|c| (c.frequency, c.age.to_bits()))
        .collect();
    keys.sort_unstable();
    keys.dedup();

    // curves[k * months + i]: expected purchases in i + 1 months if alive.
    let parts = chunks(keys.len(), workers(keys.len() * months / 4));
    let curves: Vec<Result<Vec<f64>>> = aggregate::parallel_map(parts, |range| {
        let mut out = Vec::with_capacity(range.len() * months);
        for &(x, age_bits) in &keys[range] {
            let age = f64::from_bits(age_bits);
            for month in 1..=config.horizon_months {
                let t = f64::from(month) * config.periods_per_month;
                out.push(bg.purchases_if_alive(x, age, t)?);
            }
        }
        Ok(out)
    });
    let mut flat = Vec::with_capacity(keys.len() * months);
    for c in curves {
        flat.extend(c?);
    }

    let discounts: Vec<f64> = (1..=config.horizon_months)
        .map(|i| (1.0 + config.monthly_discount_rate).powi(-(i as i32)))
        .collect();
    let parts = chunks(data.len(), workers(data.len()));
    let records: Vec<Result<Vec<ClvRecord>>> = aggregate::parallel_map(parts, |range| {
        data[range]
            .iter()
            .map(|c| {
                let k = keys
                    .binary_search(&(c.frequency, c.age.to_bits()))
                    .unwrap_or_default();
                let curve = &flat[k * months..(k + 1) * months];
                let alive = bg.probability_alive(c);
                let value = gg.expected_average_value(c.frequency, c.monetary)?;
                let mut previous = 0.0;
                let mut discounted = 0.0;
                for (e, d) in curve.iter().zip(&discounts) {
                    discounted += (e - previous) * d;
                    previous = *e;
                }
                Ok(ClvRecord {
                    customer_id: c.customer_id,
                    probability_alive: alive,
                    expected_purchases: previous * alive,
                    expected_average_value: value,
                    clv: value * discounted * alive,
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(data.len());
    for r in records {
        out.extend(r?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn calibration_summary_merges_same_day_orders_and_skips_refunds() {
        let o = |c, date: &str, amount| Order {
            customer_id: c,
            date: d(date),
            amount_minor: amount,
            cost_minor: None,
        };
        let orders = [
            o(1, "2024-01-01", 1000),
            o(1, "2024-01-15", 300),
            o(1, "2024-01-15", 200),
            o(1, "2024-01-22", -100),
            o(1, "2024-01-29", 700),
            o(1, "2024-03-01", 999), // after calibration
            o(2, "2024-01-29", 50),
        ];
        let s = calibration_summary(&orders, d("2024-02-05"), TimeUnit::Weeks).unwrap();
        assert_eq!(
            s,
            [
                RepeatSummary {
                    customer_id: 1,
                    frequency: 2,
                    recency: 4.0,
                    age: 5.0,
                    monetary: 600.0
                },
                RepeatSummary {
                    customer_id: 2,
                    frequency: 0,
                    recency: 0.0,
                    age: 1.0,
                    monetary: 0.0
                },
            ]
        );
    }

    #[test]
    fn clv_is_the_discounted_sum_of_monthly_increments() {
        let bg = BgNbdParams {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let gg = GammaGammaParams {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let c = RepeatSummary {
            customer_id: 7,
            frequency: 3,
            recency: 30.0,
            age: 38.0,
            monetary: 40.0,
        };
        let cfg = ClvConfig {
            horizon_months: 3,
            monthly_discount_rate: 0.05,
            periods_per_month: 4.0,
        };
        let r = predict(&bg, &gg, &[c], &cfg).unwrap()[0];
        let e = |t: f64| bg.conditional_expected_purchases(&c, t).unwrap();
        let m = gg.expected_average_value(3, 40.0).unwrap();
        let want = m
            * (e(4.0) / 1.05
                + (e(8.0) - e(4.0)) / 1.05f64.powi(2)
                + (e(12.0) - e(8.0)) / 1.05f64.powi(3));
        assert!((r.clv - want).abs() < 1e-12 * want);
        assert_eq!(r.expected_purchases, e(12.0));
        assert!(predict(
            &bg,
            &gg,
            &[c],
            &ClvConfig {
                horizon_months: 0,
                ..cfg
            }
        )
        .is_err());
    }
}
