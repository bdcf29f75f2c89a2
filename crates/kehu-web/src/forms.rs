//! Creating and editing customers from the browser, with each field's
//! error shown next to it in the user's language.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::inputs::CustomerInput;
use kehu_domain::*;
use kehu_http::AppState;
use kehu_storage::StoreError;
use std::collections::HashMap;

use crate::i18n::Tr;
use crate::pages::{field_message, Me, Page};

pub struct FieldView {
    name: &'static str,
    label: String,
    value: String,
    required: bool,
    choices: Vec<(&'static str, String, bool)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct FormPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    heading: String,
    action: String,
    csrf: String,
    fields: Vec<FieldView>,
    errors: Vec<String>,
}

/// The editable fields, in form order, with the kind of choice each takes.
const FIELDS: &[(&str, Option<&str>)] = &[
    ("name", None),
    ("kind", Some("kind")),
    ("classification", Some("classification")),
    ("status", Some("status")),
    ("mobile", None),
    ("email", None),
    ("source", None),
    ("province", None),
    ("city", None),
    ("industry", None),
    ("size", None),
    ("external_id", None),
    ("tags", None),
    ("notes", None),
];

fn keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "kind" => CustomerKind::KEYS,
        "classification" => Classification::KEYS,
        _ => CustomerStatus::KEYS,
    }
}

fn form_page(
    page: Page,
    heading: String,
    action: String,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Response {
    let tr = page.tr;
    let fields = FIELDS
        .iter()
        .map(|(name, choice)| {
            let value = values.get(*name).cloned().unwrap_or_default();
            FieldView {
                name,
                label: tr.t_string(&format!("field.{name}")),
                required: *name == "name",
                choices: choice
                    .map(|kind| {
                        keys(kind)
                            .iter()
                            .map(|k| (*k, tr.value(kind, k), value == *k))
                            .collect()
                    })
                    .unwrap_or_default(),
                error: errors
                    .iter()
                    .find(|e| e.field == *name || e.field.starts_with(&format!("{name}[")))
                    .map(|e| field_message(&tr, e)),
                value,
            }
        })
        .collect();
    let rendered = FormPage {
        tr,
        section: "customers",
        heading,
        action,
        csrf: page.me.csrf.clone(),
        fields,
        errors: errors.iter().map(|e| field_message(&tr, e)).collect(),
        me: Some(page.me),
    }
    .render();
    match rendered {
        Ok(html) => {
            let status = if errors.is_empty() {
                axum::http::StatusCode::OK
            } else {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, axum::response::Html(html)).into_response()
        }
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn input_of(v: &HashMap<String, String>) -> CustomerInput {
    let get = |k: &str| {
        v.get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    CustomerInput {
        kind: get("kind"),
        name: Some(v.get("name").cloned().unwrap_or_default()),
        classification: get("classification"),
        status: get("status"),
        source: get("source"),
        province: get("province"),
        city: get("city"),
        industry: get("industry"),
        size: get("size"),
        mobile: get("mobile"),
        email: get("email"),
        external_id: get("external_id"),
        notes: get("notes"),
        tags: Some(
            get("tags")
                .map(|t| {
                    t.split([';', '；', ',', '，'])
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        ),
        ..Default::default()
    }
}

pub async fn new_customer(page: Page) -> Response {
    let heading = page.tr.t("customers.new").to_owned();
    let mut defaults = HashMap::new();
    defaults.insert("kind".to_owned(), "company".to_owned());
    defaults.insert("classification".to_owned(), "potential".to_owned());
    defaults.insert("status".to_owned(), "active".to_owned());
    form_page(page, heading, "/customers/new".into(), &defaults, &[])
}

pub async fn create_customer(
    State(state): State<AppState>,
    page: Page,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(values.get("_csrf").map_or("", String::as_str)) {
        return r;
    }
    let result = page
        .scoped(&state)
        .create_customer(&input_of(&values))
        .await;
    match result {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(StoreError::Invalid(v)) => {
            let heading = page.tr.t("customers.new").to_owned();
            form_page(page, heading, "/customers/new".into(), &values, &v.0)
        }
        Err(e) => page.error(e),
    }
}

pub async fn edit_customer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> Response {
    let c = match page.scoped(&state).customer(CustomerId(id)).await {
        Ok(c) => c,
        Err(e) => return page.error(e),
    };
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let values: HashMap<String, String> = [
        ("name", c.name.clone()),
        ("kind", c.kind.as_str().into()),
        ("classification", c.classification.as_str().into()),
        ("status", c.status.as_str().into()),
        ("mobile", o(&c.mobile)),
        ("email", o(&c.email)),
        ("source", o(&c.source)),
        ("province", o(&c.province)),
        ("city", o(&c.city)),
        ("industry", o(&c.industry)),
        ("size", o(&c.size)),
        ("external_id", o(&c.external_id)),
        (
            "tags",
            c.tags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("notes", o(&c.notes)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let heading = page.tr.f("customers.edit", &[("name", &c.name)]);
    form_page(page, heading, format!("/customers/{id}/edit"), &values, &[])
}

pub async fn update_customer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(values.get("_csrf").map_or("", String::as_str)) {
        return r;
    }
    let mut input = input_of(&values);
    // Blank fields of the form clear the stored value.
    let clear = |v: &mut Option<String>| {
        if v.is_none() {
            *v = Some(String::new());
        }
    };
    for f in [
        &mut input.source,
        &mut input.province,
        &mut input.city,
        &mut input.industry,
        &mut input.size,
        &mut input.mobile,
        &mut input.email,
        &mut input.external_id,
        &mut input.notes,
    ] {
        clear(f);
    }
    match page
        .scoped(&state)
        .update_customer(CustomerId(id), input)
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(StoreError::Invalid(v)) => {
            let heading = page.tr.t("customers.edit_plain").to_owned();
            form_page(
                page,
                heading,
                format!("/customers/{id}/edit"),
                &values,
                &v.0,
            )
        }
        Err(e) => page.error(e),
    }
}
