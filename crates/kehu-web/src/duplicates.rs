//! Duplicates: suggested groups of customers that look like one, and a
//! side-by-side merge where the user picks which record survives and, field
//! by field, which value it keeps. Everything attached to the removed record
//! (contacts, interactions, tasks, orders, tags) moves to the survivor in
//! one transaction.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::inputs::CustomerInput;
use kehu_domain::{Customer, CustomerId};
use kehu_http::AppState;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::{money, region, render, store_error_text, user_names, Me, Page};

pub struct GroupView {
    reason: String,
    key: String,
    /// (id, name, owner, region, total, created)
    customers: Vec<(i64, String, String, String, String, String)>,
    first: i64,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    groups: Vec<GroupView>,
}

pub async fn duplicates(State(state): State<AppState>, page: Page) -> Response {
    let tr = page.tr;
    let groups = match page.scoped(&state).duplicate_groups(50).await {
        Ok(g) => g,
        Err(e) => return page.error(e),
    };
    let users = user_names(&state).await;
    let groups = groups
        .into_iter()
        .map(|g| GroupView {
            reason: tr.t_string(&format!("duplicates.by_{}", g.reason)),
            first: g.customers.first().map(|c| c.id.0).unwrap_or_default(),
            customers: g
                .customers
                .iter()
                .map(|c| {
                    (
                        c.id.0,
                        c.name.clone(),
                        users.get(&c.owner_id).cloned().unwrap_or_default(),
                        region(c),
                        money(c.aggregates.total_amount),
                        page.when(c.created_at),
                    )
                })
                .collect(),
            key: g.key,
        })
        .collect();
    render(DuplicatesPage {
        tr,
        section: "duplicates",
        groups,
        me: Some(page.me),
    })
}

/// One field compared: its name, label, both values, and which side is
/// picked by default.
pub struct FieldRow {
    name: &'static str,
    label: String,
    a: String,
    b: String,
    pick_b: bool,
}

#[derive(Template)]
#[template(path = "merge.html")]
struct MergePage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    a: i64,
    b: i64,
    a_title: String,
    b_title: String,
    rows: Vec<FieldRow>,
    error: Option<String>,
}

/// The fields a user may pick, and how to read each from a customer.
const PICKABLE: &[&str] = &[
    "name",
    "kind",
    "classification",
    "status",
    "mobile",
    "email",
    "source",
    "province",
    "city",
    "industry",
    "size",
    "external_id",
    "notes",
];

fn value_of(c: &Customer, field: &str) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match field {
        "name" => c.name.clone(),
        "kind" => c.kind.as_str().into(),
        "classification" => c.classification.as_str().into(),
        "status" => c.status.as_str().into(),
        "mobile" => o(&c.mobile),
        "email" => o(&c.email),
        "source" => o(&c.source),
        "province" => o(&c.province),
        "city" => o(&c.city),
        "industry" => o(&c.industry),
        "size" => o(&c.size),
        "external_id" => o(&c.external_id),
        "notes" => o(&c.notes),
        _ => String::new(),
    }
}

fn shown(tr: &Tr, field: &str, v: &str) -> String {
    match field {
        "kind" | "classification" | "status" if !v.is_empty() => tr.value(field, v),
        _ => v.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    a: i64,
    b: i64,
}

pub async fn compare(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<CompareQuery>,
) -> Response {
    compare_page(&state, page, q.a, q.b, None).await
}

async fn compare_page(
    state: &AppState,
    page: Page,
    a: i64,
    b: i64,
    error: Option<String>,
) -> Response {
    let tr = page.tr;
    let s = page.scoped(state);
    let (ca, cb) = match (
        s.customer(CustomerId(a)).await,
        s.customer(CustomerId(b)).await,
    ) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return page.error(e),
    };
    let users = user_names(state).await;
    let title = |c: &Customer| {
        format!(
            "#{} · {} · {} · {}",
            c.id,
            users.get(&c.owner_id).cloned().unwrap_or_default(),
            tr.f(
                "duplicates.orders",
                &[("count", &c.aggregates.order_count.to_string())]
            ),
            money(c.aggregates.total_amount)
        )
    };
    let rows = PICKABLE
        .iter()
        .map(|f| {
            let (va, vb) = (value_of(&ca, f), value_of(&cb, f));
            FieldRow {
                name: f,
                label: tr.t_string(&format!("field.{f}")),
                pick_b: va.is_empty() && !vb.is_empty(),
                a: shown(&tr, f, &va),
                b: shown(&tr, f, &vb),
            }
        })
        .collect();
    render(MergePage {
        tr,
        section: "duplicates",
        csrf: page.me.csrf.clone(),
        a,
        b,
        a_title: title(&ca),
        b_title: title(&cb),
        rows,
        error,
        me: Some(page.me),
    })
}

pub async fn merge(
    State(state): State<AppState>,
    page: Page,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(f.get("_csrf").map_or("", String::as_str)) {
        return r;
    }
    let id = |k: &str| f.get(k).and_then(|v| v.parse::<i64>().ok());
    let (Some(a), Some(b)) = (id("a"), id("b")) else {
        return page.error(kehu_storage::StoreError::NotFound);
    };
    // The survivor is "a" or "b"; each field says which side's value stays.
    let survivor_is_b = f.get("survivor").map(String::as_str) == Some("b");
    let (survivor, removed) = if survivor_is_b { (b, a) } else { (a, b) };
    let s = page.scoped(&state);
    let (cs, cr) = match (
        s.customer(CustomerId(survivor)).await,
        s.customer(CustomerId(removed)).await,
    ) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return page.error(e),
    };
    let mut keep = CustomerInput::default();
    let mut any = false;
    for field in PICKABLE {
        let side = f.get(*field).map(String::as_str).unwrap_or("a");
        let from_removed = (side == "b") != survivor_is_b;
        if !from_removed {
            continue;
        }
        let v = value_of(&cr, field);
        if v == value_of(&cs, field) {
            continue;
        }
        any = true;
        let v = Some(v);
        match *field {
            "name" => keep.name = v,
            "kind" => keep.kind = v,
            "classification" => keep.classification = v,
            "status" => keep.status = v,
            "mobile" => keep.mobile = v,
            "email" => keep.email = v,
            "source" => keep.source = v,
            "province" => keep.province = v,
            "city" => keep.city = v,
            "industry" => keep.industry = v,
            "size" => keep.size = v,
            "external_id" => keep.external_id = v,
            "notes" => keep.notes = v,
            _ => {}
        }
    }
    let keep = any.then_some(keep);
    match s
        .merge_customers(CustomerId(survivor), CustomerId(removed), keep)
        .await
    {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(e @ kehu_storage::StoreError::Invalid(_)) => {
            let msg = store_error_text(&page.tr, e);
            compare_page(&state, page, a, b, Some(msg)).await
        }
        Err(e) => page.error(e),
    }
}
