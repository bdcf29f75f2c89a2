//! The demo generator loads through the bulk path on both engines and
//! leaves a database whose aggregates verify and whose search works.

use chrono::NaiveDate;
use kehu_core::demo::{fill, DemoConfig, DEMO_ADMIN, DEMO_PASSWORD};
use kehu_storage::{actor_of, CustomerFilter, CustomerSort, SearchPlan, SortDir};
use kehu_testkit::{on_both_engines, TestDb};

on_both_engines!(demo_data_verifies_and_is_searchable);

async fn demo_data_verifies_and_is_searchable(db: &TestDb) {
    let store = db.store().await;
    let cfg = DemoConfig::new(400, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    let seen = std::sync::atomic::AtomicU64::new(0);
    let summary = fill(&store, &cfg, &|n| {
        seen.store(n, std::sync::atomic::Ordering::Relaxed)
    })
    .await
    .unwrap();
    assert_eq!(summary.customers, 400);
    assert_eq!(seen.into_inner(), 400, "progress reaches the end");
    assert!(summary.orders > 1000, "{summary:?}");
    assert!(store.verify_aggregates().await.unwrap().is_empty());
    assert!(store.verify_purchases().await.unwrap().is_empty());
    let admin = store.user_by_username(DEMO_ADMIN).await.unwrap().unwrap();
    assert!(kehu_core::credentials::verify_password(
        DEMO_PASSWORD,
        &admin.password_hash
    ));
    let s = store.scoped(actor_of(&admin.user));
    let all = s
        .customers(
            &CustomerFilter::default(),
            CustomerSort::TotalAmount,
            SortDir::Desc,
            None,
            5,
        )
        .await
        .unwrap();
    let top = &all.items[0];
    assert!(top.aggregates.total_amount > 0);
    // The top customer is found by its name's initials and its mobile suffix.
    let key = kehu_domain::text::company_key(&top.name);
    let initials: String = key.chars().filter_map(pinyin_initial).collect();
    for q in [
        initials,
        top.mobile.clone().unwrap()[top.mobile.as_ref().unwrap().len() - 4..].to_owned(),
    ] {
        let f = CustomerFilter {
            q: Some(q.clone()),
            ..Default::default()
        };
        let found = s
            .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 200)
            .await
            .unwrap();
        assert!(
            found.items.iter().any(|c| c.id == top.id),
            "{q} finds {}",
            top.name
        );
    }
    // Both search plans (fetch the matches by id, or probe while walking the
    // list), and the plan chosen by match count, return the same pages, for
    // selective and for dense queries.
    for q in [
        "s",
        "z",
        "科",
        "13",
        "有限",
        "zh",
        top.name.chars().take(2).collect::<String>().as_str(),
    ] {
        for sort in [CustomerSort::CreatedAt, CustomerSort::Name] {
            let f = CustomerFilter {
                q: Some(q.into()),
                ..Default::default()
            };
            let ids: Vec<kehu_domain::CustomerId> = {
                // Every customer, to give the id plan the full candidate set.
                let mut all = Vec::new();
                let mut cursor = None;
                loop {
                    let page = s
                        .customers_planned(
                            &f,
                            sort,
                            SortDir::Desc,
                            cursor.as_deref(),
                            200,
                            Some(SearchPlan::Probe),
                        )
                        .await
                        .unwrap();
                    all.extend(page.items.iter().map(|c| c.id));
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                all
            };
            let plans = [
                Some(SearchPlan::Probe),
                Some(SearchPlan::Ids(ids.iter().map(|i| i.0).collect())),
                Some(SearchPlan::Walk(ids.iter().map(|i| i.0).collect())),
                None,
            ];
            let mut seen = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
            for (i, plan) in plans.into_iter().enumerate() {
                let mut cursor = None;
                loop {
                    let page = s
                        .customers_planned(
                            &f,
                            sort,
                            SortDir::Desc,
                            cursor.as_deref(),
                            37,
                            plan.clone(),
                        )
                        .await
                        .unwrap();
                    seen[i].extend(page.items.iter().map(|c| c.id));
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
            }
            assert_eq!(seen[0], seen[1], "{q} {sort:?}");
            assert_eq!(seen[0], seen[2], "{q} {sort:?}");
            assert_eq!(seen[0], seen[3], "{q} {sort:?}");
        }
    }

    // A second load adds customers without touching the first ones.
    let more = DemoConfig {
        seed: 9,
        ..DemoConfig::new(50, cfg.today)
    };
    fill(&store, &more, &|_| {}).await.unwrap();
    assert!(store.verify_aggregates().await.unwrap().is_empty());
    assert!(store.verify_purchases().await.unwrap().is_empty());
}

fn pinyin_initial(c: char) -> Option<char> {
    use pinyin::ToPinyin;
    c.to_pinyin().and_then(|p| p.plain().chars().next())
}
