//! `kehu analyze --orders` on a transactions file, end to end: the CDNOW
//! sample of Fader, Hardie & Lee (2005) gives back the published BG/NBD and
//! Gamma-Gamma estimates, and a file with bad rows is refused line by line
//! with nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn kehu() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kehu"));
    c.env("KEHU_LOG", "error");
    c
}

/// CDNOW_sample.txt (new id, customer id, yyyymmdd, CDs, dollars) as the
/// CSV an analyst would export.
fn cdnow_csv(to: &Path) {
    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kehu-analytics/tests/fixtures/cdnow_sample_transactions.txt"
    ))
    .unwrap();
    let mut csv = String::from("customer_id,date,amount\n");
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = f[2];
        csv.push_str(&format!(
            "{},{}-{}-{},{}\n",
            f[1],
            &d[..4],
            &d[4..6],
            &d[6..],
            f[4]
        ));
    }
    std::fs::write(to, csv).unwrap();
}

fn within(got: f64, published: f64, rel: f64) -> bool {
    ((got - published) / published).abs() <= rel
}

#[test]
fn cdnow_transactions_give_the_published_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cdnow.csv");
    cdnow_csv(&input);
    let out = dir.path().join("results");
    let run = kehu()
        .args(["analyze", "--orders"])
        .arg(&input)
        .args([
            "--as-of",
            "1998-06-30",
            "--calibration-end",
            "1997-09-30",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    // Fader, Hardie & Lee (2005), section 5: r = 0.243, alpha = 4.414,
    // a = 0.793, b = 2.426, LL = -9582.4 (time in weeks).
    let bg = &summary["clv_models"]["bg_nbd"];
    let p = |k: &str| bg["params"][k].as_f64().unwrap();
    for (k, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        assert!(within(p(k), published, 0.01), "{k} = {}", p(k));
    }
    let ll = bg["log_likelihood"].as_f64().unwrap();
    assert!((ll - -9582.4).abs() <= 0.1, "LL {ll}");
    assert_eq!(bg["customers"], 2357);
    // Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value":
    // p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat customers
    // (our values are in cents, so gamma is 100 times larger).
    let gg = &summary["clv_models"]["gamma_gamma"];
    let g = |k: &str| gg["params"][k].as_f64().unwrap();
    assert_eq!(gg["customers"], 946);
    assert!(within(g("p"), 6.25, 0.01), "p = {}", g("p"));
    assert!(within(g("q"), 3.74, 0.01), "q = {}", g("q"));
    assert!(
        within(g("gamma") / 100.0, 15.44, 0.01),
        "gamma = {}",
        g("gamma")
    );

    // One line per customer, with the holdout columns.
    let customers = std::fs::read_to_string(out.join("customers.csv")).unwrap();
    let mut lines = customers.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(header.contains(&"holdout_purchase_days") && header.contains(&"probability_alive"));
    assert_eq!(lines.count(), 2357);
}

#[test]
fn a_file_with_bad_rows_is_refused_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    std::fs::write(
        &input,
        "客户编号,日期,金额\nC1,2026-01-05,100\nC1,2026-13-01,100\nC2,2026-02-01,abc\n,2026-02-02,5\n",
    )
    .unwrap();
    let out = dir.path().join("results");
    let run = kehu()
        .args(["analyze", "--orders"])
        .arg(&input)
        .args(["--as-of", "2026-06-30", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    for expected in [
        "line 3, date",
        "line 4, amount",
        "line 5, customer_id",
        "3 bad rows",
    ] {
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
    assert!(!out.exists(), "nothing is written");
}
