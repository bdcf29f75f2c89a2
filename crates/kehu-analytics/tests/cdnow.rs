//! Published results on the CDNOW sample, and agreement with `lifetimes`.
//!
//! Data: `tests/fixtures/` (see its README): the 2,357-customer CDNOW
//! cohort sample with a 39-week calibration period ending 1997-09-30, time
//! in weeks.

// Test helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use kehu_analytics::clv::{
    self, bgnbd, gamma_gamma, BgNbdParams, ClvConfig, GammaGammaParams, RepeatSummary, TimeUnit,
};
use kehu_analytics::Order;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

/// `cdnow_summary.csv`: ID, x, t_x, T, zbar.
fn cdnow_summary() -> Vec<RepeatSummary> {
    read("cdnow_summary.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.trim().split(',').collect();
            RepeatSummary {
                customer_id: f[0].parse().unwrap(),
                frequency: f[1].parse().unwrap(),
                recency: f[2].parse().unwrap(),
                age: f[3].parse().unwrap(),
                monetary: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn within(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

/// Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An
/// Alternative to the Pareto/NBD Model", Marketing Science 24(2), Table 1
/// (BG/NBD column): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
/// LL = -9582.4, fitted to the 2,357 CDNOW customers over 39 weeks.
#[test]
fn bg_nbd_reproduces_fader_hardie_lee_2005_table_1() {
    let data = cdnow_summary();
    assert_eq!(data.len(), 2357);
    let fit = bgnbd::fit(&data).unwrap();
    let p = fit.params;
    for (name, got, want) in [
        ("r", p.r, 0.243),
        ("alpha", p.alpha, 4.414),
        ("a", p.a, 0.793),
        ("b", p.b, 2.426),
    ] {
        assert!(within(got, want, 0.01), "{name}: {got} vs published {want}");
    }
    assert!(
        (fit.log_likelihood - -9582.4).abs() <= 0.1,
        "LL {}",
        fit.log_likelihood
    );
    assert_eq!(fit.customers, 2357);
    assert_eq!(fit.repeat_customers, 946);
}

/// Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value"
/// (brucehardie.com note 025), estimates for the 946 CDNOW customers with
/// at least one repeat purchase: p = 6.25, q = 3.74, gamma = 15.44 (the
/// spend model first used in Fader, Hardie & Lee 2005, "RFM and CLV: Using
/// Iso-Value Curves for Customer Base Analysis", JMR 42(4)).
#[test]
fn gamma_gamma_reproduces_fader_hardie_2013() {
    let data = cdnow_summary();
    let fit = gamma_gamma::fit(&data).unwrap();
    assert_eq!(fit.customers, 946);
    let p = fit.params;
    for (name, got, want) in [
        ("p", p.p, 6.25),
        ("q", p.q, 3.74),
        ("gamma", p.gamma, 15.44),
    ] {
        assert!(within(got, want, 0.01), "{name}: {got} vs published {want}");
    }
}

/// Building the summary from the raw transactions reproduces the published
/// summary: same repeat counts, t_x and T to the two decimals of the file,
/// mean repeat spend to the cent.
#[test]
fn summary_from_the_transaction_log_matches_the_published_summary() {
    // CDNOW_sample.txt: new id, original id, yyyymmdd, CDs, dollars.
    let orders: Vec<Order> = read("cdnow_sample_transactions.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dollars: f64 = f[4].parse().unwrap();
            Order {
                customer_id: f[1].parse().unwrap(),
                date: NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap(),
                amount_minor: (dollars * 100.0).round() as i64,
                cost_minor: None,
            }
        })
        .collect();
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
    let built = clv::calibration_summary(&orders, end, TimeUnit::Weeks).unwrap();
    let published = cdnow_summary();
    assert_eq!(built.len(), published.len());
    for (b, p) in built.iter().zip(&published) {
        assert_eq!(b.customer_id, p.customer_id);
        assert_eq!(b.frequency, p.frequency, "customer {}", p.customer_id);
        assert!(
            (b.recency - p.recency).abs() < 0.0051,
            "customer {} t_x {} vs {}",
            p.customer_id,
            b.recency,
            p.recency
        );
        assert!(
            (b.age - p.age).abs() < 0.0051,
            "customer {} T {} vs {}",
            p.customer_id,
            b.age,
            p.age
        );
        assert!(
            (b.monetary / 100.0 - p.monetary).abs() < 0.0051,
            "customer {} zbar {} vs {}",
            p.customer_id,
            b.monetary,
            p.monetary
        );
    }
}

struct Reference {
    id: i64,
    expected_purchases_39w: f64,
    p_alive: f64,
    expected_average_value: f64,
    clv_12m: f64,
}

/// `lifetimes_reference.csv`, written by `scripts/compare_lifetimes.py`.
fn lifetimes_reference() -> Vec<Reference> {
    read("lifetimes_reference.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<f64> = line.trim().split(',').map(|v| v.parse().unwrap()).collect();
            Reference {
                id: f[0] as i64,
                expected_purchases_39w: f[1],
                p_alive: f[2],
                expected_average_value: f[3],
                clv_12m: f[4],
            }
        })
        .collect()
}

/// Largest relative difference between our predictions and lifetimes'.
fn max_relative_difference(bg: &BgNbdParams, gg: &GammaGammaParams) -> [f64; 4] {
    let data = cdnow_summary();
    let reference = lifetimes_reference();
    assert_eq!(data.len(), reference.len());
    // lifetimes counts 4.345 weeks per month.
    let config = ClvConfig {
        horizon_months: 12,
        monthly_discount_rate: 0.01,
        periods_per_month: 4.345,
    };
    let records = clv::predict(bg, gg, &data, &config).unwrap();
    let rel = |a: f64, b: f64| if a == b { 0.0 } else { (a - b).abs() / b.abs() };
    let mut worst = [0.0f64; 4];
    for ((c, ours), theirs) in data.iter().zip(&records).zip(&reference) {
        assert_eq!(c.customer_id, theirs.id);
        let e39 = bg.conditional_expected_purchases(c, 39.0).unwrap();
        let diffs = [
            rel(e39, theirs.expected_purchases_39w),
            rel(ours.probability_alive, theirs.p_alive),
            rel(ours.expected_average_value, theirs.expected_average_value),
            rel(ours.clv, theirs.clv_12m),
        ];
        for (w, d) in worst.iter_mut().zip(diffs) {
            *w = w.max(d);
        }
    }
    worst
}

/// Per-customer predictions from our own fit agree with lifetimes 0.11.3
/// (its own fit) within 0.1% relative: expected purchases over 39 weeks,
/// probability alive, expected average order value and 12-month CLV.
#[test]
fn predictions_agree_with_lifetimes_within_a_tenth_of_a_percent() {
    let data = cdnow_summary();
    let models = clv::fit(&data).unwrap();
    let worst = max_relative_difference(&models.bg_nbd.params, &models.gamma_gamma.params);
    for (name, w) in ["expected purchases", "P(alive)", "average value", "CLV"]
        .iter()
        .zip(worst)
    {
        assert!(w < 1e-3, "{name}: worst relative difference {w}");
    }
}

/// With lifetimes' own parameters (from `lifetimes_reference.json`), the
/// formulas agree to near machine precision, so any remaining difference
/// above comes from where each optimiser stopped.
#[test]
fn prediction_formulas_match_lifetimes_given_the_same_parameters() {
    let bg = BgNbdParams {
        r: 0.2425929282798217,
        alpha: 4.413532265271817,
        a: 0.7928859664406721,
        b: 2.4257523826257996,
    };
    let gg = GammaGammaParams {
        p: 6.248802496072247,
        q: 3.744588460923599,
        gamma: 15.447748064939473,
    };
    let worst = max_relative_difference(&bg, &gg);
    for (name, w) in ["expected purchases", "P(alive)", "average value", "CLV"]
        .iter()
        .zip(worst)
    {
        assert!(w < 1e-9, "{name}: worst relative difference {w}");
    }
    let ll = bg.log_likelihood(&cdnow_summary()).unwrap();
    assert!((ll - -9582.425560567366).abs() < 1e-6, "{ll}");
}

/// A daily run starts its fit at the previous day's parameters: the search
/// ends at the same optimum as from the default start, in fewer steps.
#[test]
fn a_fit_started_at_earlier_parameters_finds_the_same_optimum() {
    let data = cdnow_summary();
    let cold = clv::fit(&data).unwrap();
    // Yesterday's parameters: a few percent off today's optimum.
    let mut earlier = cold;
    earlier.bg_nbd.params.r *= 1.04;
    earlier.bg_nbd.params.alpha *= 0.97;
    earlier.bg_nbd.params.a *= 1.05;
    earlier.bg_nbd.params.b *= 0.96;
    earlier.gamma_gamma.params.p *= 1.03;
    earlier.gamma_gamma.params.q *= 0.98;
    earlier.gamma_gamma.params.gamma *= 1.02;
    let warm = clv::fit_from(&data, Some(&earlier)).unwrap();
    let (c, w) = (&cold.bg_nbd.params, &warm.bg_nbd.params);
    for (name, a, b) in [
        ("r", c.r, w.r),
        ("alpha", c.alpha, w.alpha),
        ("a", c.a, w.a),
        ("b", c.b, w.b),
    ] {
        assert!(within(b, a, 1e-4), "{name}: cold {a}, warm {b}");
    }
    let (c, w) = (&cold.gamma_gamma.params, &warm.gamma_gamma.params);
    for (name, a, b) in [
        ("p", c.p, w.p),
        ("q", c.q, w.q),
        ("gamma", c.gamma, w.gamma),
    ] {
        assert!(within(b, a, 1e-4), "{name}: cold {a}, warm {b}");
    }
    assert!(
        (warm.bg_nbd.log_likelihood - cold.bg_nbd.log_likelihood).abs() < 1e-4,
        "{} vs {}",
        warm.bg_nbd.log_likelihood,
        cold.bg_nbd.log_likelihood
    );
    assert!(
        warm.bg_nbd.iterations < cold.bg_nbd.iterations,
        "warm {} vs cold {} iterations",
        warm.bg_nbd.iterations,
        cold.bg_nbd.iterations
    );
}
