//! Screenshots of the real UI on demo data, for the README:
//!
//! ```text
//! cargo run -p kehu-testkit --example screenshots
//! ```
//!
//! Fills a temporary SQLite database with the demo organisation (2,000
//! customers, history ending 2026-11-22), runs the customer value
//! analysis, serves it, logs in as a sales
//! manager in headless Chromium and writes `docs/screenshots/*.png`.
#![allow(clippy::expect_used)]

use std::path::Path;

use kehu_testkit::browser::Browser;
use kehu_testkit::{TestApp, TestDb};

#[tokio::main]
async fn main() {
    let db = TestDb::new(kehu_storage::Engine::Sqlite)
        .await
        .expect("a temporary SQLite database");
    let app = TestApp::spawn(&db).await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date");
    let cfg = kehu_core::demo::DemoConfig::new(2_000, today);
    kehu_core::demo::fill(&app.store, &cfg, &|_| {})
        .await
        .expect("demo data");
    kehu_core::analysis::run_on_store(&app.store, &kehu_core::analysis::AnalysisConfig::new(today))
        .await
        .expect("the analysis");
    let manager = app
        .store
        .users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.role == kehu_domain::Role::Manager)
        .expect("a demo manager");

    let mut b = Browser::launch("readme", "zh-CN")
        .await
        .expect("chromium and chromedriver (apt-get install chromium chromium-driver)");
    b.set_window(1280, 900).await;
    let base = &app.base;
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=username]", &manager.username).await;
    b.fill("input[name=password]", kehu_core::demo::DEMO_PASSWORD)
        .await;
    b.click("button[type=submit]").await;
    b.wait_text("经营概览").await;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&out).expect("docs/screenshots");
    let keep = |from: &Path, name: &str| {
        let to = out.join(name);
        std::fs::copy(from, &to).expect("copy the screenshot");
        println!("{}", to.display());
    };
    keep(&b.screenshot("dashboard").await, "dashboard.png");

    // The customer with the most spend in the manager's team.
    b.goto(&format!("{base}/customers?sort=total_amount&dir=desc"))
        .await;
    b.wait_text("客户列表").await;
    b.click("table tbody tr td a").await;
    b.wait_text("联系人").await;
    keep(&b.screenshot("customer").await, "customer.png");

    // The value analysis as the admin sees it, with the company-wide curves.
    b.click("header form[action='/logout'] button").await;
    b.wait_text("登录").await;
    b.fill("input[name=username]", kehu_core::demo::DEMO_ADMIN)
        .await;
    b.fill("input[name=password]", kehu_core::demo::DEMO_PASSWORD)
        .await;
    b.click("button[type=submit]").await;
    b.wait_text("经营概览").await;
    b.set_window(1280, 2400).await;
    b.goto(&format!("{base}/analytics")).await;
    b.wait_text("客户金字塔").await;
    keep(&b.screenshot("analytics").await, "analytics.png");
    b.close().await;
    db.cleanup().await;
}
