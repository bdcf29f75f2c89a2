//! Property tests: the fast models equal a direct, independent computation
//! written out plainly here, on random inputs with ties, single-order
//! customers, zero amounts, refunds and sparse ids.

// Test helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use kehu_analytics::clv::{self, TimeUnit};
use kehu_analytics::lifecycle::{self, LifecycleConfig};
use kehu_analytics::pyramid::{self, CustomerValue, PyramidBasis, PyramidConfig, PyramidLayer};
use kehu_analytics::rfm::{self, RfmConfig};
use kehu_analytics::value_group::{self, ValueGroup, ValueGroupConfig};
use kehu_analytics::{
    profiles, summarize_orders, CustomerSummary, Order, OrderBook, Periods, Window,
};
use proptest::prelude::*;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
}

/// Orders over 120 days around a 90-day window ending on `as_of`, with few
/// distinct amounts and dates so that ties are common.
fn orders_strategy() -> impl Strategy<Value = Vec<Order>> {
    let id = prop_oneof![0i64..12, (0i64..6).prop_map(|i| i * 1_000_000_007 - 3)];
    let order = (
        id,
        0u64..120,
        prop_oneof![Just(0i64), -300i64..0, 1i64..50, Just(1000i64)],
        proptest::option::of(0i64..40),
    )
        .prop_map(|(customer_id, back, amount_minor, cost_minor)| Order {
            customer_id,
            // Some orders fall after the as-of date and must be ignored.
            date: as_of() + Days::new(10) - Days::new(back),
            amount_minor: amount_minor * 10,
            cost_minor: cost_minor.map(|c| c * 10),
        });
    proptest::collection::vec(order, 0..150)
}

const WINDOW_DAYS: u32 = 90;

/// Per-customer totals in the window, computed the obvious way.
#[derive(Debug, Default, Clone)]
struct Plain {
    purchase_dates: Vec<NaiveDate>,
    amount: i64,
    profit: i64,
}

fn plain_totals(orders: &[Order]) -> BTreeMap<i64, Plain> {
    let start = as_of() - Days::new(u64::from(WINDOW_DAYS));
    let mut m: BTreeMap<i64, Plain> = BTreeMap::new();
    for o in orders {
        if o.date <= start || o.date > as_of() {
            continue;
        }
        let p = m.entry(o.customer_id).or_default();
        p.amount += o.amount_minor;
        if let Some(c) = o.cost_minor {
            p.profit += o.amount_minor - c;
        }
        if o.amount_minor >= 0 {
            p.purchase_dates.push(o.date);
        }
    }
    m
}

/// `1 + floor(5 * worse / n)`, counting strictly worse values one by one.
fn plain_scores(values: &[i64], larger_is_better: bool) -> Vec<u8> {
    let n = values.len() as i64;
    values
        .iter()
        .map(|v| {
            let worse = values
                .iter()
                .filter(|w| if larger_is_better { *w < v } else { *w > v })
                .count() as i64;
            (1 + 5 * worse / n) as u8
        })
        .collect()
}

/// The segment grid as printed in the `rfm` module docs (rows R = 5..1,
/// columns FM = 1..5), re-typed here from the documentation.
const DOC_GRID: [[&str; 5]; 5] = [
    [
        "new",
        "potential_loyalist",
        "potential_loyalist",
        "champions",
        "champions",
    ],
    [
        "promising",
        "potential_loyalist",
        "potential_loyalist",
        "loyal",
        "champions",
    ],
    [
        "about_to_sleep",
        "about_to_sleep",
        "need_attention",
        "loyal",
        "loyal",
    ],
    [
        "hibernating",
        "hibernating",
        "at_risk",
        "at_risk",
        "cant_lose_them",
    ],
    ["lost", "lost", "hibernating", "at_risk", "cant_lose_them"],
];

fn check_rfm(orders: &[Order]) -> Result<(), TestCaseError> {
    let config = RfmConfig::new(as_of(), WINDOW_DAYS).unwrap();
    let got = rfm::analyze_orders(orders, &config).unwrap();
    let plain: Vec<(i64, Plain)> = plain_totals(orders)
        .into_iter()
        .filter(|(_, p)| !p.purchase_dates.is_empty())
        .collect();
    prop_assert_eq!(got.records.len(), plain.len());
    let recency: Vec<i64> = plain
        .iter()
        .map(|(_, p)| (as_of() - *p.purchase_dates.iter().max().unwrap()).num_days())
        .collect();
    let frequency: Vec<i64> = plain
        .iter()
        .map(|(_, p)| p.purchase_dates.len() as i64)
        .collect();
    let monetary: Vec<i64> = plain.iter().map(|(_, p)| p.amount).collect();
    let (rs, fs, ms) = (
        plain_scores(&recency, false),
        plain_scores(&frequency, true),
        plain_scores(&monetary, true),
    );
    for (i, rec) in got.records.iter().enumerate() {
        prop_assert_eq!(rec.customer_id, plain[i].0);
        prop_assert_eq!(rec.recency_days, recency[i]);
        prop_assert_eq!(i64::from(rec.frequency), frequency[i]);
        prop_assert_eq!(rec.monetary_minor, monetary[i]);
        prop_assert_eq!(
            (rec.scores.r, rec.scores.f, rec.scores.m),
            (rs[i], fs[i], ms[i])
        );
        let fm = (fs[i] + ms[i]) / 2;
        prop_assert_eq!(
            rec.segment.key(),
            DOC_GRID[usize::from(5 - rs[i])][usize::from(fm - 1)]
        );
    }
    Ok(())
}

fn check_pyramid(values: &[i64], head: u32, waist: u32) -> Result<(), TestCaseError> {
    let input: Vec<CustomerValue> = values
        .iter()
        .enumerate()
        .map(|(i, v)| CustomerValue {
            customer_id: i as i64,
            value_minor: *v,
        })
        .collect();
    let config = PyramidConfig {
        head_pct: f64::from(head),
        waist_pct: f64::from(waist),
        ..PyramidConfig::default()
    };
    let got = pyramid::analyze(&input, &config).unwrap();
    let n = values.len() as u64;
    // Places in integer arithmetic: ceil(n * pct / 100).
    let head_places = (n * u64::from(head)).div_ceil(100);
    let waist_places = (n * u64::from(head + waist)).div_ceil(100);
    let total: i64 = values.iter().sum();
    let mut counts = [0u64; 3];
    let mut sums = [0i64; 3];
    for (m, v) in got.members.iter().zip(values) {
        let rank = 1 + values.iter().filter(|w| *w > v).count() as u64;
        let layer = if rank <= head_places {
            PyramidLayer::Head
        } else if rank <= waist_places {
            PyramidLayer::Waist
        } else {
            PyramidLayer::Tail
        };
        prop_assert_eq!(m.layer, layer);
        counts[layer as usize] += 1;
        sums[layer as usize] += v;
    }
    for (i, l) in got.layers.iter().enumerate() {
        prop_assert_eq!(l.customers, counts[i]);
        prop_assert_eq!(l.value_minor, sums[i]);
        match l.value_share {
            Some(s) => prop_assert!((s - sums[i] as f64 / total as f64).abs() < 1e-12),
            None => prop_assert!(total <= 0),
        }
    }
    prop_assert_eq!(got.total_value_minor, total);
    let mut desc = values.to_vec();
    desc.sort_by(|a, b| b.cmp(a));
    for (step, point) in got.curve.iter().enumerate() {
        let k = ((step as f64) * n as f64 / 100.0).round() as usize;
        prop_assert_eq!(point.customers as usize, k);
        prop_assert_eq!(point.cumulative_value_minor, desc[..k].iter().sum::<i64>());
    }
    let best = (0..=desc.len())
        .map(|k| desc[..k].iter().sum::<i64>())
        .max()
        .unwrap_or(0);
    prop_assert_eq!(got.peak.cumulative_value_minor, best);
    Ok(())
}

fn plain_median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn check_groups(summaries: &[CustomerSummary]) -> Result<(), TestCaseError> {
    let got = value_group::assign_summaries(summaries, &ValueGroupConfig::default()).unwrap();
    let active: Vec<&CustomerSummary> = summaries.iter().filter(|s| s.order_count > 0).collect();
    let f_median = plain_median(active.iter().map(|s| f64::from(s.order_count)).collect());
    let v_median = plain_median(
        active
            .iter()
            .map(|s| s.total_amount_minor as f64 / f64::from(s.order_count))
            .collect(),
    );
    for (s, r) in summaries.iter().zip(&got.records) {
        let want = if s.order_count == 0 {
            ValueGroup::A
        } else {
            let f_high = f64::from(s.order_count) > f_median.unwrap();
            let v_high = s.total_amount_minor as f64 / f64::from(s.order_count) > v_median.unwrap();
            match (f_high, v_high) {
                (false, false) => ValueGroup::B,
                (true, false) => ValueGroup::C,
                (false, true) => ValueGroup::D,
                (true, true) => ValueGroup::E,
            }
        };
        prop_assert_eq!(r.group, want);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rfm_scores_and_segments_equal_a_direct_computation(orders in orders_strategy()) {
        check_rfm(&orders)?;
    }

    #[test]
    fn rfm_does_not_depend_on_the_order_of_the_input(orders in orders_strategy()) {
        let config = RfmConfig::new(as_of(), WINDOW_DAYS).unwrap();
        let mut reversed = orders.clone();
        reversed.reverse();
        prop_assert_eq!(
            rfm::analyze_orders(&orders, &config).unwrap(),
            rfm::analyze_orders(&reversed, &config).unwrap()
        );
    }

    #[test]
    fn summaries_equal_a_direct_computation(orders in orders_strategy()) {
        let window = Window::new(as_of(), WINDOW_DAYS).unwrap();
        let got = summarize_orders(&orders, &window).unwrap();
        let plain = plain_totals(&orders);
        prop_assert_eq!(got.len(), plain.len());
        for (s, (id, p)) in got.iter().zip(&plain) {
            let mut days = p.purchase_dates.clone();
            days.sort();
            days.dedup();
            prop_assert_eq!(s.customer_id, *id);
            prop_assert_eq!(s.order_count as usize, p.purchase_dates.len());
            prop_assert_eq!(s.purchase_days as usize, days.len());
            prop_assert_eq!(s.first_order, days.first().copied());
            prop_assert_eq!(s.last_order, days.last().copied());
            prop_assert_eq!(s.total_amount_minor, p.amount);
            prop_assert_eq!(s.total_profit_minor, p.profit);
        }
    }

    #[test]
    fn pyramid_layers_shares_and_curve_equal_a_direct_computation(
        values in proptest::collection::vec(prop_oneof![Just(0i64), -50i64..50, 0i64..1000], 0..120),
        head in 0u32..60,
        waist in 0u32..40,
    ) {
        check_pyramid(&values, head, waist)?;
    }

    #[test]
    fn pyramid_from_orders_by_profit_equals_ranking_the_direct_profit(orders in orders_strategy()) {
        let window = Window::new(as_of(), WINDOW_DAYS).unwrap();
        let config = PyramidConfig { basis: PyramidBasis::Profit, ..PyramidConfig::default() };
        let got = pyramid::analyze_orders(&orders, &window, &config).unwrap();
        let plain = plain_totals(&orders);
        let values: Vec<i64> = plain.values().map(|p| p.profit).collect();
        prop_assert_eq!(got.members.iter().map(|m| m.value_minor).collect::<Vec<_>>(), values.clone());
        check_pyramid(&values, 10, 30)?;
    }

    #[test]
    fn value_groups_equal_a_direct_computation(orders in orders_strategy(), idle in 0usize..5) {
        let window = Window::new(as_of(), WINDOW_DAYS).unwrap();
        let mut summaries = summarize_orders(&orders, &window).unwrap();
        // Customers who never ordered are part of the book too.
        summaries.extend((0..idle).map(|i| CustomerSummary::without_orders(-1 - i as i64)));
        check_groups(&summaries)?;
    }
}

/// The one-pass measures of a grouped book against the four stream
/// functions they stand in for.
fn check_profiles(
    orders: &[Order],
    window_days: u32,
    lifecycle_days: u32,
    calibration_back: u64,
) -> Result<(), TestCaseError> {
    let window = Window::new(as_of(), window_days).unwrap();
    let previous = Window::new(as_of() - Days::new(u64::from(window_days)), window_days).unwrap();
    let lifecycle = LifecycleConfig {
        window_days: lifecycle_days,
        ..LifecycleConfig::new(as_of())
    };
    let calibration_end = as_of() - Days::new(calibration_back);
    let periods = Periods {
        window,
        previous,
        lifecycle,
        calibration_end,
        unit: TimeUnit::Weeks,
    };
    // Shuffled by a reversal: the book groups and sorts by itself.
    let mut reversed = orders.to_vec();
    reversed.reverse();
    let got = profiles(&OrderBook::from_orders(&reversed), &periods).unwrap();
    // The same book read in two halves by id and appended, as a database
    // read hands it over.
    let pivot = orders.iter().map(|o| o.customer_id).sum::<i64>() / orders.len().max(1) as i64;
    let (low, high): (Vec<Order>, Vec<Order>) = reversed
        .iter()
        .cloned()
        .partition(|o| o.customer_id <= pivot);
    let mut halves = OrderBook::from_orders(&low);
    halves.append(OrderBook::from_orders(&high)).unwrap();
    prop_assert_eq!(&profiles(&halves, &periods).unwrap(), &got);
    prop_assert_eq!(&got.window, &summarize_orders(orders, &window).unwrap());
    let config = ValueGroupConfig::default();
    prop_assert_eq!(
        value_group::assign_measures(&got.previous, &config).unwrap(),
        value_group::assign_orders(orders, &previous, &config).unwrap()
    );
    prop_assert_eq!(
        &got.lifecycle,
        &lifecycle::inputs_from_orders(orders, &lifecycle).unwrap()
    );
    prop_assert_eq!(
        &got.calibration,
        &clv::calibration_summary(orders, calibration_end, TimeUnit::Weeks).unwrap()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn one_pass_over_a_grouped_book_equals_the_stream_functions(
        orders in orders_strategy(),
        window_days in 1u32..100,
        lifecycle_days in 1u32..100,
        calibration_back in 0u64..60,
    ) {
        check_profiles(&orders, window_days, lifecycle_days, calibration_back)?;
    }
}

/// The parallel, dense-index path (large inputs) against a plain map.
#[test]
fn large_inputs_take_the_parallel_path_and_agree_with_a_plain_map() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let orders: Vec<Order> = (0..400_000)
        .map(|_| {
            let r = next();
            Order {
                customer_id: (r % 50_000) as i64,
                date: as_of() + Days::new(5) - Days::new((r >> 20) % 200),
                amount_minor: ((r >> 40) % 2000) as i64 - 100,
                cost_minor: None,
            }
        })
        .collect();
    // The one-pass measures split the book over the cores too.
    check_profiles(&orders, WINDOW_DAYS, 180, 30).unwrap();
    let config = RfmConfig::new(as_of(), WINDOW_DAYS).unwrap();
    let got = rfm::values_from_orders(&orders, &config).unwrap();
    let plain = plain_totals(&orders);
    let plain: Vec<(i64, &Plain)> = plain
        .iter()
        .filter(|(_, p)| !p.purchase_dates.is_empty())
        .map(|(id, p)| (*id, p))
        .collect();
    assert_eq!(got.len(), plain.len());
    for (v, (id, p)) in got.iter().zip(plain) {
        assert_eq!(v.customer_id, id);
        assert_eq!(v.frequency as usize, p.purchase_dates.len());
        assert_eq!(v.monetary_minor, p.amount);
        assert_eq!(
            v.recency_days,
            (as_of() - *p.purchase_dates.iter().max().unwrap()).num_days()
        );
    }
}

/// A column of raw indicator values with many ties, missing values,
/// non-finite values, both zeros and extremes.
fn selection_column(n: usize) -> impl Strategy<Value = Vec<Option<f64>>> {
    let value = prop_oneof![
        4 => (0i32..6).prop_map(|v| Some(f64::from(v) * 2.5)),
        2 => (-1000i32..1000).prop_map(|v| Some(f64::from(v) / 7.0)),
        1 => Just(Some(-0.0)),
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        // A spread too wide for min-max: its scores are NaN both ways.
        1 => prop_oneof![Just(Some(1e308)), Just(Some(-1e308))],
    ];
    proptest::collection::vec(value, n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Sorting each column once gives the scores and distributions of
    /// looking every value up in the column's distribution, to the bit.
    #[test]
    fn ranking_sorted_columns_equals_searching_the_distributions(
        (revenue, risk, fit) in (0usize..60).prop_flat_map(|n| {
            (selection_column(n), selection_column(n), selection_column(n))
        }),
        percentile in any::<bool>(),
    ) {
        use kehu_analytics::selection::{self, Indicator, Normalization, SelectionConfig};
        let n = revenue.len();
        let mut config = SelectionConfig::new(
            vec![Indicator::higher("revenue", 3.0), Indicator::lower("risk", 1.0)],
            // The same column twice, and an indicator without a column.
            vec![
                Indicator::higher("fit", 1.0),
                Indicator::lower("fit", 0.5),
                Indicator::higher("absent", 1.0),
            ],
        );
        if percentile {
            config.normalization = Normalization::Percentile;
        }
        let columns: BTreeMap<String, Vec<Option<f64>>> = [
            ("revenue".to_owned(), revenue),
            ("risk".to_owned(), risk),
            ("fit".to_owned(), fit),
        ]
        .into();
        let (fast, dists) = selection::score_columns_exact(n, &columns, &config).unwrap();
        let searched = selection::distributions(&columns, &config);
        prop_assert_eq!(&dists, &searched);
        let slow = selection::score_columns_in(n, &columns, &config, &searched).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&fast.normalized), bits(&slow.normalized));
        prop_assert_eq!(bits(&fast.points), bits(&slow.points));
        prop_assert_eq!(bits(&fast.value_score), bits(&slow.value_score));
        prop_assert_eq!(bits(&fast.capability_score), bits(&slow.capability_score));
        prop_assert_eq!(fast.quadrant, slow.quadrant);
    }
}
