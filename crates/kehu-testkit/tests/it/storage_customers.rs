//! Customers in storage: CRUD with audit, scope rules, search, paging,
//! duplicates, transfer and merge.

use kehu_domain::inputs::{ContactInput, CustomerInput, InteractionInput, OrderInput};
use kehu_domain::*;
use kehu_storage::{CustomerFilter, CustomerSort, SortDir, StoreError};
use kehu_testkit::{on_both_engines, TestDb};

use crate::fixtures::*;

on_both_engines!(
    create_update_delete_are_audited,
    scope_decides_what_each_role_sees,
    chinese_names_are_found_by_characters_pinyin_and_initials,
    keyset_pages_cover_every_row_once,
    duplicates_are_found_by_key_mobile_and_external_id,
    transfer_moves_customers_with_their_history,
    merge_leaves_nothing_pointing_at_the_removed_customer,
);

async fn create_update_delete_are_audited(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let c = a
        .create_customer(&CustomerInput {
            name: Some("  杭州 西湖 科技有限公司 ".into()),
            classification: Some("potential".into()),
            tags: Some(vec!["行业: 软件".into(), "规模：100-300人".into()]),
            mobile: Some("138 0013 8000".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(c.owner_id, org.rep_a.id, "a rep owns what it creates");
    assert_eq!(c.team_id, org.rep_a.team_id);
    assert_eq!(c.mobile.as_deref(), Some("+8613800138000"));
    assert_eq!(c.tags.len(), 2);

    let updated = a
        .update_customer(
            c.id,
            CustomerInput {
                city: Some("杭州".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.city.as_deref(), Some("杭州"));
    assert_eq!(
        updated.classification,
        Classification::Potential,
        "absent fields stay"
    );
    assert_eq!(updated.tags, c.tags);

    let err = a
        .update_customer(
            c.id,
            CustomerInput {
                name: Some(" ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    match err {
        StoreError::Invalid(v) => assert_eq!(v.0[0].field, "name"),
        other => panic!("expected a validation error, got {other:?}"),
    }

    a.delete_customer(c.id).await.unwrap();
    assert!(matches!(a.customer(c.id).await, Err(StoreError::NotFound)));
    let trail = as_user(&store, &org.admin)
        .audit_of("customer", c.id.0)
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["delete", "update", "create"]);
    assert!(trail.iter().all(|e| e.actor_id == Some(org.rep_a.id)));
    assert_eq!(
        trail[1].before.as_ref().unwrap()["city"],
        serde_json::Value::Null
    );
    assert_eq!(trail[1].after.as_ref().unwrap()["city"], "杭州");
}

async fn scope_decides_what_each_role_sees(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let ca = customer(&as_user(&store, &org.rep_a), "甲公司", None).await;
    let cb = customer(&as_user(&store, &org.rep_b), "乙公司", None).await;
    let cc = customer(&as_user(&store, &org.rep_c), "丙公司", None).await;
    let visible = |u: &kehu_domain::User| {
        let s = as_user(&store, u);
        async move {
            let page = s
                .customers(
                    &CustomerFilter::default(),
                    CustomerSort::Name,
                    SortDir::Asc,
                    None,
                    50,
                )
                .await
                .unwrap();
            page.items.iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(visible(&org.rep_a).await, vec![ca.id]);
    let mut team1 = vec![ca.id, cb.id];
    team1.sort();
    let mut seen = visible(&org.manager1).await;
    seen.sort();
    assert_eq!(seen, team1);
    let mut seen = visible(&org.viewer1).await;
    seen.sort();
    assert_eq!(seen, team1);
    assert_eq!(visible(&org.admin).await.len(), 3);

    // Out of scope is indistinguishable from absent.
    let a = as_user(&store, &org.rep_a);
    assert!(matches!(a.customer(cb.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        a.update_customer(cb.id, CustomerInput::default()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        a.contacts_of(cb.id).await,
        Err(StoreError::NotFound)
    ));
    let contact_of_b = as_user(&store, &org.rep_b)
        .create_contact(&ContactInput {
            customer_id: Some(cb.id),
            name: Some("王经理".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(
        a.contact(contact_of_b.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        a.create_order(&OrderInput {
            customer_id: Some(cb.id),
            order_date: Some("2026-01-02".into()),
            amount: Some(kehu_domain::inputs::AmountInput::Text("10".into())),
            ..Default::default()
        })
        .await,
        Err(StoreError::NotFound)
    ));
    let m = as_user(&store, &org.manager1);
    assert!(matches!(m.customer(cc.id).await, Err(StoreError::NotFound)));

    // Read-only users read within scope and write nothing.
    let v = as_user(&store, &org.viewer1);
    assert_eq!(v.customer(ca.id).await.unwrap().id, ca.id);
    assert!(matches!(
        v.update_customer(ca.id, CustomerInput::default()).await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        v.create_customer(&CustomerInput {
            name: Some("x".into()),
            ..Default::default()
        })
        .await,
        Err(StoreError::Forbidden(_))
    ));

    // A rep cannot hand a customer to someone else; a manager can, inside the team only.
    assert!(matches!(
        a.update_customer(
            ca.id,
            CustomerInput {
                owner_id: Some(org.rep_b.id),
                ..Default::default()
            }
        )
        .await,
        Err(StoreError::Forbidden(_))
    ));
    let moved = m
        .update_customer(
            ca.id,
            CustomerInput {
                owner_id: Some(org.rep_b.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.owner_id, org.rep_b.id);
    assert!(matches!(
        m.update_customer(
            ca.id,
            CustomerInput {
                owner_id: Some(org.rep_c.id),
                ..Default::default()
            }
        )
        .await,
        Err(StoreError::Forbidden(_))
    ));
}

async fn chinese_names_are_found_by_characters_pinyin_and_initials(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let zs = a
        .create_customer(&CustomerInput {
            kind: Some("person".into()),
            name: Some("张三".into()),
            mobile: Some("13912345678".into()),
            email: Some("Zhang.San@Example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let hw = customer(&a, "深圳华为技术有限公司", None).await;
    let other = customer(&a, "李四商贸", Some("13800000000")).await;
    let c = a
        .create_contact(&ContactInput {
            customer_id: Some(other.id),
            name: Some("欧阳娜娜".into()),
            mobile: Some("13700001111".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(c.customer_id, other.id);
    let find = |q: &'static str| async move {
        let f = CustomerFilter {
            q: Some(q.into()),
            ..Default::default()
        };
        let mut ids: Vec<_> = a
            .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 50)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(find("张三").await, vec![zs.id]);
    assert_eq!(find("三").await, vec![zs.id], "substring");
    assert_eq!(find("zhangsan").await, vec![zs.id], "full pinyin");
    assert_eq!(find("ZhangSan").await, vec![zs.id], "case-insensitive");
    assert_eq!(find("zs").await, vec![zs.id], "initials");
    assert_eq!(find("5678").await, vec![zs.id], "phone suffix");
    assert_eq!(find("139123").await, vec![zs.id], "phone prefix");
    assert_eq!(find("zhang.san@").await, vec![zs.id], "email");
    assert_eq!(find("华为").await, vec![hw.id]);
    assert_eq!(find("huawei").await, vec![hw.id]);
    assert_eq!(find("szhw").await, vec![hw.id]);
    assert_eq!(
        find("深圳华为技术有限公司").await,
        vec![hw.id],
        "legal form in the query"
    );
    assert_eq!(
        find("欧阳").await,
        vec![other.id],
        "contact names find their customer"
    );
    assert_eq!(find("1111").await, vec![other.id], "contact phones too");
    assert_eq!(find("不存在").await, Vec::<CustomerId>::new());
    // The rep of another team finds nothing of rep A's.
    let c_rep = as_user(&store, &org.rep_c);
    let f = CustomerFilter {
        q: Some("zs".into()),
        ..Default::default()
    };
    let page = c_rep
        .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 50)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    // Renaming re-indexes.
    a.update_customer(
        zs.id,
        CustomerInput {
            name: Some("张三丰".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(find("zsf").await, vec![zs.id]);
}

async fn keyset_pages_cover_every_row_once(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let names = [
        "丁", "甲", "乙", "丙", "Alpha", "beta", "甲", "乙", "Zeta", "戊", "己",
    ];
    for n in names {
        customer(&a, n, None).await;
    }
    for sort in [
        CustomerSort::CreatedAt,
        CustomerSort::Name,
        CustomerSort::UpdatedAt,
        CustomerSort::TotalAmount,
        CustomerSort::LastOrderDate,
    ] {
        for dir in [SortDir::Asc, SortDir::Desc] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = a
                    .customers(&CustomerFilter::default(), sort, dir, cursor.as_deref(), 3)
                    .await
                    .unwrap();
                assert!(page.items.len() <= 3);
                seen.extend(page.items.iter().map(|c| c.id));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{sort:?} {dir:?}: {seen:?}");
            assert_eq!(seen.len(), names.len());
        }
    }
    // A cursor of one sort is refused by another.
    let page = a
        .customers(
            &CustomerFilter::default(),
            CustomerSort::Name,
            SortDir::Asc,
            None,
            2,
        )
        .await
        .unwrap();
    let err = a
        .customers(
            &CustomerFilter::default(),
            CustomerSort::CreatedAt,
            SortDir::Asc,
            page.next_cursor.as_deref(),
            2,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
}

async fn duplicates_are_found_by_key_mobile_and_external_id(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let original = a
        .create_customer(&CustomerInput {
            name: Some("华为技术有限公司".into()),
            mobile: Some("13800138000".into()),
            external_id: Some("ERP-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // Another team's rep is told that the company is taken.
    let c = as_user(&store, &org.rep_c);
    let probe = |name: &str, mobile: Option<&str>, ext: Option<&str>| {
        CustomerInput {
            name: Some(name.into()),
            mobile: mobile.map(Into::into),
            external_id: ext.map(Into::into),
            ..Default::default()
        }
        .validate()
        .unwrap()
    };
    let d = c
        .duplicates_of(&probe("华为技术 公司", None, None), None)
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].customer_id, d[0].reason.as_str()),
        (original.id, "name")
    );
    let d = c
        .duplicates_of(&probe("别的名字", Some("+86 138-0013-8000"), None), None)
        .await
        .unwrap();
    assert_eq!(d[0].reason, "mobile");
    let d = c
        .duplicates_of(&probe("别的名字", None, Some("ERP-1")), None)
        .await
        .unwrap();
    assert_eq!(d[0].reason, "external_id");
    assert!(c
        .duplicates_of(&probe("华为技术有限公司", None, None), Some(original.id))
        .await
        .unwrap()
        .is_empty());
    // The external id is unique: a second one is a conflict naming the field.
    let err = c
        .create_customer(&CustomerInput {
            name: Some("x".into()),
            external_id: Some("ERP-1".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict { field, .. } => assert_eq!(field, "external_id"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn transfer_moves_customers_with_their_history(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let c = customer(&a, "要交接的公司", None).await;
    let contact = a
        .create_contact(&ContactInput {
            customer_id: Some(c.id),
            name: Some("赵总".into()),
            is_key_decision_maker: Some(true),
            budget_authority: Some("final".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let i = a
        .create_interaction(&InteractionInput {
            customer_id: Some(c.id),
            contact_id: Some(contact.id),
            channel: Some("visit".into()),
            content: Some("拜访赵总，有明确预算".into()),
            next_follow_up: Some("2030-01-01".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let o = a
        .create_order(&OrderInput {
            customer_id: Some(c.id),
            order_date: Some("2026-03-01".into()),
            amount: Some(kehu_domain::inputs::AmountInput::Text("1999.90".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    // Reps cannot transfer; the manager moves everything rep A owns to rep B.
    assert!(matches!(
        a.transfer_all(org.rep_a.id, org.rep_b.id).await,
        Err(StoreError::Forbidden(_))
    ));
    let m = as_user(&store, &org.manager1);
    assert_eq!(m.transfer_all(org.rep_a.id, org.rep_b.id).await.unwrap(), 1);
    assert!(matches!(a.customer(c.id).await, Err(StoreError::NotFound)));
    let b = as_user(&store, &org.rep_b);
    let moved = b.customer(c.id).await.unwrap();
    assert_eq!(moved.owner_id, org.rep_b.id);
    assert_eq!(b.contacts_of(c.id).await.unwrap()[0].id, contact.id);
    let timeline = b.interactions_of(c.id, None, None, 20).await.unwrap();
    assert_eq!(timeline.items[0].id, i.id);
    assert_eq!(
        timeline.items[0].user_id, org.rep_a.id,
        "who did it stays true"
    );
    assert_eq!(b.orders_of(c.id, None, 20).await.unwrap().items[0].id, o.id);
    let task = b.task(i.task_id.unwrap()).await.unwrap();
    assert_eq!(
        task.assignee_id, org.rep_b.id,
        "open follow-ups go with the customer"
    );
    let trail = m.audit_of("customer", c.id.0).await.unwrap();
    assert_eq!(trail[0].action, "transfer");
    // Nobody outside the team can receive them.
    assert!(matches!(
        m.transfer_customers(&[c.id], org.rep_c.id).await,
        Err(StoreError::Forbidden(_))
    ));
}

async fn merge_leaves_nothing_pointing_at_the_removed_customer(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let keep = a
        .create_customer(&CustomerInput {
            name: Some("华为技术有限公司".into()),
            tags: Some(vec!["行业: 通信".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
    let dup = a
        .create_customer(&CustomerInput {
            name: Some("华为技术 公司".into()),
            city: Some("深圳".into()),
            tags: Some(vec!["行业: 通信".into(), "意向: 高".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
    let contact = a
        .create_contact(&ContactInput {
            customer_id: Some(dup.id),
            name: Some("孙工".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for (date, amount) in [("2026-01-05", "100"), ("2026-02-05", "250.5")] {
        a.create_order(&OrderInput {
            customer_id: Some(dup.id),
            order_date: Some(date.into()),
            amount: Some(kehu_domain::inputs::AmountInput::Text(amount.into())),
            cost: Some(kehu_domain::inputs::AmountInput::Text("50".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    a.create_interaction(&InteractionInput {
        customer_id: Some(dup.id),
        channel: Some("call".into()),
        content: Some("电话".into()),
        next_follow_up: Some("2030-01-01".into()),
        ..Default::default()
    })
    .await
    .unwrap();

    // The user picks the duplicate's spelling of the name.
    let picked = CustomerInput {
        name: Some("华为技术 公司".into()),
        ..Default::default()
    };
    let merged = a
        .merge_customers(keep.id, dup.id, Some(picked))
        .await
        .unwrap();
    assert_eq!(
        merged.city.as_deref(),
        Some("深圳"),
        "blank fields are filled"
    );
    assert_eq!(merged.name, "华为技术 公司", "picked values are kept");
    assert_eq!(merged.tags.len(), 2, "tags are united");
    assert_eq!(merged.aggregates.order_count, 2);
    assert_eq!(merged.aggregates.total_amount, 35050);
    assert_eq!(merged.aggregates.total_profit, 25050);
    assert!(matches!(
        a.customer(dup.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(a.contact(contact.id).await.unwrap().customer_id, keep.id);
    assert_eq!(a.tasks_of(keep.id).await.unwrap().len(), 1);
    assert_eq!(
        a.interactions_of(keep.id, None, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(store.verify_aggregates().await.unwrap().is_empty());
    assert!(store.verify_purchases().await.unwrap().is_empty());
    let f = CustomerFilter {
        q: Some("孙工".into()),
        ..Default::default()
    };
    let found = a
        .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 10)
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![keep.id]
    );
    let admin = as_user(&store, &org.admin);
    let kept = admin.audit_of("customer", keep.id.0).await.unwrap();
    // Newest first: the picked values, then the merge itself.
    assert_eq!(kept[0].action, "update");
    assert_eq!(kept[1].action, "merge");
    assert_eq!(kept[1].after.as_ref().unwrap()["merged_from"], dup.id.0);
    let removed = admin.audit_of("customer", dup.id.0).await.unwrap();
    assert_eq!(removed[0].action, "merged_into");
    assert_eq!(removed[0].after.as_ref().unwrap()["merged_into"], keep.id.0);
    assert!(matches!(
        a.merge_customers(keep.id, keep.id, None).await,
        Err(StoreError::Invalid(_))
    ));
}
