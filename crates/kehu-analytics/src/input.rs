//! Plain input records and the analysis window.
//!
//! Money is an `i64` count of minor units (cents, fen) everywhere it is
//! stored or returned as a total; models convert to `f64` only inside their
//! statistics. Dates are calendar dates: the models work at day resolution.
//!
//! Conventions shared by all models:
//!
//! * A **purchase** is an order with `amount_minor >= 0` (a zero-value order,
//!   e.g. a free sample, is still a purchase). An order with a negative amount
//!   is a **refund**: it lowers the value of the window it falls in but is not
//!   a purchase, so it never makes a customer look more recent or more
//!   frequent.
//! * **Profit** of an order is `amount_minor - cost_minor`. An order without a
//!   known cost contributes no profit, because its margin is unknown.
//! * Orders dated after the as-of date are ignored: the models describe the
//!   customer base as it was known on that day.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::aggregate;
use crate::error::{invalid_config, Result};

/// One order line as the models see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The customer's id (the database key).
    pub customer_id: i64,
    /// The order date.
    pub date: NaiveDate,
    /// Order value in minor units; negative for a refund.
    pub amount_minor: i64,
    /// Cost of goods in minor units, when known.
    pub cost_minor: Option<i64>,
}

/// Per-customer totals over some period, as the storage layer keeps them.
///
/// A customer who never bought has `first_order == last_order == None` and
/// zero counts; such customers are legal input everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSummary {
    /// The customer's id.
    pub customer_id: i64,
    /// Date of the first purchase in the period.
    pub first_order: Option<NaiveDate>,
    /// Date of the last purchase in the period.
    pub last_order: Option<NaiveDate>,
    /// Number of purchases in the period.
    pub order_count: u32,
    /// Number of distinct days with a purchase in the period.
    pub purchase_days: u32,
    /// Net value of the period (purchases minus refunds), minor units.
    pub total_amount_minor: i64,
    /// Profit of the period, minor units.
    pub total_profit_minor: i64,
}

impl CustomerSummary {
    /// A customer with no purchase at all.
    pub fn without_orders(customer_id: i64) -> Self {
        Self {
            customer_id,
            first_order: None,
            last_order: None,
            order_count: 0,
            purchase_days: 0,
            total_amount_minor: 0,
            total_profit_minor: 0,
        }
    }
}

/// The analysis window: the `days` days ending on `as_of`, both ends counted
/// as `(as_of - days, as_of]`. A window of 365 days ending on 2024-12-31
/// starts on 2024-01-02, because 2024 is a leap year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The last day inside the window; "today" for the analysis.
    pub as_of: NaiveDate,
    /// Length of the window in days; at least 1.
    pub days: u32,
}

impl Window {
    /// A window of `days` days ending on `as_of`.
    pub fn new(as_of: NaiveDate, days: u32) -> Result<Self> {
        let w = Self { as_of, days };
        w.validate()?;
        Ok(w)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.days == 0 {
            return Err(invalid_config("window.days", "must be at least 1"));
        }
        if self
            .as_of
            .checked_sub_days(Days::new(u64::from(self.days)))
            .is_none()
        {
            return Err(invalid_config(
                "window.days",
                "reaches before the supported calendar",
            ));
        }
        Ok(())
    }

    /// The last day *before* the window (exclusive lower bound).
    pub fn start_exclusive(&self) -> NaiveDate {
        self.as_of
            .checked_sub_days(Days::new(u64::from(self.days)))
            .unwrap_or(NaiveDate::MIN)
    }

    /// Whether `date` falls inside the window.
    pub fn contains(&self, date: NaiveDate) -> bool {
        date > self.start_exclusive() && date <= self.as_of
    }
}

/// Summarise an order stream per customer over `window`.
///
/// Every customer with at least one order (purchase or refund) inside the
/// window gets one summary, sorted by customer id. Customers whose window
/// holds only refunds have `order_count == 0` and no first/last date.
/// Distinct purchase days need a sort of the window's purchases, so this is
/// slower than the RFM fast path, which does not need them.
pub fn summarize_orders(orders: &[Order], window: &Window) -> Result<Vec<CustomerSummary>> {
    window.validate()?;
    let agg = aggregate::aggregate::<aggregate::Full>(orders, window);
    let days = aggregate::distinct_purchase_days(orders, window, &agg);
    Ok(agg
        .customers
        .iter()
        .zip(days)
        .map(|((customer_id, t), purchase_days)| CustomerSummary {
            customer_id: *customer_id,
            first_order: t.first_purchase(),
            last_order: t.last_purchase(),
            order_count: t.purchases,
            purchase_days,
            total_amount_minor: t.amount_minor,
            total_profit_minor: t.profit_minor,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn window_bounds_are_exclusive_inclusive() {
        let w = Window::new(d("2024-12-31"), 365).unwrap();
        assert_eq!(w.start_exclusive(), d("2024-01-01"));
        assert!(w.contains(d("2024-01-02")));
        assert!(w.contains(d("2024-12-31")));
        assert!(!w.contains(d("2024-01-01")));
        assert!(!w.contains(d("2025-01-01")));
        assert!(Window::new(d("2024-12-31"), 0).is_err());
    }

    #[test]
    fn summaries_follow_the_purchase_and_refund_conventions() {
        let w = Window::new(d("2024-06-30"), 30).unwrap();
        let o = |c, date: &str, amount, cost| Order {
            customer_id: c,
            date: d(date),
            amount_minor: amount,
            cost_minor: cost,
        };
        let orders = [
            o(7, "2024-06-10", 1000, Some(600)),
            o(7, "2024-06-10", 500, None),
            o(7, "2024-06-20", -200, Some(-120)),
            o(7, "2024-06-25", 0, None),
            o(7, "2024-07-01", 9999, None), // after as-of: ignored
            o(7, "2024-05-01", 9999, None), // before the window: ignored
            o(3, "2024-06-15", -50, None),  // refund only
        ];
        let s = summarize_orders(&orders, &w).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            CustomerSummary {
                customer_id: 3,
                first_order: None,
                last_order: None,
                order_count: 0,
                purchase_days: 0,
                total_amount_minor: -50,
                total_profit_minor: 0,
            }
        );
        assert_eq!(
            s[1],
            CustomerSummary {
                customer_id: 7,
                first_order: Some(d("2024-06-10")),
                last_order: Some(d("2024-06-25")),
                order_count: 3,
                purchase_days: 2,
                total_amount_minor: 1300,
                total_profit_minor: 400 - 80,
            }
        );
    }
}
