//! Customer value analytics over a real database: a run stores one row of
//! results per customer equal to the pure computation on the same data,
//! keeps lifecycle stages with the day they began, records every stage
//! change, and is read within the reader's scope.

use chrono::NaiveDate;
use kehu_core::analysis::{self, AnalysisConfig, Inputs};
use kehu_domain::inputs::{AmountInput, OrderInput};
use kehu_domain::{Customer, CustomerId};
use kehu_storage::{Scoped, StoreError};
use kehu_testkit::{fixed_clock, on_both_engines, TestDb};

use crate::fixtures::*;

on_both_engines!(
    a_run_stores_every_customers_results_within_scope,
    a_run_over_demo_data_predicts_clv_and_saves_it,
    a_refresh_rescores_only_changed_customers_as_the_run_would,
    the_server_runs_the_analysis_daily_and_refreshes_changed_customers,
    customers_deleted_during_a_run_leave_no_results_behind,
    customers_deleted_during_a_refresh_leave_no_results_behind,
);

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn order(s: &Scoped<'_>, customer: CustomerId, date: &str, amount: &str) {
    s.create_order(&OrderInput {
        customer_id: Some(customer),
        order_date: Some(date.into()),
        amount: Some(AmountInput::Text(amount.into())),
        cost: Some(AmountInput::Text("10".into())),
        ..Default::default()
    })
    .await
    .unwrap();
}

async fn a_run_stores_every_customers_results_within_scope(db: &TestDb) {
    let store = db.store_with(fixed_clock(2026, 7, 1, 9)).await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let b = as_user(&store, &org.rep_b);
    // A regular buyer, a one-time buyer long ago, a prospect, and a
    // customer of another rep with a refund.
    let regular = customer(&a, "常购商贸有限公司", None).await;
    for (i, d) in [
        "2025-09-03",
        "2025-11-12",
        "2026-01-20",
        "2026-03-18",
        "2026-05-26",
        "2026-06-20",
    ]
    .iter()
    .enumerate()
    {
        order(&a, regular.id, d, &format!("{}", 1000 + 250 * i)).await;
    }
    let once = customer(&a, "一次性采购有限公司", None).await;
    order(&a, once.id, "2025-05-15", "300").await;
    let prospect = customer(&a, "潜在意向有限公司", None).await;
    let theirs = customer(&b, "乙方客户有限公司", None).await;
    order(&b, theirs.id, "2026-02-02", "5000").await;
    order(&b, theirs.id, "2026-04-04", "4200").await;
    order(&b, theirs.id, "2026-04-10", "-800").await;

    let as_of = day("2026-06-30");
    let config = AnalysisConfig::new(as_of);
    let report = analysis::run_on_store(&store, &config).await.unwrap();
    assert_eq!((report.customers, report.orders), (4, 10));
    assert_eq!(
        report.stage_changes, 4,
        "every customer's first stage is a change"
    );

    // SQLite swaps a staged table in: it keeps its key and foreign key
    // (its migration's own definition), has no other index, and no staging
    // table is left behind.
    if db.engine == kehu_storage::Engine::Sqlite {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect(&db.url)
            .await
            .unwrap();
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE (tbl_name = 'customer_analytics' \
             AND type = 'index' AND sql IS NOT NULL) OR name = 'customer_analytics_next' \
             ORDER BY name",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(names.is_empty(), "{names:?}");
        let keys: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_list('customer_analytics')")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(keys, [("customers".to_owned(),)]);
        pool.close().await;
    } else {
        // PostgreSQL copies into a staging table and swaps it in: the
        // table keeps its migration's key name, and the foreign key that
        // guarded the staged rows is gone (the trigger on customers takes
        // over, tested by the deletions below).
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect(&db.url)
            .await
            .unwrap();
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customer_analytics' \
             AND schemaname = current_schema() \
             UNION ALL SELECT conname FROM pg_constraint \
             WHERE conrelid = 'customer_analytics'::regclass AND contype = 'f' \
             UNION ALL SELECT tablename FROM pg_tables WHERE tablename = 'customer_analytics_next' \
             AND schemaname = current_schema() ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let names: Vec<&str> = names.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(names, ["customer_analytics_pkey"]);
        pool.close().await;
    }

    // What is stored equals the pure computation on the same inputs.
    let ids = store.all_customer_ids().await.unwrap();
    let book = store.analysis_book(as_of).await.unwrap();
    let since = kehu_core::time::start_of_day_ms(day("2026-04-02"), "Asia/Shanghai");
    let until = kehu_core::time::start_of_day_ms(day("2026-07-01"), "Asia/Shanghai");
    let facts = store.relationship_facts(since, until).await.unwrap();
    let inputs = Inputs {
        customers: &ids,
        book: &book,
        relationships: Some(&facts),
        previous_stages: &[],
        pins: None,
        warm_start: None,
    };
    let expected = analysis::compute(&inputs, &config, store.clock().now()).unwrap();
    let admin = as_user(&store, &org.admin);
    for want in &expected.results {
        let got = admin
            .customer_analytics(want.customer_id)
            .await
            .unwrap()
            .expect("a stored row");
        assert_eq!(&got, want, "customer {}", want.customer_id);
    }

    // The figures themselves, computed by hand: the regular buyer bought
    // six times in the window, last ten days ago.
    let r = a.customer_analytics(regular.id).await.unwrap().unwrap();
    assert_eq!(r.recency_days, Some(10));
    assert_eq!(r.frequency, Some(6));
    assert_eq!(r.monetary_minor, Some(975_000));
    assert_eq!(r.revenue_minor, 975_000);
    assert_eq!(r.profit_minor, 975_000 - 6 * 1000);
    assert!(r.rfm_segment.is_some() && r.pyramid_layer.is_some());
    assert!(r.probability_alive.is_some() || expected.summary.clv_error.is_some());
    let quadrant = r.selection_quadrant.clone().unwrap();
    assert!(["a", "b", "c", "d"].contains(&quadrant.as_ref()));
    let run = store.latest_analysis_run().await.unwrap().unwrap();
    let indicators = kehu_core::analysis::indicators_of(&run.summary);
    let explanation =
        kehu_core::analysis::explain(r.selection_explanation.as_deref().unwrap(), &indicators);
    let expected_lines = if expected.summary.clv_models.is_some() {
        6
    } else {
        5
    };
    assert_eq!(explanation.len(), expected_lines, "{explanation:?}");
    let value: f64 = explanation
        .iter()
        .filter(|c| c.group == "value")
        .map(|c| c.points)
        .sum();
    assert!(
        (value - r.value_score.unwrap()).abs() < 0.5,
        "the points add up to the value score: {value} vs {:?}",
        r.value_score
    );
    // Refunds lower value but are not purchases.
    let t = b.customer_analytics(theirs.id).await.unwrap().unwrap();
    assert_eq!((t.frequency, t.monetary_minor), (Some(2), Some(840_000)));
    assert!(r.r_score > t.r_score, "the more recent buyer scores higher");
    // The one-time buyer of 2025-05-15 has no purchase in the window.
    let o = a.customer_analytics(once.id).await.unwrap().unwrap();
    assert_eq!((o.frequency, o.rfm_segment.as_deref()), (None, None));
    assert_eq!(
        (o.lifecycle_stage.as_ref(), o.lifecycle_reason.as_ref()),
        ("departed", "no_purchase_in_window")
    );
    let p = a.customer_analytics(prospect.id).await.unwrap().unwrap();
    assert_eq!(
        (
            p.lifecycle_stage.as_ref(),
            p.lifecycle_reason.as_ref(),
            p.value_group.as_ref(),
            p.revenue_minor
        ),
        ("acquisition", "no_purchase", "a", 0)
    );

    // Out of scope is not found, as everywhere.
    assert!(matches!(
        a.customer_analytics(theirs.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        a.lifecycle_history(theirs.id).await,
        Err(StoreError::NotFound)
    ));

    // A year later without purchases the regular buyer has left; the
    // prospect is still a prospect since the first run.
    let later = AnalysisConfig::new(day("2027-07-15"));
    let report = analysis::run_on_store(&store, &later).await.unwrap();
    assert!(report.stage_changes >= 1);
    let r = a.customer_analytics(regular.id).await.unwrap().unwrap();
    assert_eq!(
        (r.lifecycle_stage.as_ref(), r.lifecycle_since),
        ("departed", day("2027-07-15"))
    );
    let history = a.lifecycle_history(regular.id).await.unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].to_stage, "departed");
    assert_eq!(history[0].from_stage, history[1].to_stage.clone().into());
    assert_eq!(history[1].from_stage, None);
    let p = a.customer_analytics(prospect.id).await.unwrap().unwrap();
    assert_eq!(p.lifecycle_since, as_of, "an unchanged stage keeps its day");
    let run = store.latest_analysis_run().await.unwrap().unwrap();
    assert_eq!(run.as_of, day("2027-07-15"));
    assert_eq!(run.summary["customers"], 4);

    // A customer's results go with the customer.
    admin.delete_customer(once.id).await.unwrap();
    assert!(store
        .lifecycle_states()
        .await
        .unwrap()
        .iter()
        .all(|(id, _)| *id != once.id.0));
}

/// On realistic data the CLV models fit and every customer with a purchase
/// gets a probability alive and a CLV, saved next to customers without
/// them (over more customers than one insert statement holds).
async fn a_run_over_demo_data_predicts_clv_and_saves_it(db: &TestDb) {
    let store = db.store_with(fixed_clock(2026, 11, 23, 9)).await;
    let today = day("2026-11-22");
    kehu_core::demo::fill(
        &store,
        &kehu_core::demo::DemoConfig::new(1_500, today),
        &|_| {},
    )
    .await
    .unwrap();
    let report = analysis::run_on_store(&store, &AnalysisConfig::new(today))
        .await
        .unwrap();
    assert_eq!(report.customers, 1_500);
    assert_eq!(
        report.clv_error, None,
        "the demo data supports the CLV models"
    );
    let run = store.latest_analysis_run().await.unwrap().unwrap();
    let gg = &run.summary["clv_models"]["gamma_gamma"]["params"];
    let q = gg["q"].as_f64().unwrap();
    assert!(q > 1.5 && q < 8.0, "demo spend has a finite mean: q = {q}");
    let admin = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == kehu_domain::Role::Admin)
        .unwrap();
    let s = as_user(&store, &admin);
    let (mut with, mut without) = (0, 0);
    for id in store.all_customer_ids().await.unwrap() {
        let r = s.customer_analytics(CustomerId(id)).await.unwrap().unwrap();
        match (r.probability_alive, r.clv_minor) {
            (Some(p), Some(clv)) => {
                assert!((0.0..=1.0).contains(&p) && clv >= 0, "{r:?}");
                with += 1;
            }
            (None, None) => without += 1,
            other => panic!("probability alive and CLV come together: {other:?}"),
        }
    }
    assert!(
        with > 500 && without > 100,
        "{with} with CLV, {without} without"
    );
}

/// Every customer's stored results, by id.
async fn all_results(
    store: &kehu_storage::Store,
    admin: &kehu_domain::User,
) -> std::collections::BTreeMap<i64, kehu_storage::CustomerAnalytics> {
    let s = as_user(store, admin);
    let mut out = std::collections::BTreeMap::new();
    for id in store.all_customer_ids().await.unwrap() {
        if let Some(r) = s.customer_analytics(CustomerId(id)).await.unwrap() {
            out.insert(id, r);
        }
    }
    out
}

async fn a_refresh_rescores_only_changed_customers_as_the_run_would(db: &TestDb) {
    // The same database seen at successive hours of one day.
    let at = |h| db.store_with(fixed_clock(2026, 11, 23, h));
    let today = day("2026-11-22");
    let store = at(1).await;
    kehu_core::demo::fill(
        &store,
        &kehu_core::demo::DemoConfig::new(300, today),
        &|_| {},
    )
    .await
    .unwrap();
    let admin = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == kehu_domain::Role::Admin)
        .unwrap();
    let store = at(3).await;
    let run = analysis::run_on_store(&store, &AnalysisConfig::new(today))
        .await
        .unwrap();
    assert_eq!(run.clv_error, None);
    let before = all_results(&store, &admin).await;
    assert_eq!(before.len(), 300);

    // Nothing changed since the run: nothing to do.
    let store = at(5).await;
    let r = analysis::refresh_on_store(&store).await.unwrap();
    assert_eq!((r.run_id, r.customers, r.as_of), (run.run_id, 0, today));

    // Every customer marked changed: the refresh scores each one with the
    // run's breakpoints, thresholds, models and distributions, which gives
    // exactly the run's results.
    store.recompute_all_aggregates().await.unwrap();
    let store = at(7).await;
    let r = analysis::refresh_on_store(&store).await.unwrap();
    assert_eq!(r.customers, 300);
    assert_eq!(r.stage_changes, 0, "nobody changed stage");
    let again = all_results(&store, &admin).await;
    for (id, want) in &before {
        let mut got = again[id].clone();
        assert_eq!(got.computed_at, store.clock().now(), "customer {id}");
        got.computed_at = want.computed_at;
        assert_eq!(&got, want, "customer {id}");
    }

    // A new order for one customer and a new customer with a first order:
    // only those two are re-scored.
    let s = as_user(&store, &admin);
    let buyer = *before
        .iter()
        .find(|(_, r)| r.frequency.is_some_and(|f| f >= 2))
        .unwrap()
        .0;
    order(&s, CustomerId(buyer), "2026-11-22", "12345.67").await;
    let newcomer = customer(&s, "新来的采购有限公司", None).await;
    order(&s, newcomer.id, "2026-11-20", "800").await;
    let store = at(9).await;
    let r = analysis::refresh_on_store(&store).await.unwrap();
    assert_eq!(r.customers, 2);
    let after = all_results(&store, &admin).await;
    assert_eq!(after.len(), 301);
    for (id, was) in &before {
        if *id != buyer {
            assert_eq!(&after[id], &again[id], "customer {id} is left alone");
        } else {
            assert_ne!(&after[id], was);
        }
    }
    // The buyer's figures, against the run's own breakpoints (stored in
    // its summary): one more purchase, bought today.
    let (old, new) = (&before[&buyer], &after[&buyer]);
    assert_eq!(new.frequency, old.frequency.map(|f| f + 1));
    assert_eq!(
        new.monetary_minor,
        old.monetary_minor.map(|m| m + 1_234_567)
    );
    assert_eq!(new.recency_days, Some(0));
    let summary = store.latest_analysis_run().await.unwrap().unwrap().summary;
    let cuts = |key: &str| -> Vec<i64> {
        serde_json::from_value(summary["rfm_breakpoints"][key].clone()).unwrap()
    };
    let score = |v: i64, cuts: &[i64]| 1 + cuts.iter().filter(|c| v > **c).count() as i64;
    assert_eq!(
        new.f_score,
        Some(score(new.frequency.unwrap(), &cuts("frequency")))
    );
    assert_eq!(
        new.m_score,
        Some(score(new.monetary_minor.unwrap(), &cuts("monetary_minor")))
    );
    let recency_cuts = cuts("recency_days");
    let r_score = 1 + recency_cuts.iter().filter(|c| 0 < **c).count() as i64;
    assert_eq!(new.r_score, Some(r_score), "bought on the as-of day");
    // The newcomer has results and its first stage is recorded.
    let first = &after[&newcomer.id.0];
    assert_eq!((first.frequency, first.recency_days), (Some(1), Some(2)));
    let history = as_user(&store, &admin)
        .lifecycle_history(newcomer.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].from_stage, None);

    // Done: the next refresh finds nothing new.
    let store = at(11).await;
    assert_eq!(
        analysis::refresh_on_store(&store).await.unwrap().customers,
        0
    );

    // A refresh computed against a run that a newer run has replaced
    // meanwhile writes nothing.
    let newer = analysis::run_on_store(&store, &AnalysisConfig::new(today))
        .await
        .unwrap();
    assert!(newer.run_id > run.run_id);
    let stale = kehu_storage::AnalysisRefresh {
        run_id: run.run_id,
        refreshed_at: store.clock().now(),
        read_from: store.clock().now().timestamp_millis(),
        customers: 1,
        orders: 0,
        duration_ms: 0,
    };
    let mut row = after[&buyer].clone();
    row.frequency = Some(99);
    let refused = store.save_refresh(&[row], &[], &stale).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    let kept = as_user(&store, &admin)
        .customer_analytics(CustomerId(buyer))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(kept.frequency, Some(99));
}

/// `kehu serve` checks every few minutes: the first check of a day runs
/// the whole analysis, the others refresh the customers whose orders
/// changed.
async fn the_server_runs_the_analysis_daily_and_refreshes_changed_customers(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let today = kehu_core::time::today_in(store.clock().now(), analysis::TIME_ZONE);
    let buyer = customer(&a, "定时刷新有限公司", None).await;
    let month_ago = (today - chrono::Days::new(30)).to_string();
    order(&a, buyer.id, &month_ago, "500").await;

    let state = kehu_http::AppState::new(store.clone(), false);
    let checks = tokio::spawn(kehu_http::analytics::schedule(
        state,
        std::time::Duration::from_millis(50),
    ));
    let purchases = |want: i64| {
        let a = &a;
        async move {
            for _ in 0..200 {
                let got = a.customer_analytics(buyer.id).await.unwrap();
                if got.as_ref().and_then(|r| r.frequency) == Some(want) {
                    return got.unwrap();
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("no results with {want} purchases within 10 s");
        }
    };
    let first = purchases(1).await;
    let run = store.latest_analysis_run().await.unwrap().unwrap();
    assert_eq!((run.as_of, first.as_of), (today, today));

    // A purchase today: a later check re-scores the buyer, without
    // another full run.
    order(&a, buyer.id, &today.to_string(), "700").await;
    let second = purchases(2).await;
    assert_eq!(second.recency_days, Some(0));
    assert_eq!(second.monetary_minor, Some(120_000));
    let latest = store.latest_analysis_run().await.unwrap().unwrap();
    assert_eq!(latest.id, run.id, "refreshed, not run again");

    // A run saved before refreshes existed has no pins: the next check
    // runs the analysis again instead of failing to refresh.
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE analysis_runs SET pins = NULL")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let mut again = None;
    for _ in 0..200 {
        let latest = store.latest_analysis_run().await.unwrap().unwrap();
        if latest.id != run.id {
            again = Some(latest);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let again = again.expect("a new run within 10 s");
    assert_eq!(again.as_of, today);
    assert!(store.refresh_base(again.id).await.unwrap().0.is_some());
    checks.abort();
}

/// Two customers with an order each, the second to be deleted.
async fn kept_and_leaving(a: &Scoped<'_>) -> (Customer, Customer) {
    let kept = customer(a, "留存客户有限公司", None).await;
    order(a, kept.id, "2026-06-01", "900").await;
    let leaving = customer(a, "注销客户有限公司", None).await;
    order(a, leaving.id, "2026-05-01", "700").await;
    (kept, leaving)
}

/// A customer deleted between a run's read and its save leaves neither
/// results nor stage changes, and the save still succeeds (both engines
/// write without checking each row's customer and look the deleted ones
/// up once).
async fn customers_deleted_during_a_run_leave_no_results_behind(db: &TestDb) {
    let store = db.store_with(fixed_clock(2026, 7, 1, 9)).await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let admin = as_user(&store, &org.admin);
    let (kept, leaving) = kept_and_leaving(&a).await;
    let as_of = day("2026-06-30");
    let config = AnalysisConfig::new(as_of);
    let ids = store.all_customer_ids().await.unwrap();
    let book = store.analysis_book(as_of).await.unwrap();
    let inputs = Inputs {
        customers: &ids,
        book: &book,
        relationships: None,
        previous_stages: &[],
        pins: None,
        warm_start: None,
    };
    let outcome = analysis::compute(&inputs, &config, store.clock().now()).unwrap();
    assert_eq!(outcome.changes.len(), 2);
    admin.delete_customer(leaving.id).await.unwrap();
    let run = kehu_storage::AnalysisRun {
        id: 0,
        computed_at: store.clock().now(),
        as_of,
        customers: 2,
        orders: 2,
        duration_ms: 0,
        summary: serde_json::json!({}),
    };
    store
        .save_analysis(
            &std::sync::Arc::new(outcome.results),
            &outcome.changes,
            &run,
            0,
            "{}",
        )
        .await
        .unwrap();
    let states = store.lifecycle_states().await.unwrap();
    assert_eq!(states.iter().map(|s| s.0).collect::<Vec<_>>(), [kept.id.0]);
    assert_eq!(a.lifecycle_history(kept.id).await.unwrap().len(), 1);
    assert!(a.lifecycle_history(leaving.id).await.is_err());
    if db.engine == kehu_storage::Engine::Sqlite {
        // The scratch file of the upper half is gone too.
        let path = db.url.trim_start_matches("sqlite://");
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let scratch = format!("{path}-customer_analytics_next");
        assert!(!std::path::Path::new(&scratch).exists(), "{scratch}");
        assert!(std::path::Path::new(path).exists(), "{path}");
    }
}

/// A customer deleted between a refresh's read and its save leaves
/// neither results nor stage changes, and the others' are saved.
async fn customers_deleted_during_a_refresh_leave_no_results_behind(db: &TestDb) {
    let store = db.store_with(fixed_clock(2026, 7, 1, 9)).await;
    let org = org(&store).await;
    let admin = as_user(&store, &org.admin);
    let (kept, leaving) = kept_and_leaving(&as_user(&store, &org.rep_a)).await;
    let as_of = day("2026-06-30");
    let run = analysis::run_on_store(&store, &AnalysisConfig::new(as_of))
        .await
        .unwrap();
    let mut rows = Vec::new();
    for id in [kept.id, leaving.id] {
        let mut row = admin.customer_analytics(id).await.unwrap().unwrap();
        row.frequency = Some(7);
        rows.push(row);
    }
    let changes: Vec<kehu_storage::LifecycleChange> = [kept.id, leaving.id]
        .into_iter()
        .map(|id| kehu_storage::LifecycleChange {
            customer_id: id,
            from_stage: Some("acquisition".into()),
            to_stage: "decline".into(),
            changed_on: as_of,
        })
        .collect();
    admin.delete_customer(leaving.id).await.unwrap();
    let refresh = kehu_storage::AnalysisRefresh {
        run_id: run.run_id,
        refreshed_at: store.clock().now(),
        read_from: store.clock().now().timestamp_millis(),
        customers: 2,
        orders: 2,
        duration_ms: 0,
    };
    store.save_refresh(&rows, &changes, &refresh).await.unwrap();
    let states = store.lifecycle_states().await.unwrap();
    assert_eq!(states.iter().map(|s| s.0).collect::<Vec<_>>(), [kept.id.0]);
    let saved = admin.customer_analytics(kept.id).await.unwrap().unwrap();
    assert_eq!(saved.frequency, Some(7));
    let history = admin.lifecycle_history(kept.id).await.unwrap();
    assert_eq!(history[0].to_stage, "decline", "{history:?}");
}
