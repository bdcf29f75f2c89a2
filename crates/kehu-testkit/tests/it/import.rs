//! Import on both engines: a file with bad rows is reported line by line and
//! applies nothing; a good file applies fully; references and duplicates
//! are resolved against the database.

use std::sync::Arc;

use kehu_core::import::{import, ImportOptions, Kind, Source};
use kehu_storage::{CustomerFilter, CustomerSort, SortDir};
use kehu_testkit::{on_both_engines, TestDb};

use crate::fixtures::*;

on_both_engines!(
    a_file_with_bad_rows_is_reported_and_applies_nothing,
    a_good_file_applies_fully_with_contacts_and_orders,
    duplicates_against_the_database_are_refused,
    a_customer_named_on_many_rows_is_one_customer,
);

fn csv(text: &str) -> Source {
    Source::Bytes {
        name: "upload.csv".into(),
        bytes: Arc::new(text.as_bytes().to_vec()),
    }
}

fn none(_: u64, _: u8) {}

/// Imports `text` as `kind` and checks that all its `rows` applied.
async fn applies_fully(user: &kehu_storage::Scoped<'_>, kind: Kind, text: &str, rows: u64) {
    let r = import(user, kind, &csv(text), ImportOptions::default(), &none)
        .await
        .unwrap();
    assert_eq!((r.invalid_rows, r.applied), (0, rows), "{:?}", r.errors);
}

async fn count(s: &kehu_storage::Scoped<'_>) -> usize {
    s.customers(
        &CustomerFilter::default(),
        CustomerSort::CreatedAt,
        SortDir::Desc,
        None,
        200,
    )
    .await
    .unwrap()
    .items
    .len()
}

async fn a_file_with_bad_rows_is_reported_and_applies_nothing(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    let file = csv("客户名称,手机,客户分类,标签,年营收\n\
         甲公司,13800000001,目标客户,行业: 制造,2000万\n\
         ,13800000002,潜在客户,,\n\
         丙公司,12345,VIP,,\n\
         丁公司,13800000004,合作伙伴,,\n\
         甲公司,13800000001,目标客户,,\n");
    let report = import(&a, Kind::Customers, &file, ImportOptions::default(), &none)
        .await
        .unwrap();
    assert_eq!(
        (
            report.rows,
            report.valid_rows,
            report.invalid_rows,
            report.applied
        ),
        (5, 2, 3, 0)
    );
    let lines: Vec<(u64, &str, Option<&str>)> = report
        .errors
        .iter()
        .map(|e| (e.line, e.field.as_str(), e.column.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            (3, "name", Some("客户名称")),
            (4, "classification", Some("客户分类")),
            (4, "mobile", Some("手机")),
            (6, "name", Some("客户名称")),
        ],
        "{:#?}",
        report.errors
    );
    assert!(
        report.errors[3].message.contains("line 2"),
        "{}",
        report.errors[3].message
    );
    assert_eq!(count(&a).await, 0, "nothing applied");

    // With --skip-invalid the good rows go in, custom columns as attributes.
    let opts = ImportOptions {
        skip_invalid: true,
        dry_run: false,
    };
    let report = import(&a, Kind::Customers, &file, opts, &none)
        .await
        .unwrap();
    assert_eq!(report.applied, 2);
    let f = CustomerFilter {
        q: Some("甲公司".into()),
        ..Default::default()
    };
    let page = a
        .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 10)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let c = &page.items[0];
    assert_eq!(c.classification, kehu_domain::Classification::Target);
    assert_eq!(c.attributes["年营收"], "2000万");
    assert_eq!(c.tags[0].to_string(), "行业: 制造");
    assert_eq!(c.owner_id, org.rep_a.id);
    let trail = as_user(&store, &org.admin)
        .audit_of("customer", c.id.0)
        .await
        .unwrap();
    assert_eq!(trail[0].action, "import");
}

async fn a_good_file_applies_fully_with_contacts_and_orders(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let m = as_user(&store, &org.manager1);
    let customers = "Customer Name,Mobile,External ID,Owner,Classification\n\
         Acme Trading,13900000001,C-1,rep.b,target\n\
         成都天府软件有限公司,13900000002,C-2,rep.a,目标客户\n\
         Beta Supplies,13900000003,C-3,rep.b,target\n";
    applies_fully(&m, Kind::Customers, customers, 3).await;
    let contacts = "客户编号,姓名,职位,上级,预算权限,关键决策人,亲密度,手机\n\
         C-2,周总,总经理,,最终拍板,是,一般,13500000001\n\
         C-2,李工,技术总监,周总,有影响,否,初步接触,\n";
    applies_fully(&m, Kind::Contacts, contacts, 2).await;
    let orders = "客户名称,订单号,下单日期,金额,成本,订单状态\n\
         成都天府软件有限公司,SO-1,2026/3/5,\"1,000.50\",600,已完成\n\
         成都天府软件有限公司,SO-2,2026年4月1日,¥200,,已取消\n\
         Acme Trading,SO-3,2026-05-01,99.9,,\n\
         Beta Supplies,SO-4,2026-05-02,50,,已取消\n";
    applies_fully(&m, Kind::Orders, orders, 4).await;

    let a = as_user(&store, &org.rep_a);
    let f = CustomerFilter {
        q: Some("tfrj".into()),
        ..Default::default()
    };
    let c = a
        .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(c.owner_id, org.rep_a.id);
    assert_eq!(
        c.aggregates.order_count, 1,
        "the cancelled order does not count"
    );
    assert_eq!(c.aggregates.total_amount, 100_050);
    assert_eq!(c.aggregates.total_profit, 40_050);
    let contacts = a.contacts_of(c.id).await.unwrap();
    assert_eq!(contacts.len(), 2);
    assert!(contacts[0].is_key_decision_maker);
    assert_eq!(contacts[1].superior_id, Some(contacts[0].id));
    assert_eq!(contacts[1].closeness, kehu_domain::Closeness::Initial);
    // The contact's phone now finds the customer.
    let f = CustomerFilter {
        q: Some("0001".into()),
        ..Default::default()
    };
    let found = a
        .customers(&f, CustomerSort::CreatedAt, SortDir::Desc, None, 10)
        .await
        .unwrap();
    assert!(found.items.iter().any(|x| x.id == c.id));
    assert!(store.verify_aggregates().await.unwrap().is_empty());
    assert!(store.verify_purchases().await.unwrap().is_empty());
    // Rep A cannot import orders for rep B's customer: it does not exist for them.
    let more = csv("客户编号,下单日期,金额\nC-1,2026-06-01,5\n");
    let r = import(&a, Kind::Orders, &more, ImportOptions::default(), &none)
        .await
        .unwrap();
    assert_eq!((r.invalid_rows, r.applied), (1, 0));
    assert_eq!(r.errors[0].code, "unknown_customer");
}

async fn duplicates_against_the_database_are_refused(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let a = as_user(&store, &org.rep_a);
    customer(&a, "华为技术有限公司", Some("13800138000")).await;
    let file = csv("name,mobile\n华为技术 公司,+86 138 0013 8000\n别家,13800138001\n");
    let r = import(&a, Kind::Customers, &file, ImportOptions::default(), &none)
        .await
        .unwrap();
    assert_eq!((r.invalid_rows, r.applied), (1, 0));
    assert_eq!(
        (r.errors[0].line, r.errors[0].code.as_str()),
        (2, "duplicate")
    );
    let dry = ImportOptions {
        skip_invalid: true,
        dry_run: true,
    };
    let r = import(&a, Kind::Customers, &file, dry, &none)
        .await
        .unwrap();
    assert_eq!(r.applied, 0);
    assert_eq!(count(&a).await, 1);
    // A file without the name column is refused before any row.
    let err = import(
        &a,
        Kind::Customers,
        &csv("mobile\n13800000000\n"),
        ImportOptions::default(),
        &none,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("客户名称"), "{err}");
    // Read-only users cannot import.
    let v = as_user(&store, &org.viewer1);
    assert!(
        import(&v, Kind::Customers, &file, ImportOptions::default(), &none)
            .await
            .is_err()
    );
}

async fn a_customer_named_on_many_rows_is_one_customer(db: &TestDb) {
    let store = db.store().await;
    let org = org(&store).await;
    let m = as_user(&store, &org.manager1);
    let customers = "Customer Name,External ID,Owner\n\
         Acme Trading,C-1,rep.b\n\
         成都天府软件有限公司,C-2,rep.a\n";
    applies_fully(&m, Kind::Customers, customers, 2).await;
    // More rows naming one customer in a batch of rows than the importer
    // looks up at once: the name is in several of its lookups.
    let mut orders = String::from("customer,customer_external_id,order_date,amount\n");
    for n in 0..1_500 {
        if n < 750 {
            orders.push_str("成都天府软件有限公司,,2026-05-01,1\n");
        } else {
            orders.push_str(",C-1,2026-05-02,2\n");
        }
    }
    applies_fully(&m, Kind::Orders, &orders, 1_500).await;
    let all = m
        .customers(
            &CustomerFilter::default(),
            CustomerSort::CreatedAt,
            SortDir::Asc,
            None,
            10,
        )
        .await
        .unwrap()
        .items;
    let counts: Vec<(&str, i64)> = all
        .iter()
        .map(|c| (c.name.as_str(), c.aggregates.order_count))
        .collect();
    assert_eq!(
        counts,
        [("Acme Trading", 750), ("成都天府软件有限公司", 750)]
    );
}
