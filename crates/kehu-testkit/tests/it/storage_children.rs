//! Contacts, interactions and tasks in storage.

use kehu_domain::inputs::{ContactInput, InteractionInput, TaskInput};
use kehu_domain::*;
use kehu_storage::StoreError;
use kehu_testkit::{fixed_clock, on_both_engines, TestDb};

use crate::fixtures::*;

on_both_engines!(
    contacts_form_an_org_chart_without_loops,
    a_next_follow_up_becomes_a_task_in_my_follow_ups,
    merging_contacts_moves_their_interactions,
);

async fn contacts_form_an_org_chart_without_loops(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let c = customer(&a, "某制造有限公司", None).await;
    let other = customer(&a, "另一家", None).await;
    let contact = |name: &str, superior: Option<ContactId>, customer: CustomerId| ContactInput {
        customer_id: Some(customer),
        name: Some(name.into()),
        superior_id: Some(superior),
        level: Some("executive".into()),
        closeness: Some("close".into()),
        ..Default::default()
    };
    let boss = a
        .create_contact(&contact("总经理", None, c.id))
        .await
        .unwrap();
    let cfo = a
        .create_contact(&contact("财务总监", Some(boss.id), c.id))
        .await
        .unwrap();
    assert_eq!(cfo.superior_id, Some(boss.id));
    assert_eq!(cfo.closeness, Closeness::Close);
    // The boss cannot report to the CFO who reports to the boss.
    let err = a
        .update_contact(
            boss.id,
            ContactInput {
                superior_id: Some(Some(cfo.id)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref v) if v.0[0].field == "superior_id"),
        "{err:?}"
    );
    // A superior at another company is refused.
    let err = a
        .create_contact(&contact("外人", Some(boss.id), other.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    // An update that leaves the superior out keeps it; an explicit "none"
    // removes it.
    let kept = a
        .update_contact(
            cfo.id,
            ContactInput {
                title: Some("财务总监".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(kept.superior_id, Some(boss.id));
    let cleared = a
        .update_contact(
            cfo.id,
            ContactInput {
                superior_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.superior_id, None);
    a.update_contact(
        cfo.id,
        ContactInput {
            superior_id: Some(Some(boss.id)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Deleting the boss leaves the CFO without superior.
    a.delete_contact(boss.id).await.unwrap();
    assert_eq!(a.contact(cfo.id).await.unwrap().superior_id, None);
}

async fn a_next_follow_up_becomes_a_task_in_my_follow_ups(db: &TestDb) {
    // 2026-11-22 09:00 UTC is 17:00 in Shanghai, the same day.
    let store = db.store_with(fixed_clock(2026, 11, 22, 9)).await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let c = customer(&a, "跟进测试公司", None).await;
    let i = a
        .create_interaction(&InteractionInput {
            customer_id: Some(c.id),
            channel: Some("wechat".into()),
            content: Some("客户想了解报价".into()),
            next_follow_up: Some("2026-11-25".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let task = a.task(i.task_id.unwrap()).await.unwrap();
    assert_eq!(task.due_date.to_string(), "2026-11-25");
    assert_eq!(task.assignee_id, org.rep_a.id);
    assert_eq!(task.customer_id, Some(c.id));
    for (title, due) in [("逾期", "2026-11-20"), ("今天", "2026-11-22")] {
        a.create_task(&TaskInput {
            customer_id: Some(c.id),
            title: Some(title.into()),
            due_date: Some(due.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let done = a
        .create_task(&TaskInput {
            title: Some("已完成".into()),
            due_date: Some("2026-11-01".into()),
            done: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(done.done && done.done_at.is_some());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let f = a.follow_ups(None, today).await.unwrap();
    let titles = |v: &[Task]| v.iter().map(|t| t.title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(&f.overdue), ["逾期"]);
    assert_eq!(titles(&f.today), ["今天"]);
    assert_eq!(f.upcoming.len(), 1);
    assert!(f.upcoming[0].title.contains("跟进测试公司"));
    // Rep B sees none of rep A's follow-ups; the manager does.
    let b = as_user(&store, &org.rep_b);
    let fb = b.follow_ups(Some(org.rep_a.id), today).await.unwrap();
    assert!(fb.overdue.is_empty() && fb.today.is_empty() && fb.upcoming.is_empty());
    assert!(matches!(b.task(task.id).await, Err(StoreError::NotFound)));
    let m = as_user(&store, &org.manager1);
    assert_eq!(
        m.follow_ups(Some(org.rep_a.id), today)
            .await
            .unwrap()
            .overdue
            .len(),
        1
    );
    // Marking done moves it out of the list.
    let t = a
        .update_task(
            f.overdue[0].id,
            TaskInput {
                done: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(t.done);
    assert!(a.follow_ups(None, today).await.unwrap().overdue.is_empty());
}

async fn merging_contacts_moves_their_interactions(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let c = customer(&a, "合并联系人公司", None).await;
    let keep = a
        .create_contact(&ContactInput {
            customer_id: Some(c.id),
            name: Some("李娜".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let dup = a
        .create_contact(&ContactInput {
            customer_id: Some(c.id),
            name: Some("李娜".into()),
            mobile: Some("13611112222".into()),
            is_key_decision_maker: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let report = a
        .create_contact(&ContactInput {
            customer_id: Some(c.id),
            name: Some("下属".into()),
            superior_id: Some(Some(dup.id)),
            ..Default::default()
        })
        .await
        .unwrap();
    let i = a
        .create_interaction(&InteractionInput {
            customer_id: Some(c.id),
            contact_id: Some(dup.id),
            channel: Some("call".into()),
            content: Some("通话".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let merged = a.merge_contacts(keep.id, dup.id).await.unwrap();
    assert_eq!(merged.mobile.as_deref(), Some("+8613611112222"));
    assert!(merged.is_key_decision_maker);
    assert!(matches!(a.contact(dup.id).await, Err(StoreError::NotFound)));
    assert_eq!(a.interaction(i.id).await.unwrap().contact_id, Some(keep.id));
    assert_eq!(
        a.contact(report.id).await.unwrap().superior_id,
        Some(keep.id)
    );
}
