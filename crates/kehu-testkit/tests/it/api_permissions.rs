//! The permission matrix, endpoint by endpoint, through the real HTTP API:
//! anonymous → 401; a rep on another rep's records → 404; a manager outside
//! the team → 404; read-only writes → 403.

use kehu_testkit::{on_both_engines, Api, TestApp, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures::*;

on_both_engines!(
    every_endpoint_refuses_anonymous_callers,
    scope_is_enforced_per_endpoint
);

/// Every operation in the OpenAPI document, with ids filled in.
fn documented_operations() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(kehu_http::openapi()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "patch", "put", "delete"] {
            if item.get(m).is_some() {
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                ops.push((method, path.replace("{id}", "1")));
            }
        }
    }
    ops
}

async fn every_endpoint_refuses_anonymous_callers(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    org(&app.store).await;
    let anon = app.anonymous();
    let ops = documented_operations();
    assert!(
        ops.len() >= 40,
        "the API documents {} operations",
        ops.len()
    );
    for (method, path) in ops {
        let public = path == "/api/v1/auth/login" || path == "/healthz";
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let (status, value) = anon.call(method.clone(), &path, body.as_ref()).await;
        if public {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            continue;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {value}");
        assert_eq!(value["error"]["code"], "unauthenticated", "{method} {path}");
    }
    // A revoked or made-up token is no better than none.
    let mut forged = app.anonymous();
    forged.token = Some("kehu_made_up".into());
    assert_eq!(
        forged.get("/api/v1/customers").await.0,
        StatusCode::UNAUTHORIZED
    );
}

struct Records {
    customer: i64,
    other_customer: i64,
    contact: i64,
    other_contact: i64,
    interaction: i64,
    task: i64,
    order: i64,
}

async fn records_of(b: &Api) -> Records {
    let post = |path: &'static str, body: Value| {
        let b = b.clone();
        async move {
            let (s, v) = b.post(path, body).await;
            assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
            v["id"].as_i64().unwrap()
        }
    };
    let customer = post("/api/v1/customers", json!({"name": "乙的客户"})).await;
    let other_customer = post("/api/v1/customers", json!({"name": "乙的另一个客户"})).await;
    let contact = post(
        "/api/v1/contacts",
        json!({"customer_id": customer, "name": "联系人"}),
    )
    .await;
    let other_contact = post(
        "/api/v1/contacts",
        json!({"customer_id": customer, "name": "联系人二"}),
    )
    .await;
    let interaction = post(
        "/api/v1/interactions",
        json!({"customer_id": customer, "channel": "call", "content": "电话"}),
    )
    .await;
    let task = post(
        "/api/v1/tasks",
        json!({"customer_id": customer, "title": "回访", "due_date": "2030-01-01"}),
    )
    .await;
    let order = post(
        "/api/v1/orders",
        json!({"customer_id": customer, "order_date": "2026-01-01", "amount": "88.00"}),
    )
    .await;
    Records {
        customer,
        other_customer,
        contact,
        other_contact,
        interaction,
        task,
        order,
    }
}

/// (method, path, body, is_write) for every operation on one rep's records.
fn record_operations(r: &Records) -> Vec<(Method, String, Option<Value>, bool)> {
    let c = r.customer;
    let mut ops = vec![
        (Method::GET, format!("/api/v1/customers/{c}"), None, false),
        (
            Method::PATCH,
            format!("/api/v1/customers/{c}"),
            Some(json!({"city": "北京"})),
            true,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{c}/contacts"),
            None,
            false,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{c}/interactions"),
            None,
            false,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{c}/tasks"),
            None,
            false,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{c}/orders"),
            None,
            false,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{c}/audit"),
            None,
            false,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{c}/analytics"),
            None,
            false,
        ),
        (
            Method::POST,
            "/api/v1/customers/tag".into(),
            Some(json!({"customer_ids": [c], "tag": "意向: 高"})),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{c}/merge"),
            Some(json!({"removed_id": r.other_customer})),
            true,
        ),
        (
            Method::POST,
            "/api/v1/customers/transfer".into(),
            Some(json!({"customer_ids": [c], "to_user_id": 1})),
            true,
        ),
        (
            Method::POST,
            "/api/v1/contacts".into(),
            Some(json!({"customer_id": c, "name": "x"})),
            true,
        ),
        (
            Method::POST,
            "/api/v1/interactions".into(),
            Some(json!({"customer_id": c, "channel": "call", "content": "x"})),
            true,
        ),
        (
            Method::POST,
            "/api/v1/tasks".into(),
            Some(json!({"customer_id": c, "title": "x", "due_date": "2030-01-01"})),
            true,
        ),
        (
            Method::POST,
            "/api/v1/orders".into(),
            Some(json!({"customer_id": c, "order_date": "2026-01-01", "amount": "1"})),
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/contacts/{}/merge", r.contact),
            Some(json!({"removed_id": r.other_contact})),
            true,
        ),
    ];
    for (kind, id, patch) in [
        ("contacts", r.contact, json!({"title": "经理"})),
        ("interactions", r.interaction, json!({"content": "改"})),
        ("tasks", r.task, json!({"done": true})),
        ("orders", r.order, json!({"amount": "99"})),
    ] {
        ops.push((Method::GET, format!("/api/v1/{kind}/{id}"), None, false));
        ops.push((
            Method::PATCH,
            format!("/api/v1/{kind}/{id}"),
            Some(patch),
            true,
        ));
    }
    // Deletes last, children before the customer.
    for (kind, id) in [
        ("orders", r.order),
        ("tasks", r.task),
        ("interactions", r.interaction),
        ("contacts", r.contact),
        ("customers", r.customer),
    ] {
        ops.push((Method::DELETE, format!("/api/v1/{kind}/{id}"), None, true));
    }
    ops
}

async fn scope_is_enforced_per_endpoint(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let org = org(&app.store).await;
    let team2 = app.store.teams().await.unwrap()[1].id;
    let manager2 = user(&app.store, "manager2", "manager", Some(team2)).await;
    let rep_a = app.as_user(&org.rep_a).await;
    let rep_b = app.as_user(&org.rep_b).await;
    let manager_out = app.as_user(&manager2).await;
    let viewer = app.as_user(&org.viewer1).await;
    let records = records_of(&rep_b).await;
    let ops = record_operations(&records);
    for (method, path, body, write) in &ops {
        for (who, api) in [("rep A", &rep_a), ("manager of team 2", &manager_out)] {
            let (status, v) = api.call(method.clone(), path, body.as_ref()).await;
            if who == "rep A" && path.ends_with("/transfer") {
                // Reps may not transfer at all: refused by role, nothing revealed.
                assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
                continue;
            }
            assert_eq!(status, StatusCode::NOT_FOUND, "{who}: {method} {path}: {v}");
            assert_eq!(v["error"]["code"], "not_found");
        }
        let (status, v) = viewer.call(method.clone(), path, body.as_ref()).await;
        let expected = if *write {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "read-only: {method} {path}: {v}");
    }
    // Nothing above changed rep B's records: they all still answer.
    for (method, path, body, write) in &ops {
        if *method == Method::GET {
            assert_eq!(rep_b.get(path).await.0, StatusCode::OK, "{path}");
        }
        let _ = (body, write);
    }
    // The list endpoints filter instead of refusing.
    let (_, list) = rep_a.get("/api/v1/customers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (_, list) = manager_out.get("/api/v1/customers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (_, list) = viewer.get("/api/v1/customers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // Rep B can do everything rep A could not, deletes included.
    for (method, path, body, _) in &ops {
        let (status, v) = rep_b.call(method.clone(), path, body.as_ref()).await;
        if path.contains("/transfer") {
            assert_eq!(status, StatusCode::FORBIDDEN, "reps do not transfer: {v}");
        } else if *method == Method::DELETE && path.starts_with("/api/v1/customers/") {
            // The order created above makes this customer revenue history.
            assert_eq!(status, StatusCode::CONFLICT, "{v}");
            assert_eq!(v["error"]["field"], "id");
            let admin = app.as_user(&org.admin).await;
            assert_eq!(admin.delete(path).await.0, StatusCode::NO_CONTENT);
            assert_eq!(rep_b.get(path).await.0, StatusCode::NOT_FOUND);
        } else {
            assert!(status.is_success(), "rep B: {method} {path}: {status} {v}");
        }
    }
    // Admin-only endpoints.
    let (s, _) = rep_a
        .post(
            "/api/v1/users",
            json!({"username": "x", "password": "12345678"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = viewer.post("/api/v1/teams", json!({"name": "t"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Company-wide analytics: admins only.
    for api in [&rep_a, &manager_out, &viewer] {
        assert_eq!(
            api.get("/api/v1/analytics/latest").await.0,
            StatusCode::FORBIDDEN
        );
        let (s, _) = api.post("/api/v1/analytics/run", json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = api.post("/api/v1/analytics/refresh", json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let admin = app.as_user(&org.admin).await;
    assert_eq!(
        admin.get("/api/v1/analytics/latest").await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = admin.post("/api/v1/analytics/refresh", json!({})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no run to refresh yet: {v}"
    );
    let (s, fresh) = rep_b
        .post("/api/v1/customers", json!({"name": "乙的新客户"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{fresh}");
    let (s, v) = admin
        .post("/api/v1/analytics/run", json!({"as_of": "2026-06-30"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["customers"], 1, "rep B's new customer: {v}");
    // Runs move forward and take sane settings; a refused run keeps the
    // results as they are.
    for (body, field) in [
        (json!({"as_of": "2026-01-01"}), "as_of"),
        (json!({"as_of": "2099-01-01"}), "as_of"),
        (
            json!({"monthly_discount_rate": 1.5}),
            "monthly_discount_rate",
        ),
        (json!({"horizon_months": 0}), "horizon_months"),
    ] {
        let (s, v) = admin.post("/api/v1/analytics/run", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let (s, v) = admin.get("/api/v1/analytics/latest").await;
    assert_eq!(
        (s, &v["as_of"]),
        (StatusCode::OK, &json!("2026-06-30")),
        "{v}"
    );
    let path = format!("/api/v1/customers/{}/analytics", fresh["id"]);
    let (s, v) = rep_b.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"]["lifecycle_stage"], "acquisition", "{v}");
    assert_eq!(rep_a.get(&path).await.0, StatusCode::NOT_FOUND);

    // A customer added after the run gets results from a refresh.
    let (s, later) = rep_b
        .post("/api/v1/customers", json!({"name": "乙的后来客户"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{later}");
    let path = format!("/api/v1/customers/{}/analytics", later["id"]);
    assert_eq!(rep_b.get(&path).await.1["results"], Value::Null);
    let (s, v) = admin.post("/api/v1/analytics/refresh", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["as_of"], "2026-06-30", "{v}");
    assert!(v["customers"].as_u64().unwrap() >= 1, "{v}");
    let (s, v) = rep_b.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"]["as_of"], "2026-06-30", "{v}");
}
