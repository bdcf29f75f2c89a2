//! The API's contract: sessions with CSRF, tokens, error shapes and codes,
//! health, metrics and the OpenAPI document.

use kehu_domain::inputs::UserInput;
use kehu_testkit::{on_both_engines, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::json;

use crate::fixtures::*;

on_both_engines!(
    sessions_need_the_csrf_header_to_change_data,
    tokens_work_until_revoked,
    errors_name_the_field_and_use_the_right_status,
    a_customer_360_view_through_the_api,
    files_go_in_and_out_through_the_api,
);

async fn files_go_in_and_out_through_the_api(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = app.as_user(&org.rep_a).await;
    let post = |path: String, body: &'static str| {
        let a = a.clone();
        async move {
            let r = a
                .http
                .post(format!("{}{path}", a.base))
                .bearer_auth(a.token.as_ref().unwrap())
                .header("x-file-name", "客户.csv")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let bad = "客户名称,手机\n甲公司,13800000001\n乙公司,not-a-phone\n";
    let (s, report) = post("/api/v1/import/customers".into(), bad).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], 0);
    assert_eq!(report["errors"][0]["line"], 3);
    assert_eq!(report["errors"][0]["column"], "手机");
    let (_, report) = post("/api/v1/import/customers?skip_invalid=true".into(), bad).await;
    assert_eq!(report["applied"], 1);
    let (s, v) = post("/api/v1/import/customers".into(), "手机\n138\n").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_column"))
    );
    let (s, _) = post("/api/v1/import/widgets".into(), bad).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let r = a
        .http
        .get(format!(
            "{}/api/v1/export/customers?format=csv&q=%E7%94%B2",
            a.base
        ))
        .bearer_auth(a.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("外部编号,客户名称"), "{text}");
    assert!(
        text.contains("甲公司") && !text.contains("乙公司"),
        "{text}"
    );
    // Another rep's export is empty: scope applies to files too.
    let c = app.as_user(&org.rep_c).await;
    let r = c
        .http
        .get(format!("{}/api/v1/export/customers?format=xlsx", c.base))
        .bearer_auth(c.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    // Orders of the filtered customers, in English.
    let (_, c) = a.get("/api/v1/customers?q=%E7%94%B2").await;
    let id = c["items"][0]["id"].as_i64().unwrap();
    a.post(
        "/api/v1/orders",
        serde_json::json!({"customer_id": id, "order_date": "2026-02-03", "amount": "12.30"}),
    )
    .await;
    let r = a
        .http
        .get(format!(
            "{}/api/v1/export/orders?lang=en&q=%E7%94%B2",
            a.base
        ))
        .bearer_auth(a.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains("customer,customer external id,order number") || text.contains("order date"),
        "{text}"
    );
    assert!(
        text.contains("甲公司,,,2026-02-03,12.30,CNY,,completed"),
        "{text}"
    );
}

async fn sessions_need_the_csrf_header_to_change_data(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let input = UserInput {
        username: Some("li.lei".into()),
        password: Some("correct horse".into()),
        ..Default::default()
    };
    kehu_core::accounts::create_user(&app.store, None, &input)
        .await
        .unwrap();
    let (_, status) = app.logged_in("li.lei", "wrong password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, status) = app.logged_in("nobody", "correct horse").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (mut api, status) = app.logged_in("LI.LEI", "correct horse").await;
    assert_eq!(status, StatusCode::OK);
    let (s, me) = api.get("/api/v1/me").await;
    assert_eq!(
        (s, me["username"].as_str()),
        (StatusCode::OK, Some("li.lei"))
    );
    let csrf = api.csrf.take();
    let (s, v) = api
        .post("/api/v1/customers", json!({"name": "无令牌"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    api.csrf = csrf;
    let (s, _) = api
        .post("/api/v1/customers", json!({"name": "有令牌"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(api.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn tokens_work_until_revoked(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = app.as_user(&org.rep_a).await;
    let (s, created) = a
        .post("/api/v1/me/tokens", json!({"name": "ERP sync"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kehu_"));
    let mut b = app.anonymous();
    b.token = Some(token);
    assert_eq!(b.get("/api/v1/me").await.1["username"], "rep.a");
    let (_, list) = a.get("/api/v1/me/tokens").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none()),
        "never shown again"
    );
    let id = created["info"]["id"].as_i64().unwrap();
    // Someone else cannot revoke it.
    let c = app.as_user(&org.rep_c).await;
    assert_eq!(
        c.delete(&format!("/api/v1/me/tokens/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.delete(&format!("/api/v1/me/tokens/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(b.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn errors_name_the_field_and_use_the_right_status(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = app.as_user(&org.rep_a).await;
    let (s, v) = a
        .post(
            "/api/v1/customers",
            json!({"name": "", "classification": "vip"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"classification"),
        "{v}"
    );
    assert!(v["error"]["field"].is_string());

    let raw = a
        .http
        .post(format!("{}/api/v1/customers", app.base))
        .bearer_auth(a.token.as_ref().unwrap())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let (s, v) = a
        .post("/api/v1/customers", json!({"name": "x", "nmae": "typo"}))
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {v}"
    );

    let (s, _) = a
        .post(
            "/api/v1/customers",
            json!({"name": "甲", "external_id": "E1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = a
        .post(
            "/api/v1/customers",
            json!({"name": "乙", "external_id": "E1"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["field"], "external_id");

    let (s, v) = a.get("/api/v1/customers?sort=shoe_size").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "sort");
    let (s, v) = a.get("/api/v1/customers?cursor=garbage").await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"))
    );
    assert_eq!(
        a.get("/api/v1/customers/not-a-number").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/api/v1/customers/999999").await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = a.get("/api/v1/no/such/thing").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_route"))
    );

    let anon = app.anonymous();
    assert_eq!(anon.get("/healthz").await, (StatusCode::OK, json!("ok")));
    let (s, doc) = anon.get("/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["schemas"]["CustomerInput"].is_object());
    let (s, metrics) = anon.get("/metrics").await;
    assert_eq!(s, StatusCode::OK);
    assert!(metrics
        .as_str()
        .unwrap()
        .contains("kehu_http_requests_total"));
}

async fn a_customer_360_view_through_the_api(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let a = app.as_user(&org.rep_a).await;
    let (_, c) = a
        .post(
            "/api/v1/customers",
            json!({"name": "成都天府软件有限公司", "province": "四川", "city": "成都",
                   "tags": ["行业: 软件", "意向: 高"], "attributes": {"年营收": "2000万-2亿"}}),
        )
        .await;
    let id = c["id"].as_i64().unwrap();
    let (s, contact) = a
        .post(
            "/api/v1/contacts",
            json!({"customer_id": id, "name": "周总", "title": "总经理", "level": "executive",
                   "budget_authority": "final", "is_key_decision_maker": true, "closeness": "regular",
                   "mobile": "13512345678", "wechat": "zhou_ceo"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{contact}");
    for (date, amount, cost) in [
        ("2026-03-01", "1000.10", Some("600")),
        ("2026-05-01", "2000", None),
    ] {
        let (s, o) = a
            .post(
                "/api/v1/orders",
                json!({"customer_id": id, "order_date": date, "amount": amount, "cost": cost}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        assert_eq!(o["currency"], "CNY");
    }
    let (s, i) = a
        .post(
            "/api/v1/interactions",
            json!({"customer_id": id, "contact_id": contact["id"], "channel": "visit",
                   "content": "拜访周总，有明确预算", "next_follow_up": "2030-01-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{i}");
    let (_, c) = a.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(c["aggregates"]["order_count"], 2);
    assert_eq!(
        c["aggregates"]["total_amount"], "3000.10",
        "money is decimal text"
    );
    assert_eq!(c["aggregates"]["total_profit"], "400.10");
    assert_eq!(c["aggregates"]["first_order_date"], "2026-03-01");
    assert_eq!(c["tags"].as_array().unwrap().len(), 2);
    let (_, contacts) = a.get(&format!("/api/v1/customers/{id}/contacts")).await;
    assert_eq!(contacts[0]["budget_authority"], "final");
    let (_, timeline) = a
        .get(&format!("/api/v1/customers/{id}/interactions?limit=20"))
        .await;
    assert_eq!(timeline["items"][0]["content"], "拜访周总，有明确预算");
    let (_, follow) = a.get("/api/v1/follow-ups").await;
    assert_eq!(follow["upcoming"].as_array().unwrap().len(), 1);
    // Filters and search through the query string.
    for q in [
        "classification=potential",
        "province=四川&city=成都",
        "tag=行业:软件",
        "q=tfrj",
        "q=tianfu",
        "q=5678",
        "sort=total_amount&dir=desc&limit=1",
        "created_from=2020-01-01",
    ] {
        let (s, page) = a.get(&format!("/api/v1/customers?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{q}");
    }
    let (_, page) = a.get("/api/v1/customers?created_to=2020-01-01").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
}
