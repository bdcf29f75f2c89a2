//! Fast per-customer totals over an order stream (the hot path of RFM,
//! pyramid and A-E groups).
//!
//! Orders arrive in any order. Customer ids are usually a dense range of
//! database keys, so the totals live in a flat array indexed by
//! `id - min_id`: one random memory access per order and no hashing. When
//! the ids are too sparse for that (e.g. snowflake keys) a hash map assigns
//! compact slots first.
//!
//! Large inputs are split into one contiguous chunk per worker thread; each
//! fills its own array and the arrays are merged. Sums, minima and maxima do
//! not depend on the order of addition, so the result is the same for any
//! number of threads. Two accumulator shapes exist because memory traffic
//! is the cost that matters at 10M orders: [`Lean`] (16 bytes: last
//! purchase, purchases, net amount) for RFM, A-E groups and the revenue
//! pyramid, and [`Full`] (32 bytes, adds first purchase, row count and
//! profit) for everything else.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::NaiveDate;

use crate::input::{Order, Window};

/// What a per-customer accumulator does with the orders of its customer.
pub(crate) trait Acc: Copy + Send + Sync {
    /// The value before any order.
    const EMPTY: Self;
    /// Fold in one order of the window.
    fn add(&mut self, o: &Order);
    /// Fold in another accumulator of the same customer.
    fn merge(&mut self, other: &Self);
    /// Whether the customer had any order in the window.
    fn present(&self) -> bool;
}

/// Last purchase, purchase count and net amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lean {
    last: NaiveDate,
    pub purchases: u32,
    pub amount_minor: i64,
}

impl Lean {
    pub fn last_purchase(&self) -> Option<NaiveDate> {
        (self.purchases > 0).then_some(self.last)
    }
}

impl Acc for Lean {
    const EMPTY: Self = Lean {
        last: NaiveDate::MIN,
        purchases: 0,
        amount_minor: 0,
    };

    #[inline]
    fn add(&mut self, o: &Order) {
        self.amount_minor = self.amount_minor.saturating_add(o.amount_minor);
        if o.amount_minor >= 0 {
            self.purchases += 1;
            self.last = self.last.max(o.date);
        }
    }

    #[inline]
    fn merge(&mut self, other: &Self) {
        self.purchases += other.purchases;
        self.amount_minor = self.amount_minor.saturating_add(other.amount_minor);
        self.last = self.last.max(other.last);
    }

    /// A refund is negative, so a customer with only refunds has a
    /// non-zero amount; with a purchase the count is positive.
    #[inline]
    fn present(&self) -> bool {
        self.purchases > 0 || self.amount_minor != 0
    }
}

/// Everything the summaries need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full {
    first: NaiveDate,
    last: NaiveDate,
    rows: u32,
    pub purchases: u32,
    pub amount_minor: i64,
    pub profit_minor: i64,
}

impl Full {
    pub fn first_purchase(&self) -> Option<NaiveDate> {
        (self.purchases > 0).then_some(self.first)
    }

    pub fn last_purchase(&self) -> Option<NaiveDate> {
        (self.purchases > 0).then_some(self.last)
    }
}

impl Acc for Full {
    const EMPTY: Self = Full {
        first: NaiveDate::MAX,
        last: NaiveDate::MIN,
        rows: 0,
        purchases: 0,
        amount_minor: 0,
        profit_minor: 0,
    };

    #[inline]
    fn add(&mut self, o: &Order) {
        self.rows += 1;
        self.amount_minor = self.amount_minor.saturating_add(o.amount_minor);
        if let Some(cost) = o.cost_minor {
            self.profit_minor = self
                .profit_minor
                .saturating_add(o.amount_minor.saturating_sub(cost));
        }
        if o.amount_minor >= 0 {
            self.purchases += 1;
            self.first = self.first.min(o.date);
            self.last = self.last.max(o.date);
        }
    }

    #[inline]
    fn merge(&mut self, other: &Self) {
        self.rows += other.rows;
        self.purchases += other.purchases;
        self.amount_minor = self.amount_minor.saturating_add(other.amount_minor);
        self.profit_minor = self.profit_minor.saturating_add(other.profit_minor);
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }

    #[inline]
    fn present(&self) -> bool {
        self.rows > 0
    }
}

/// Totals of all customers with an order in the window, sorted by id, plus
/// the slot mapping used to build them (reused to group purchases).
pub(crate) struct Aggregated<A> {
    pub customers: Vec<(i64, A)>,
    index: Index,
    /// Output position of each slot, `u32::MAX` for slots without orders.
    slot_to_out: Vec<u32>,
}

/// A multiplicative hash for `i64` keys (Knuth's golden-ratio constant).
/// Keys are customer ids we chose ourselves, not attacker-controlled input,
/// so flooding resistance is not needed here.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(26);
    }
}

type IdMap = HashMap<i64, u32, BuildHasherDefault<IdHasher>>;

enum Index {
    /// Slot = id - min.
    Dense { min: i64 },
    /// Slot from the map; `ids[slot]` is the id.
    Sparse { map: IdMap, ids: Vec<i64> },
}

impl Index {
    #[inline]
    fn slot(&self, id: i64) -> usize {
        match self {
            // `id` was inside [min, max] when the index was built.
            Index::Dense { min } => (id.wrapping_sub(*min)) as u64 as usize,
            Index::Sparse { map, .. } => map.get(&id).map_or(usize::MAX, |s| *s as usize),
        }
    }

    fn id(&self, slot: usize) -> i64 {
        match self {
            Index::Dense { min } => min.wrapping_add(slot as i64),
            Index::Sparse { ids, .. } => ids[slot],
        }
    }
}

/// Worker threads for data-parallel passes: the machine's parallelism,
/// capped, and 1 for inputs too small to pay for a thread.
pub fn workers(items: usize) -> usize {
    if items < 200_000 {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Split `0..len` into `parts` contiguous ranges of near-equal size.
pub(crate) fn chunks(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| (len * i / parts)..(len * (i + 1) / parts))
        .collect()
}

/// Run `f` on each range, in parallel when there is more than one, and
/// return the results in range order.
pub(crate) fn parallel_map<T: Send>(
    ranges: Vec<std::ops::Range<usize>>,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    if ranges.len() <= 1 {
        return ranges.into_iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|r| scope.spawn(move || f(r)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

pub(crate) fn aggregate<A: Acc>(orders: &[Order], window: &Window) -> Aggregated<A> {
    let start = window.start_exclusive();
    let as_of = window.as_of;
    let in_window = |o: &Order| o.date > start && o.date <= as_of;
    let parts = chunks(orders.len(), workers(orders.len()));

    // The id range is taken over all orders, not only the window's: that
    // loop has no data-dependent branch, and the span only has to cover
    // the window's customers.
    let scans = parallel_map(parts.clone(), |range| {
        orders[range]
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), o| {
                (lo.min(o.customer_id), hi.max(o.customer_id))
            })
    });
    let min = scans.iter().map(|s| s.0).min().unwrap_or(i64::MAX);
    let max = scans.iter().map(|s| s.1).max().unwrap_or(i64::MIN);
    if orders.is_empty() {
        return Aggregated {
            customers: Vec::new(),
            index: Index::Dense { min: 0 },
            slot_to_out: Vec::new(),
        };
    }
    let count = orders.len();

    let span = (max as i128) - (min as i128) + 1;
    let dense_limit = (4 * count as i128 + 1024).min(1 << 27);
    let index = if span <= dense_limit {
        Index::Dense { min }
    } else {
        let mut map = IdMap::default();
        let mut ids = Vec::new();
        for o in orders.iter().filter(|o| in_window(o)) {
            map.entry(o.customer_id).or_insert_with(|| {
                ids.push(o.customer_id);
                (ids.len() - 1) as u32
            });
        }
        Index::Sparse { map, ids }
    };
    let slots_len = match &index {
        Index::Dense { .. } => span as usize,
        Index::Sparse { ids, .. } => ids.len(),
    };

    let mut partials = parallel_map(parts, |range| {
        // One spare slot at the end absorbs the orders outside the window,
        // so the hot loop chooses a slot instead of branching on the date
        // (which would be mispredicted about as often as not).
        let mut slots = vec![A::EMPTY; slots_len + 1];
        for o in &orders[range] {
            let slot = if in_window(o) {
                index.slot(o.customer_id)
            } else {
                slots_len
            };
            if let Some(s) = slots.get_mut(slot) {
                s.add(o);
            }
        }
        slots.truncate(slots_len);
        slots
    });
    let mut slots = partials.swap_remove(0);
    for other in &partials {
        for (a, b) in slots.iter_mut().zip(other) {
            a.merge(b);
        }
    }
    drop(partials);

    // Output in ascending id order: natural for the dense index, sorted for the sparse one.
    let mut order: Vec<usize> = (0..slots_len).filter(|&s| slots[s].present()).collect();
    if let Index::Sparse { ids, .. } = &index {
        order.sort_unstable_by_key(|&s| ids[s]);
    }
    let mut slot_to_out = vec![u32::MAX; slots_len];
    let customers = order
        .iter()
        .enumerate()
        .map(|(pos, &s)| {
            slot_to_out[s] = pos as u32;
            (index.id(s), slots[s])
        })
        .collect();
    Aggregated {
        customers,
        index,
        slot_to_out,
    }
}

/// The purchases of each customer of `agg`, grouped: customer `i` owns
/// `items[offsets[i]..offsets[i + 1]]`, sorted by date. Built by a counting
/// sort on the customer position (linear time), then a small sort per
/// customer.
pub(crate) struct Buckets {
    pub offsets: Vec<usize>,
    pub items: Vec<(NaiveDate, i64)>,
}

impl Buckets {
    pub fn of(&self, i: usize) -> &[(NaiveDate, i64)] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }
}

pub(crate) fn bucket_purchases(
    orders: &[Order],
    window: &Window,
    agg: &Aggregated<Full>,
) -> Buckets {
    let mut offsets = Vec::with_capacity(agg.customers.len() + 1);
    offsets.push(0usize);
    let mut total = 0usize;
    for (_, t) in &agg.customers {
        total += t.purchases as usize;
        offsets.push(total);
    }
    let mut cursor = offsets.clone();
    let mut items = vec![(NaiveDate::MIN, 0i64); total];
    for o in orders
        .iter()
        .filter(|o| o.amount_minor >= 0 && window.contains(o.date))
    {
        let Some(&out) = agg.slot_to_out.get(agg.index.slot(o.customer_id)) else {
            continue;
        };
        if out == u32::MAX {
            continue;
        }
        let c = &mut cursor[out as usize];
        items[*c] = (o.date, o.amount_minor);
        *c += 1;
    }
    for i in 0..agg.customers.len() {
        items[offsets[i]..offsets[i + 1]].sort_unstable();
    }
    Buckets { offsets, items }
}

/// Distinct purchase days per customer of `agg`, in the same order.
pub(crate) fn distinct_purchase_days(
    orders: &[Order],
    window: &Window,
    agg: &Aggregated<Full>,
) -> Vec<u32> {
    let buckets = bucket_purchases(orders, window, agg);
    (0..agg.customers.len())
        .map(|i| {
            let b = buckets.of(i);
            let changes = b.windows(2).filter(|w| w[0].0 != w[1].0).count();
            if b.is_empty() {
                0
            } else {
                changes as u32 + 1
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn sparse_ids_give_the_same_totals_as_dense_ids() {
        let w = Window::new(d("2024-12-31"), 365).unwrap();
        let mk = |scale: i64| -> Vec<Order> {
            (0..5000)
                .map(|i| Order {
                    customer_id: (i % 97) * scale - 40 * scale,
                    date: d("2024-01-01") + chrono::Days::new((i * 7 % 400) as u64),
                    amount_minor: (i * 31 % 1000) - 100,
                    cost_minor: (i % 3 == 0).then_some(50),
                })
                .collect()
        };
        let dense = aggregate::<Full>(&mk(1), &w);
        let sparse = aggregate::<Full>(&mk(1_000_000_007), &w);
        assert!(matches!(sparse.index, Index::Sparse { .. }));
        assert_eq!(dense.customers.len(), sparse.customers.len());
        for ((ida, a), (idb, b)) in dense.customers.iter().zip(&sparse.customers) {
            assert_eq!(ida * 1_000_000_007, *idb);
            assert_eq!(a, b);
        }
        let lean = aggregate::<Lean>(&mk(1), &w);
        assert_eq!(lean.customers.len(), dense.customers.len());
        for ((ida, a), (idb, b)) in lean.customers.iter().zip(&dense.customers) {
            assert_eq!(ida, idb);
            assert_eq!(
                (a.purchases, a.amount_minor, a.last_purchase()),
                (b.purchases, b.amount_minor, b.last_purchase())
            );
        }
    }
}
