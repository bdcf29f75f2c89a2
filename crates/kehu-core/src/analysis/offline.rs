//! The same models on a transactions file, without a database: for
//! analysts, and to compare Kehu with other tools on the same data.
//!
//! Input: CSV or XLSX with a header row and the columns `customer_id`,
//! `date` and `amount` (negative for refunds), optionally `cost`; Chinese
//! headers 客户编号 / 日期 / 金额 / 成本 work too. Every row is one completed
//! order. Output, in the chosen folder:
//!
//! * `customers.csv`: one line per customer with every model's result and
//!   the CLV inputs (`x`, `t_x`, `T` in weeks, mean repeat value); with a
//!   calibration end before the as-of date, also the purchase days in the
//!   holdout period and the number BG/NBD expected;
//! * `summary.json`: settings, layer shares and curves, the RFM grid and
//!   segments, A–E counts and migration, lifecycle counts, and the fitted
//!   BG/NBD and Gamma-Gamma parameters with their log-likelihood.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use kehu_analytics::Order;
use kehu_domain::inputs::parse_date;
use kehu_domain::money::parse_amount;
use serde::Serialize;

use super::{compute, AnalysisConfig, AnalysisError, Inputs};
use crate::import::read::{open, Source};

/// Header names accepted for each column (compared case-insensitively).
const CUSTOMER: &[&str] = &["customer_id", "customer", "客户编号", "客户id", "客户"];
const DATE: &[&str] = &["date", "order_date", "日期", "下单日期", "订单日期"];
const AMOUNT: &[&str] = &["amount", "value", "金额", "订单金额"];
const COST: &[&str] = &["cost", "成本"];

/// A bad line of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

/// What an offline run read and wrote.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineReport {
    pub customers: u64,
    pub orders: u64,
    /// Orders dated after the as-of date, which the models ignore.
    pub orders_after_as_of: u64,
    pub clv_error: Option<String>,
}

/// The orders of a file, with customer keys mapped to dense ids `1..=n` in
/// order of first appearance.
pub struct OrderFile {
    pub orders: Vec<Order>,
    /// `keys[id - 1]` is the file's customer id.
    pub keys: Vec<String>,
}

/// Reads and checks the whole file; any bad row fails the read, and every
/// bad row is reported.
pub fn read_orders(source: &Source) -> Result<OrderFile, Result<Vec<BadRow>, AnalysisError>> {
    let fail = |m: String| Err(AnalysisError::Input(m));
    let mut table = match open(source) {
        Ok(t) => t,
        Err(e) => return Err(fail(e.to_string())),
    };
    let find = |names: &[&str]| {
        table
            .headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().to_lowercase() == *n))
    };
    let (Some(c_customer), Some(c_date), Some(c_amount)) =
        (find(CUSTOMER), find(DATE), find(AMOUNT))
    else {
        return Err(fail(format!(
            "the file needs the columns customer_id, date and amount; it has {:?}",
            table.headers
        )));
    };
    let c_cost = find(COST);
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut keys = Vec::new();
    let mut orders = Vec::new();
    let mut bad = Vec::new();
    for row in &mut table {
        let row = match row {
            Ok(r) => r,
            Err(e) => return Err(fail(e.to_string())),
        };
        let cell = |i: usize| row.cells.get(i).map_or("", |s| s.trim());
        let mut problem = |column: &str, reason: String| {
            bad.push(BadRow {
                line: row.line,
                column: column.to_owned(),
                reason,
            });
        };
        let key = cell(c_customer);
        if key.is_empty() {
            problem("customer_id", "customer_id is empty".into());
        }
        let date = parse_date("date", cell(c_date)).map_err(|e| problem("date", e.message));
        let amount =
            parse_amount("amount", cell(c_amount)).map_err(|e| problem("amount", e.message));
        let cost = match c_cost.map(cell).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_amount("cost", s)
                .map(Some)
                .map_err(|e| problem("cost", e.message)),
        };
        if let (false, Ok(date), Ok(amount_minor), Ok(cost_minor)) =
            (key.is_empty(), date, amount, cost)
        {
            let next = keys.len() as i64 + 1;
            let id = *ids.entry(key.to_owned()).or_insert_with(|| {
                keys.push(key.to_owned());
                next
            });
            orders.push(Order {
                customer_id: id,
                date,
                amount_minor,
                cost_minor,
            });
        }
    }
    if !bad.is_empty() {
        return Err(Ok(bad));
    }
    Ok(OrderFile { orders, keys })
}

/// Runs every model (selection scoring excepted: a transactions file says
/// nothing of our relationship with the customer) and writes the results
/// into `out`.
pub fn run(
    file: &OrderFile,
    config: &AnalysisConfig,
    out: &Path,
    computed_at: DateTime<Utc>,
) -> Result<OfflineReport, AnalysisError> {
    let io = |e: std::io::Error| AnalysisError::Input(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    let customers: Vec<i64> = (1..=file.keys.len() as i64).collect();
    let previous = Vec::new();
    let book = kehu_analytics::OrderBook::from_orders(&file.orders);
    let inputs = Inputs {
        customers: &customers,
        book: &book,
        relationships: None,
        previous_stages: &previous,
        pins: None,
        warm_start: None,
    };
    let outcome = compute(&inputs, config, computed_at)?;

    // Holdout: purchase days after the calibration end, up to the as-of date.
    let holdout = config.calibration_end < config.as_of;
    let mut holdout_days: Vec<Vec<NaiveDate>> = vec![Vec::new(); customers.len()];
    if holdout {
        for o in &file.orders {
            if o.amount_minor >= 0 && o.date > config.calibration_end && o.date <= config.as_of {
                holdout_days[(o.customer_id - 1) as usize].push(o.date);
            }
        }
        for d in &mut holdout_days {
            d.sort_unstable();
            d.dedup();
        }
    }
    let holdout_weeks = (config.as_of - config.calibration_end).num_days() as f64 / 7.0;
    let clv_input: HashMap<i64, &kehu_analytics::clv::RepeatSummary> = outcome
        .clv_inputs
        .iter()
        .map(|c| (c.customer_id, c))
        .collect();

    let path = out.join("customers.csv");
    let csv_err = |e: csv::Error| AnalysisError::Input(format!("{}: {e}", path.display()));
    let mut w = csv::Writer::from_path(&path).map_err(csv_err)?;
    let mut header = vec![
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "rfm_segment",
        "revenue",
        "profit",
        "pyramid_layer",
        "value_group",
        "lifecycle_stage",
        "lifecycle_reason",
        "x",
        "t_x",
        "T",
        "mean_repeat_value",
        "probability_alive",
        "expected_purchases",
        "expected_order_value",
        "clv",
    ];
    if holdout {
        header.extend(["holdout_purchase_days", "expected_holdout_purchases"]);
    }
    w.write_record(&header).map_err(csv_err)?;
    let money = |m: i64| kehu_domain::money::format_minor(m);
    let opt = |v: Option<String>| v.unwrap_or_default();
    let params = outcome.summary.clv_models.map(|m| m.bg_nbd.params);
    for r in &outcome.results {
        let id = r.customer_id.0;
        let c = clv_input.get(&id);
        let mut line = vec![
            file.keys[(id - 1) as usize].clone(),
            opt(r.recency_days.map(|v| v.to_string())),
            opt(r.frequency.map(|v| v.to_string())),
            opt(r.monetary_minor.map(money)),
            opt(r.r_score.map(|v| v.to_string())),
            opt(r.f_score.map(|v| v.to_string())),
            opt(r.m_score.map(|v| v.to_string())),
            opt(r.rfm_segment.as_deref().map(str::to_owned)),
            money(r.revenue_minor),
            money(r.profit_minor),
            opt(r.pyramid_layer.as_deref().map(str::to_owned)),
            r.value_group.to_string(),
            r.lifecycle_stage.to_string(),
            r.lifecycle_reason.to_string(),
            opt(c.map(|c| c.frequency.to_string())),
            opt(c.map(|c| c.recency.to_string())),
            opt(c.map(|c| c.age.to_string())),
            opt(c.map(|c| (c.monetary / 100.0).to_string())),
            opt(r.probability_alive.map(|v| v.to_string())),
            opt(r.expected_purchases.map(|v| v.to_string())),
            opt(r.expected_order_value_minor.map(money)),
            opt(r.clv_minor.map(money)),
        ];
        if holdout {
            line.push(holdout_days[(id - 1) as usize].len().to_string());
            let expected = match (params, c) {
                (Some(p), Some(c)) => p
                    .conditional_expected_purchases(c, holdout_weeks)
                    .ok()
                    .map(|v| v.to_string()),
                _ => None,
            };
            line.push(opt(expected));
        }
        w.write_record(&line).map_err(csv_err)?;
    }
    w.flush().map_err(io)?;

    let summary_path = out.join("summary.json");
    let json = serde_json::to_string_pretty(&outcome.summary)
        .map_err(|e| AnalysisError::Input(format!("summary: {e}")))?;
    std::fs::write(&summary_path, json).map_err(io)?;
    let after = file.orders.iter().filter(|o| o.date > config.as_of).count();
    Ok(OfflineReport {
        customers: customers.len() as u64,
        orders: file.orders.len() as u64,
        orders_after_as_of: after as u64,
        clv_error: outcome.summary.clv_error.clone(),
    })
}
