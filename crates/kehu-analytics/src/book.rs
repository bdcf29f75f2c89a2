//! Orders grouped by customer, and every per-customer measure of a run in
//! one pass over them.
//!
//! The stream functions ([`crate::summarize_orders`],
//! [`crate::value_group::assign_orders`],
//! [`crate::lifecycle::inputs_from_orders`],
//! [`crate::clv::calibration_summary`]) take orders in any order and each
//! scatters them over a per-customer table: four passes of random memory
//! access over the whole stream. A database can hand the orders over
//! already grouped by customer and sorted by date (Kehu keeps each
//! customer's completed orders in one row), and then one sequential pass
//! per customer yields all four results at once. The results are those of
//! the stream functions exactly; a property test holds the two to it.

use chrono::NaiveDate;

use crate::aggregate::{chunks, parallel_map, workers};
use crate::clv::{RepeatSummary, TimeUnit};
use crate::error::{AnalyticsError, Result};
use crate::input::{CustomerSummary, Order, Window};
use crate::lifecycle::{LifecycleConfig, LifecycleInput};

/// One order of a customer, as [`OrderBook`] keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The order date.
    pub date: NaiveDate,
    /// Order value in minor units; negative for a refund.
    pub amount_minor: i64,
    /// Cost of goods in minor units, when known.
    pub cost_minor: Option<i64>,
}

/// Orders grouped by customer: customers in ascending id order, each
/// customer's orders sorted by date.
#[derive(Debug, Clone)]
pub struct OrderBook {
    ids: Vec<i64>,
    /// Customer `i` owns the lines `starts[i]..starts[i + 1]`, counted
    /// across the parts.
    starts: Vec<usize>,
    /// The lines. A book appended to this one keeps its lines where they
    /// are, as a part of their own, instead of being copied after these (a
    /// database's halves read side by side are 5M lines each). A
    /// customer's lines lie in one part; only a book's single part may be
    /// empty.
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
struct Part {
    /// The book's number of its first line.
    first: usize,
    lines: Vec<Line>,
}

/// Books are equal when they hold the same customers with the same
/// lines, however their lines are stored.
impl PartialEq for OrderBook {
    fn eq(&self, other: &Self) -> bool {
        self.ids == other.ids && self.iter().zip(other.iter()).all(|(a, b)| a.1 == b.1)
    }
}

impl Eq for OrderBook {}

impl Default for OrderBook {
    fn default() -> Self {
        Self::with_capacity(0, 0)
    }
}

impl OrderBook {
    /// An empty book with room for `customers` and `lines`.
    pub fn with_capacity(customers: usize, lines: usize) -> Self {
        let mut starts = Vec::with_capacity(customers + 1);
        starts.push(0);
        Self {
            ids: Vec::with_capacity(customers),
            starts,
            parts: vec![Part {
                first: 0,
                lines: Vec::with_capacity(lines),
            }],
        }
    }

    /// The orders of a stream, grouped; orders of one customer on one day
    /// keep their order in the stream.
    pub fn from_orders(orders: &[Order]) -> Self {
        let mut sorted: Vec<&Order> = orders.iter().collect();
        sorted.sort_by_key(|o| (o.customer_id, o.date));
        let mut book = Self::with_capacity(0, orders.len());
        for o in sorted {
            if book.ids.last() != Some(&o.customer_id) {
                book.close();
                book.ids.push(o.customer_id);
            }
            book.last_lines().push(Line {
                date: o.date,
                amount_minor: o.amount_minor,
                cost_minor: o.cost_minor,
            });
        }
        book.close();
        book
    }

    /// Adds a customer after the ones already in the book. Its lines are
    /// sorted by date here when they are not already; a customer without
    /// lines is not added.
    pub fn push(&mut self, customer_id: i64, lines: impl IntoIterator<Item = Line>) -> Result<()> {
        if self.ids.last().is_some_and(|last| *last >= customer_id) {
            return Err(AnalyticsError::InvalidInput {
                customer_id,
                reason: "customers must come in ascending id order, each once".into(),
            });
        }
        let all = self.last_lines();
        let from = all.len();
        all.extend(lines);
        let own = &mut all[from..];
        if own.is_empty() {
            return Ok(());
        }
        if own.windows(2).any(|w| w[0].date > w[1].date) {
            own.sort_by_key(|l| l.date);
        }
        self.ids.push(customer_id);
        self.starts.push(self.len());
        Ok(())
    }

    /// Appends the customers of `other`, whose ids must all be greater.
    /// Their lines stay where `other` keeps them.
    pub fn append(&mut self, other: OrderBook) -> Result<()> {
        if let (Some(last), Some(first)) = (self.ids.last(), other.ids.first()) {
            if last >= first {
                return Err(AnalyticsError::InvalidInput {
                    customer_id: *first,
                    reason: "customers must come in ascending id order, each once".into(),
                });
            }
        }
        if other.is_empty() {
            return Ok(());
        }
        if self.is_empty() {
            *self = other;
            return Ok(());
        }
        let base = self.len();
        self.ids.extend_from_slice(&other.ids);
        self.starts
            .extend(other.starts.iter().skip(1).map(|s| s + base));
        self.parts.extend(other.parts.into_iter().map(|p| Part {
            first: p.first + base,
            lines: p.lines,
        }));
        Ok(())
    }

    /// Keeps the customers for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(i64) -> bool) {
        if self.ids.iter().all(|id| keep(*id)) {
            return;
        }
        let old = std::mem::take(self);
        let mut book = Self::with_capacity(old.ids.len(), old.len());
        for (id, lines) in old.iter().filter(|(id, _)| keep(*id)) {
            book.ids.push(id);
            book.last_lines().extend_from_slice(lines);
            book.starts.push(book.len());
        }
        *self = book;
    }

    /// The customers, ascending.
    pub fn customers(&self) -> &[i64] {
        &self.ids
    }

    /// The number of orders.
    pub fn len(&self) -> usize {
        self.parts.last().map_or(0, |p| p.first + p.lines.len())
    }

    /// Whether the book holds no order.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each customer with its orders, by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &[Line])> + '_ {
        (0..self.ids.len()).map(|i| (self.ids[i], self.lines_of(i)))
    }

    fn lines_of(&self, i: usize) -> &[Line] {
        let (start, end) = (self.starts[i], self.starts[i + 1]);
        // Parts are few (one per half read): the last that starts at or
        // before the customer's first line holds all of them.
        let part = self
            .parts
            .iter()
            .rfind(|p| p.first <= start)
            .unwrap_or(&self.parts[0]);
        &part.lines[start - part.first..end - part.first]
    }

    /// The part new lines go to (a book always has one).
    fn last_lines(&mut self) -> &mut Vec<Line> {
        let last = self.parts.len() - 1;
        &mut self.parts[last].lines
    }

    /// Ends the customer [`OrderBook::from_orders`] was filling.
    fn close(&mut self) {
        if self.starts.len() == self.ids.len() {
            self.starts.push(self.len());
        }
    }
}

/// The periods of one run's per-customer measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periods {
    /// The analysis window (RFM, pyramids, A–E groups).
    pub window: Window,
    /// The window before it (the A–E groups the migration starts from).
    pub previous: Window,
    /// The lifecycle rules' as-of day and window.
    pub lifecycle: LifecycleConfig,
    /// The last day the CLV models are fitted on.
    pub calibration_end: NaiveDate,
    /// The CLV models' time unit.
    pub unit: TimeUnit,
}

/// Every per-customer measure of a run, each list sorted by customer id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profiles {
    /// What [`crate::summarize_orders`] gives for the window.
    pub window: Vec<CustomerSummary>,
    /// `(id, purchases, net value)` of the customers with an order in the
    /// previous window, the measures of
    /// [`crate::value_group::assign_orders`].
    pub previous: Vec<(i64, u32, i64)>,
    /// What [`crate::lifecycle::inputs_from_orders`] gives.
    pub lifecycle: Vec<LifecycleInput>,
    /// What [`crate::clv::calibration_summary`] gives.
    pub calibration: Vec<RepeatSummary>,
}

impl Profiles {
    fn append(&mut self, other: Profiles) {
        self.window.extend(other.window);
        self.previous.extend(other.previous);
        self.lifecycle.extend(other.lifecycle);
        self.calibration.extend(other.calibration);
    }
}

/// A period as bounds on the date: `(after, up to and including)`.
type Span = (NaiveDate, NaiveDate);

fn span(w: &Window) -> Span {
    (w.start_exclusive(), w.as_of)
}

fn inside(d: NaiveDate, (after, upto): Span) -> bool {
    d > after && d <= upto
}

/// The bounds of [`Periods`], worked out once for all customers.
#[derive(Clone, Copy)]
struct Bounds {
    window: Span,
    previous: Span,
    as_of: NaiveDate,
    recent: Option<Span>,
    earlier: Span,
    calibration_end: NaiveDate,
    per_day: f64,
}

/// Every per-customer measure of `periods`, in one pass over the book
/// (a part of the customers per core).
pub fn profiles(book: &OrderBook, periods: &Periods) -> Result<Profiles> {
    periods.window.validate()?;
    periods.previous.validate()?;
    periods.lifecycle.validate()?;
    let (recent, earlier) = periods.lifecycle.halves()?;
    let bounds = Bounds {
        window: span(&periods.window),
        previous: span(&periods.previous),
        as_of: periods.lifecycle.as_of,
        recent: recent.as_ref().map(span),
        earlier: span(&earlier),
        calibration_end: periods.calibration_end,
        per_day: periods.unit.days(),
    };
    // Parts of about equal numbers of orders.
    let parts = chunks(book.len(), workers(book.len()));
    let customers: Vec<usize> = parts
        .iter()
        .map(|r| book.starts.partition_point(|s| *s < r.start))
        .chain([book.ids.len()])
        .collect();
    let ranges: Vec<_> = customers.windows(2).map(|w| w[0]..w[1]).collect();
    let parts = parallel_map(ranges, |customers| {
        let mut out = Profiles::default();
        for i in customers {
            profile(book.ids[i], book.lines_of(i), &bounds, &mut out);
        }
        out
    });
    Ok(parts
        .into_iter()
        .reduce(|mut all, part| {
            all.append(part);
            all
        })
        .unwrap_or_default())
}

/// One customer's measures, added to `out` where the customer has any.
fn profile(id: i64, lines: &[Line], b: &Bounds, out: &mut Profiles) {
    // The window, in full.
    let mut w = Totals::default();
    // The previous window: purchases and net value.
    let (mut p_purchases, mut p_amount) = (0u32, 0i64);
    // The lifetime up to the as-of day, and the lifecycle halves.
    let mut life = Totals::default();
    let (mut recent_n, mut earlier_n) = (0u32, 0u32);
    // Purchase days up to the calibration end.
    let mut cal = Calibration::default();

    for l in lines {
        let d = l.date;
        let purchase = l.amount_minor >= 0;
        if inside(d, b.window) {
            w.add(l);
        }
        if inside(d, b.previous) {
            p_amount = p_amount.saturating_add(l.amount_minor);
            p_purchases += u32::from(purchase);
        }
        if d <= b.as_of {
            life.add(l);
            if purchase {
                recent_n += u32::from(b.recent.is_some_and(|h| inside(d, h)));
                earlier_n += u32::from(inside(d, b.earlier));
            }
        }
        if purchase && d <= b.calibration_end {
            cal.add(l);
        }
    }

    if w.rows > 0 {
        out.window.push(w.summary(id));
    }
    if p_purchases > 0 || p_amount != 0 {
        out.previous.push((id, p_purchases, p_amount));
    }
    if life.rows > 0 {
        out.lifecycle.push(LifecycleInput {
            customer_id: id,
            first_purchase: life.first,
            last_purchase: life.last,
            purchase_days: life.days,
            recent_purchases: recent_n,
            earlier_purchases: earlier_n,
        });
    }
    if let Some(summary) = cal.summary(id, b) {
        out.calibration.push(summary);
    }
}

/// A customer's purchase days up to the calibration end, dates ascending:
/// the CLV models' `x`, `t_x`, `T` and `zbar`.
#[derive(Default)]
struct Calibration {
    /// First and last purchase day.
    days: Option<(NaiveDate, NaiveDate)>,
    count: u32,
    /// The value of the days before the last, but the first.
    repeat: f64,
    /// The value of the last day so far.
    day_value: i64,
}

impl Calibration {
    fn add(&mut self, l: &Line) {
        match self.days {
            Some((_, last)) if last == l.date => {
                self.day_value = self.day_value.saturating_add(l.amount_minor);
                return;
            }
            Some((first, _)) => {
                self.close_day();
                self.days = Some((first, l.date));
            }
            None => self.days = Some((l.date, l.date)),
        }
        self.count += 1;
        self.day_value = l.amount_minor;
    }

    /// The day before is complete: it counts when it was not the first.
    fn close_day(&mut self) {
        if self.count > 1 {
            self.repeat += self.day_value as f64;
        }
    }

    fn summary(mut self, id: i64, b: &Bounds) -> Option<RepeatSummary> {
        let (first, last) = self.days?;
        self.close_day();
        let x = self.count - 1;
        Some(RepeatSummary {
            customer_id: id,
            frequency: x,
            recency: (last - first).num_days() as f64 / b.per_day,
            age: (b.calibration_end - first).num_days() as f64 / b.per_day,
            monetary: if x > 0 {
                self.repeat / f64::from(x)
            } else {
                0.0
            },
        })
    }
}

/// Totals of a customer's orders in one period, dates ascending.
#[derive(Default)]
struct Totals {
    rows: u32,
    purchases: u32,
    /// Distinct purchase days.
    days: u32,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    amount_minor: i64,
    profit_minor: i64,
}

impl Totals {
    fn add(&mut self, l: &Line) {
        self.rows += 1;
        self.amount_minor = self.amount_minor.saturating_add(l.amount_minor);
        if let Some(cost) = l.cost_minor {
            self.profit_minor = self
                .profit_minor
                .saturating_add(l.amount_minor.saturating_sub(cost));
        }
        if l.amount_minor >= 0 {
            self.purchases += 1;
            if self.last != Some(l.date) {
                self.days += 1;
            }
            self.first.get_or_insert(l.date);
            self.last = Some(l.date);
        }
    }

    fn summary(&self, id: i64) -> CustomerSummary {
        CustomerSummary {
            customer_id: id,
            first_order: self.first,
            last_order: self.last,
            order_count: self.purchases,
            purchase_days: self.days,
            total_amount_minor: self.amount_minor,
            total_profit_minor: self.profit_minor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn line(date: &str, amount: i64) -> Line {
        Line {
            date: d(date),
            amount_minor: amount,
            cost_minor: None,
        }
    }

    fn order(customer_id: i64, date: &str, amount: i64) -> Order {
        Order {
            customer_id,
            date: d(date),
            amount_minor: amount,
            cost_minor: None,
        }
    }

    #[test]
    fn a_book_takes_customers_in_ascending_order_only() {
        let mut book = OrderBook::with_capacity(2, 4);
        book.push(3, [line("2024-02-01", 5), line("2024-01-01", 7)])
            .unwrap();
        book.push(4, []).unwrap();
        assert!(book.push(3, [line("2024-01-01", 1)]).is_err());
        assert_eq!(book.customers(), &[3]);
        let (_, lines) = book.iter().next().unwrap();
        assert_eq!(lines[0].date, d("2024-01-01"), "sorted by date");
        let mut later = OrderBook::with_capacity(1, 1);
        later.push(2, [line("2024-01-01", 1)]).unwrap();
        assert!(book.clone().append(later).is_err());
        let mut later = OrderBook::with_capacity(1, 1);
        later.push(9, [line("2024-01-01", 1)]).unwrap();
        book.append(later).unwrap();
        assert_eq!(book.customers(), &[3, 9]);
        assert_eq!(book.len(), 3);
        let lines: Vec<(i64, Vec<i64>)> = book
            .iter()
            .map(|(id, l)| (id, l.iter().map(|l| l.amount_minor).collect()))
            .collect();
        assert_eq!(lines, [(3, vec![7, 5]), (9, vec![1])]);
        book.push(10, [line("2024-03-01", 4)]).unwrap();
        let whole = OrderBook::from_orders(&[
            order(3, "2024-02-01", 5),
            order(10, "2024-03-01", 4),
            order(3, "2024-01-01", 7),
            order(9, "2024-01-01", 1),
        ]);
        assert_eq!(book, whole, "appended parts read as one book");
        book.retain(|id| id != 10);
        book.retain(|id| id != 3);
        assert_eq!(book.customers(), &[9]);
        assert_eq!(book.len(), 1);
    }
}
