//! Timing harness for the analytics models on generated data.
//!
//! ```text
//! cargo bench -p kehu-analytics --bench analytics                      # 1M customers, 10M orders
//! cargo bench -p kehu-analytics --bench analytics -- --customers 100000 --orders 1000000
//! ```
//!
//! The generator is a seeded xorshift so every run sees the same data:
//! customers join uniformly over two years, stay active for an exponential
//! lifetime, and place a heavy-tailed (log-normal) number of orders spread
//! over that lifetime; order values are log-normal around a log-normal
//! customer mean, with 4% refunds and 1% zero-value orders. Orders are
//! shuffled, so consecutive orders belong to unrelated customers, as in an
//! export sorted by order id. Each step runs several times and the fastest
//! and median wall-clock times are reported.
//!
//! For the side-by-side comparison with other tools
//! (`scripts/compare_peers.py`), `--orders-out FILE` writes the generated
//! orders as CSV (`customer_id,day,amount_minor,cost_minor`, days since
//! 1970-01-01), `--summary-out FILE` the CLV input summary
//! (`customer_id,x,t_x,T,zbar`, weeks and minor units), and `--report
//! FILE` the timings and fitted parameters as JSON.

use std::hint::black_box;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use kehu_analytics::clv::{self, ClvConfig, RepeatSummary, TimeUnit};
use kehu_analytics::pyramid::{self, PyramidBasis, PyramidConfig};
use kehu_analytics::rfm::{self, RfmConfig};
use kehu_analytics::value_group::{self, ValueGroupConfig};
use kehu_analytics::{summarize_orders, Order, Window};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn log_normal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }
}

fn generate(customers: usize, orders: usize, as_of: NaiveDate) -> Vec<Order> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mean = orders as f64 / customers as f64;
    let sigma: f64 = 1.1;
    let mu = (mean - 0.5).max(0.1).ln() - sigma * sigma / 2.0;
    let mut counts: Vec<usize> = (0..customers)
        .map(|_| 1 + rng.log_normal(mu, sigma).floor() as usize)
        .collect();
    // Trim or pad so the total is exactly `orders`.
    let mut total: usize = counts.iter().sum();
    while total != orders {
        let i = rng.below(customers as u64) as usize;
        if total > orders && counts[i] > 1 {
            counts[i] -= 1;
            total -= 1;
        } else if total < orders {
            counts[i] += 1;
            total += 1;
        }
    }
    let horizon = 730u64;
    let mut out = Vec::with_capacity(orders);
    for (c, &n) in counts.iter().enumerate() {
        let joined = rng.below(horizon);
        let lifetime = (-rng.uniform().ln() * 400.0) as u64 + 1;
        let active_days = lifetime.min(joined + 1);
        let spend = rng.log_normal(8.0, 0.8); // about 30 currency units in cents
        for _ in 0..n {
            let ago = joined - rng.below(active_days);
            let kind = rng.below(100);
            let amount = if kind < 1 {
                0
            } else {
                let v = (spend * rng.log_normal(0.0, 0.5)).round() as i64 + 1;
                if kind < 5 {
                    -v
                } else {
                    v
                }
            };
            out.push(Order {
                customer_id: c as i64 + 1,
                date: as_of - Days::new(ago),
                amount_minor: amount,
                cost_minor: (amount > 0).then(|| amount * (55 + rng.below(40) as i64) / 100),
            });
        }
    }
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// Every timed step: (label, best ms, median ms, runs).
static TIMINGS: Mutex<Vec<(String, f64, f64, usize)>> = Mutex::new(Vec::new());

fn path_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn time<T>(label: &str, runs: usize, mut f: impl FnMut() -> T) -> T {
    // `--only TEXT` times just the steps whose label contains TEXT (the
    // others still run once, untimed, when later steps need their output).
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let runs = match only {
        Some(text) if !label.contains(text.as_str()) => return f(),
        _ => runs,
    };
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = black_box(f());
        times.push(start.elapsed());
        last = Some(out);
    }
    times.sort();
    if let Ok(mut t) = TIMINGS.lock() {
        t.push((
            label.to_owned(),
            times[0].as_secs_f64() * 1e3,
            times[runs / 2].as_secs_f64() * 1e3,
            runs,
        ));
    }
    println!(
        "{label:<44} best {:>9.1} ms   median {:>9.1} ms   ({runs} runs)",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3
    );
    match last {
        Some(v) => v,
        None => f(),
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; under `cargo test` the same binary
    // runs as a quick smoke test of every step.
    let full = std::env::args().any(|a| a == "--bench");
    let customers = arg("--customers", if full { 1_000_000 } else { 2_000 });
    let orders_n = arg("--orders", if full { 10_000_000 } else { 20_000 });
    let runs = arg("--runs", if full { 5 } else { 1 });
    let as_of = NaiveDate::from_ymd_opt(2024, 12, 31).ok_or("date")?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "kehu-analytics benchmark: {customers} customers, {orders_n} orders, {threads} threads"
    );

    let started = Instant::now();
    let orders = generate(customers, orders_n, as_of);
    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    if let Some(path) = path_arg("--orders-out") {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("date")?;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(w, "customer_id,day,amount_minor,cost_minor")?;
        for o in &orders {
            let cost = o.cost_minor.map(|c| c.to_string()).unwrap_or_default();
            writeln!(
                w,
                "{},{},{},{cost}",
                o.customer_id,
                (o.date - epoch).num_days(),
                o.amount_minor
            )?;
        }
        w.flush()?;
        println!("orders written to {path}");
    }

    let window = Window::new(as_of, 365)?;
    let rfm_config = RfmConfig::new(as_of, 365)?;
    let rfm = time("RFM + segments (orders)", runs, || {
        rfm::analyze_orders(&orders, &rfm_config)
    });
    let rfm = rfm?;
    let revenue = PyramidConfig::default();
    let pyramid = time("pyramid + Pareto curve, revenue (orders)", runs, || {
        pyramid::analyze_orders(&orders, &window, &revenue)
    })?;
    let profit = PyramidConfig {
        basis: PyramidBasis::Profit,
        ..PyramidConfig::default()
    };
    let whale = time("pyramid + whale curve, profit (orders)", runs, || {
        pyramid::analyze_orders(&orders, &window, &profit)
    })?;
    time("A-E groups (orders)", runs, || {
        value_group::assign_orders(&orders, &window, &ValueGroupConfig::default())
    })?;
    let summaries = time("per-customer summaries with distinct days", runs, || {
        summarize_orders(&orders, &window)
    })?;
    time("RFM + segments (summaries)", runs, || {
        rfm::analyze_summaries(&summaries, &rfm_config)
    })?;

    let calibration_end = as_of - Days::new(182);
    let repeat: Vec<RepeatSummary> = time(
        "CLV input: calibration summary (weeks)",
        runs.min(3),
        || clv::calibration_summary(&orders, calibration_end, TimeUnit::Weeks),
    )?;
    if let Some(path) = path_arg("--summary-out") {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(w, "customer_id,x,t_x,T,zbar")?;
        for c in &repeat {
            writeln!(
                w,
                "{},{},{},{},{}",
                c.customer_id, c.frequency, c.recency, c.age, c.monetary
            )?;
        }
        w.flush()?;
        println!("CLV summary written to {path}");
    }
    let bg = time("BG/NBD fit", runs.min(3), || clv::bgnbd::fit(&repeat))?;
    let gg = time("Gamma-Gamma fit", runs.min(3), || {
        clv::gamma_gamma::fit(&repeat)
    })?;
    let config = ClvConfig::for_unit(TimeUnit::Weeks);
    let predictions = time("CLV predictions, 12 months", runs.min(3), || {
        clv::predict(&bg.params, &gg.params, &repeat, &config)
    })?;

    println!();
    println!(
        "RFM: {} customers scored, breakpoints {:?}",
        rfm.records.len(),
        rfm.breakpoints
    );
    println!(
        "pyramid revenue shares: {:?}",
        pyramid
            .layers
            .iter()
            .map(|l| (l.layer.key(), l.customers, l.value_share))
            .collect::<Vec<_>>()
    );
    println!("whale peak: {:?}", whale.peak);
    println!(
        "BG/NBD on {} customers ({} repeat): {:?}, LL {:.1}, {} iterations",
        bg.customers, bg.repeat_customers, bg.params, bg.log_likelihood, bg.iterations
    );
    println!(
        "Gamma-Gamma on {} customers: {:?}, {} iterations",
        gg.customers, gg.params, gg.iterations
    );
    let mean_clv = predictions.iter().map(|p| p.clv).sum::<f64>() / predictions.len().max(1) as f64;
    println!("mean 12-month CLV {:.0} minor units", mean_clv);

    // The published CDNOW fit, for scale.
    let cdnow = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdnow_summary.csv"
    ))?;
    let cdnow: Vec<RepeatSummary> = cdnow
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            Some(RepeatSummary {
                customer_id: f.first()?.parse().ok()?,
                frequency: f.get(1)?.parse().ok()?,
                recency: f.get(2)?.parse().ok()?,
                age: f.get(3)?.parse().ok()?,
                monetary: f.get(4)?.parse().ok()?,
            })
        })
        .collect();
    let fit = time("CDNOW: BG/NBD + Gamma-Gamma fit (2,357)", runs, || {
        clv::fit(&cdnow)
    })?;
    println!(
        "CDNOW BG/NBD {:?} LL {:.2}",
        fit.bg_nbd.params, fit.bg_nbd.log_likelihood
    );
    println!("CDNOW Gamma-Gamma {:?}", fit.gamma_gamma.params);

    // The CDNOW sample transaction log (6,919 orders of 2,357 customers),
    // as of the end of the published data.
    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdnow_sample_transactions.txt"
    ))?;
    let cdnow_orders: Vec<Order> = log
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dollars: f64 = f.get(4)?.parse().ok()?;
            Some(Order {
                customer_id: f.get(1)?.parse().ok()?,
                date: NaiveDate::parse_from_str(f.get(2)?, "%Y%m%d").ok()?,
                amount_minor: (dollars * 100.0).round() as i64,
                cost_minor: None,
            })
        })
        .collect();
    println!("CDNOW transactions: {} orders", cdnow_orders.len());
    let cdnow_as_of = NaiveDate::from_ymd_opt(1998, 6, 30).ok_or("date")?;
    let cdnow_rfm = RfmConfig::new(cdnow_as_of, 365)?;
    let cdnow_window = Window::new(cdnow_as_of, 365)?;
    time("CDNOW: RFM + segments (orders)", runs, || {
        rfm::analyze_orders(&cdnow_orders, &cdnow_rfm)
    })?;
    time("CDNOW: pyramid + Pareto curve (orders)", runs, || {
        pyramid::analyze_orders(&cdnow_orders, &cdnow_window, &revenue)
    })?;

    if let Some(path) = path_arg("--report") {
        let steps: Vec<serde_json::Value> = TIMINGS
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(label, best, median, runs)| {
                serde_json::json!({"step": label, "best_ms": best, "median_ms": median, "runs": runs})
            })
            .collect();
        let report = serde_json::json!({
            "customers": customers,
            "orders": orders_n,
            "as_of": as_of.to_string(),
            "window_days": 365,
            "calibration_end": calibration_end.to_string(),
            "threads": threads,
            "steps": steps,
            "bg_nbd": {"params": bg.params, "log_likelihood": bg.log_likelihood, "customers": bg.customers},
            "gamma_gamma": {"params": gg.params, "customers": gg.customers},
            "cdnow": {"bg_nbd": fit.bg_nbd.params, "gamma_gamma": fit.gamma_gamma.params},
            // segment_grid[r - 1][fm - 1]: the segment of R and FM = (F + M) / 2.
            "segment_grid": (1..=5u8)
                .map(|r| {
                    (1..=5u8)
                        .map(|fm| rfm::RfmScores { r, f: fm, m: fm }.segment().key())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
        });
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
        println!("report written to {path}");
    }
    Ok(())
}
