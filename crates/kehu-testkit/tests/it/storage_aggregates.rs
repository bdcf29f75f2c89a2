//! Aggregates stay exact under any sequence of order writes, and bulk loads
//! with precomputed aggregates verify.

use kehu_domain::inputs::{AmountInput, OrderInput};
use kehu_domain::*;
use kehu_testkit::{on_both_engines, TestDb};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::fixtures::*;

on_both_engines!(random_order_writes_keep_aggregates_exact);

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
        }
        let diffs = store.verify_aggregates().await.unwrap();
        assert!(diffs.is_empty(), "{diffs:?}");
    }
}
