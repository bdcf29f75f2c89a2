//! Aggregates stay exact under any sequence of order writes, and bulk loads
//! with precomputed aggregates verify.

use kehu_domain::inputs::{AmountInput, OrderInput};
use kehu_domain::*;
use kehu_testkit::{on_both_engines, TestDb};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::fixtures::*;

on_both_engines!(
    random_order_writes_keep_aggregates_exact,
    a_purchase_row_out_of_step_is_reported_and_repaired
);

#[derive(Debug, Clone)]
enum Op {
    Create {
        customer: usize,
        day: u32,
        amount: i64,
        cost: Option<i64>,
        status: u8,
    },
    Update {
        pick: usize,
        customer: usize,
        day: u32,
        amount: i64,
        status: u8,
    },
    Delete {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let status = 0u8..3;
    prop_oneof![
        4 => (0usize..3, 0u32..60, -5_000i64..100_000, proptest::option::of(0i64..50_000), status.clone())
            .prop_map(|(customer, day, amount, cost, status)| Op::Create { customer, day, amount, cost, status }),
        2 => (any::<usize>(), 0usize..3, 0u32..60, 0i64..100_000, status)
            .prop_map(|(pick, customer, day, amount, status)| Op::Update { pick, customer, day, amount, status }),
        1 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
    ]
}

fn status(s: u8) -> &'static str {
    ["completed", "pending", "cancelled"][s as usize % 3]
}

fn date(day: u32) -> String {
    (chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(day.into()))
        .to_string()
}

fn money(minor: i64) -> Option<AmountInput> {
    Some(AmountInput::Text(kehu_domain::money::format_minor(minor)))
}

async fn random_order_writes_keep_aggregates_exact(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let mut runner = TestRunner::deterministic();
    for round in 0..6 {
        let customers = [
            customer(&a, &format!("甲{round}"), None).await.id,
            customer(&a, &format!("乙{round}"), None).await.id,
            customer(&a, &format!("丙{round}"), None).await.id,
        ];
        let ops = proptest::collection::vec(op(), 1..25)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut live: Vec<OrderId> = Vec::new();
        for op in ops {
            match op {
                Op::Create {
                    customer,
                    day,
                    amount,
                    cost,
                    status: s,
                } => {
                    let o = a
                        .create_order(&OrderInput {
                            customer_id: Some(customers[customer]),
                            order_date: Some(date(day)),
                            amount: money(amount),
                            cost: cost.and_then(money),
                            status: Some(status(s).into()),
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                    live.push(o.id);
                }
                Op::Update {
                    pick,
                    customer,
                    day,
                    amount,
                    status: s,
                } if !live.is_empty() => {
                    let id = live[pick % live.len()];
                    a.update_order(
                        id,
                        OrderInput {
                            customer_id: Some(customers[customer]),
                            order_date: Some(date(day)),
                            amount: money(amount),
                            status: Some(status(s).into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                }
                Op::Delete { pick } if !live.is_empty() => {
                    let id = live.remove(pick % live.len());
                    a.delete_order(id).await.unwrap();
                }
                _ => {}
            }
        }
        // Stored aggregates equal an independent computation from the orders.
        for id in customers {
            let mut orders = Vec::new();
            let mut cursor = None;
            loop {
                let page = a.orders_of(id, cursor.as_deref(), 7).await.unwrap();
                orders.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let expected = Aggregates::from_orders(
                orders
                    .iter()
                    .map(|o| (o.order_date, o.amount, o.cost, o.status)),
            );
            assert_eq!(a.customer(id).await.unwrap().aggregates, expected);
            // The purchase row the analysis reads holds the completed
            // orders by date, then id.
            let mut completed: Vec<&Order> = orders
                .iter()
                .filter(|o| o.status == OrderStatus::Completed)
                .collect();
            completed.sort_by_key(|o| (o.order_date, o.id.0));
            let expected: Vec<_> = completed
                .iter()
                .map(|o| (o.order_date, o.amount, o.cost))
                .collect();
            let far = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
            let book = store.analysis_book_of(&[id.0], far).await.unwrap();
            let got: Vec<_> = book
                .iter()
                .flat_map(|(_, lines)| lines.iter())
                .map(|l| (l.date, l.amount_minor, l.cost_minor))
                .collect();
            assert_eq!(got, expected, "customer {id}");
        }
        let diffs = store.verify_aggregates().await.unwrap();
        assert!(diffs.is_empty(), "{diffs:?}");
        let diffs = store.verify_purchases().await.unwrap();
        assert!(diffs.is_empty(), "{diffs:?}");
    }
}

async fn a_purchase_row_out_of_step_is_reported_and_repaired(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let buyer = customer(&a, "戊", None).await.id;
    let idle = customer(&a, "己", None).await.id;
    for (day, amount) in [(3, 1_000), (1, 2_000)] {
        a.create_order(&OrderInput {
            customer_id: Some(buyer),
            order_date: Some(date(day)),
            amount: money(amount),
            status: Some("completed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    assert!(store.verify_purchases().await.unwrap().is_empty());
    // Rows changed behind the store's back: one wrong, one that should
    // not exist.
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for sql in [
        format!("UPDATE customer_purchases SET orders = '20454,1,' WHERE customer_id = {buyer}"),
        format!("INSERT INTO customer_purchases (customer_id, orders) VALUES ({idle}, '1,1,')"),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let mut want = vec![buyer, idle];
    want.sort();
    assert_eq!(store.verify_purchases().await.unwrap(), want);
    store.recompute_all_aggregates().await.unwrap();
    assert!(store.verify_purchases().await.unwrap().is_empty());
    let far = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
    let book = store
        .analysis_book_of(&[buyer.0, idle.0], far)
        .await
        .unwrap();
    assert_eq!(book.customers(), &[buyer.0]);
    let amounts: Vec<i64> = book
        .iter()
        .flat_map(|(_, l)| l.iter())
        .map(|l| l.amount_minor)
        .collect();
    assert_eq!(amounts, [2_000, 1_000], "by date");
}
