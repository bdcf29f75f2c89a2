//! Create and edit forms for customers, contacts, interactions and orders
//! (interactions are created by the quick form of the customer page). One generic
//! form page renders any list of fields; each field's error is shown next
//! to it in the user's language, and a failed save shows the user's input
//! again rather than losing it.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use kehu_domain::inputs::{ContactInput, CustomerInput, InteractionInput, OrderInput};
use kehu_domain::*;
use kehu_http::AppState;
use kehu_storage::StoreError;
use std::collections::HashMap;

use crate::i18n::Tr;
use crate::pages::{field_message, Me, Page};

/// How a field is entered.
#[derive(Clone, Copy)]
pub enum Input {
    Text,
    Date,
    Area,
    Check,
    /// One of the stored values of a domain enum (`value.<kind>.<key>` labels).
    Choice(&'static str, &'static [&'static str]),
    /// The same, or nothing.
    MaybeChoice(&'static str, &'static [&'static str]),
    /// One of choices known only at run time (e.g. the customer's contacts).
    Dynamic,
}

/// One field of a form: its name (also the validation field name and the
/// `field.<name>` label) and how it is entered.
pub struct Spec {
    pub name: &'static str,
    pub input: Input,
    pub required: bool,
}

const fn field(name: &'static str, input: Input) -> Spec {
    Spec {
        name,
        input,
        required: false,
    }
}

const fn required(name: &'static str, input: Input) -> Spec {
    Spec {
        name,
        input,
        required: true,
    }
}

pub struct FieldView {
    name: &'static str,
    label: String,
    value: String,
    required: bool,
    /// `text`, `date`, `area`, `check` or `select`.
    widget: &'static str,
    choices: Vec<(String, String, bool)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    heading: String,
    action: String,
    back: String,
    csrf: String,
    fields: Vec<FieldView>,
    errors: Vec<String>,
}

/// Everything a form page shows besides its fields.
pub struct FormMeta {
    pub heading: String,
    pub action: String,
    pub back: String,
}

/// Renders a form: `values` are what the fields show, `dynamic` the
/// choices of [`Input::Dynamic`] fields, `errors` from a failed save.
pub fn form_page(
    page: Page,
    meta: FormMeta,
    specs: &[Spec],
    values: &HashMap<String, String>,
    dynamic: &HashMap<&'static str, Vec<(String, String)>>,
    errors: &[FieldError],
) -> Response {
    let tr = page.tr;
    let fields = specs
        .iter()
        .map(|spec| {
            let value = values.get(spec.name).cloned().unwrap_or_default();
            let enum_choices = |kind: &str, keys: &[&'static str], blank: bool| {
                let mut out: Vec<(String, String, bool)> = Vec::new();
                if blank {
                    out.push((String::new(), "—".into(), value.is_empty()));
                }
                out.extend(
                    keys.iter()
                        .map(|k| (k.to_string(), tr.value(kind, k), value == *k)),
                );
                out
            };
            let (widget, choices) = match spec.input {
                Input::Text => ("text", Vec::new()),
                Input::Date => ("date", Vec::new()),
                Input::Area => ("area", Vec::new()),
                Input::Check => ("check", Vec::new()),
                Input::Choice(kind, keys) => ("select", enum_choices(kind, keys, false)),
                Input::MaybeChoice(kind, keys) => ("select", enum_choices(kind, keys, true)),
                Input::Dynamic => {
                    let mut out = vec![(String::new(), "—".to_owned(), value.is_empty())];
                    out.extend(
                        dynamic
                            .get(spec.name)
                            .into_iter()
                            .flatten()
                            .map(|(k, label)| (k.clone(), label.clone(), *k == value)),
                    );
                    ("select", out)
                }
            };
            FieldView {
                name: spec.name,
                label: tr.t_string(&format!("field.{}", spec.name)),
                required: spec.required,
                widget,
                choices,
                error: errors
                    .iter()
                    .find(|e| {
                        e.field == spec.name || e.field.starts_with(&format!("{}[", spec.name))
                    })
                    .map(|e| field_message(&tr, e)),
                value,
            }
        })
        .collect();
    let rendered = FormPage {
        tr,
        section: "customers",
        heading: meta.heading,
        action: meta.action,
        back: meta.back,
        csrf: page.me.csrf.clone(),
        fields,
        errors: errors.iter().map(|e| field_message(&tr, e)).collect(),
        me: Some(page.me),
    }
    .render();
    match rendered {
        Ok(html) => {
            let status = if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, Html(html)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "form template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A trimmed, non-empty form value.
fn get(v: &HashMap<String, String>, k: &str) -> Option<String> {
    v.get(k)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// On an edit, a blank field clears the stored value.
fn clearing(fields: &mut [&mut Option<String>]) {
    for f in fields {
        if f.is_none() {
            **f = Some(String::new());
        }
    }
}

fn strings(pairs: Vec<(&str, String)>) -> HashMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn o(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn csrf_of(values: &HashMap<String, String>) -> &str {
    values.get("_csrf").map_or("", String::as_str)
}

// --------------------------------------------------------------- customers

const CUSTOMER_FIELDS: &[Spec] = &[
    required("name", Input::Text),
    field("kind", Input::Choice("kind", CustomerKind::KEYS)),
    field(
        "classification",
        Input::Choice("classification", Classification::KEYS),
    ),
    field("status", Input::Choice("status", CustomerStatus::KEYS)),
    field("mobile", Input::Text),
    field("email", Input::Text),
    field("source", Input::Text),
    field("province", Input::Text),
    field("city", Input::Text),
    field("industry", Input::Text),
    field("size", Input::Text),
    field("external_id", Input::Text),
    field("tags", Input::Text),
    field("notes", Input::Area),
];

fn customer_input(v: &HashMap<String, String>) -> CustomerInput {
    CustomerInput {
        kind: get(v, "kind"),
        name: Some(v.get("name").cloned().unwrap_or_default()),
        classification: get(v, "classification"),
        status: get(v, "status"),
        source: get(v, "source"),
        province: get(v, "province"),
        city: get(v, "city"),
        industry: get(v, "industry"),
        size: get(v, "size"),
        mobile: get(v, "mobile"),
        email: get(v, "email"),
        external_id: get(v, "external_id"),
        notes: get(v, "notes"),
        tags: Some(
            get(v, "tags")
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

fn customer_form(
    page: Page,
    heading: String,
    action: String,
    back: String,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Response {
    form_page(
        page,
        FormMeta {
            heading,
            action,
            back,
        },
        CUSTOMER_FIELDS,
        values,
        &HashMap::new(),
        errors,
    )
}

pub async fn new_customer(page: Page) -> Response {
    let heading = page.tr.t("customers.new").to_owned();
    let defaults = strings(vec![
        ("kind", "company".into()),
        ("classification", "potential".into()),
        ("status", "active".into()),
    ]);
    customer_form(
        page,
        heading,
        "/customers/new".into(),
        "/customers".into(),
        &defaults,
        &[],
    )
}

pub async fn create_customer(
    State(state): State<AppState>,
    page: Page,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let result = page
        .scoped(&state)
        .create_customer(&customer_input(&values))
        .await;
    match result {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(StoreError::Invalid(v)) => {
            let heading = page.tr.t("customers.new").to_owned();
            customer_form(
                page,
                heading,
                "/customers/new".into(),
                "/customers".into(),
                &values,
                &v.0,
            )
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
    let values = strings(vec![
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
    ]);
    let heading = page.tr.f("customers.edit", &[("name", &c.name)]);
    customer_form(
        page,
        heading,
        format!("/customers/{id}/edit"),
        format!("/customers/{id}"),
        &values,
        &[],
    )
}

pub async fn update_customer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let mut input = customer_input(&values);
    clearing(&mut [
        &mut input.source,
        &mut input.province,
        &mut input.city,
        &mut input.industry,
        &mut input.size,
        &mut input.mobile,
        &mut input.email,
        &mut input.external_id,
        &mut input.notes,
    ]);
    match page
        .scoped(&state)
        .update_customer(CustomerId(id), input)
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(StoreError::Invalid(v)) => {
            let heading = page.tr.t("customers.edit_plain").to_owned();
            customer_form(
                page,
                heading,
                format!("/customers/{id}/edit"),
                format!("/customers/{id}"),
                &values,
                &v.0,
            )
        }
        Err(e) => page.error(e),
    }
}

// ---------------------------------------------------------------- contacts

const CONTACT_FIELDS: &[Spec] = &[
    required("name", Input::Text),
    field("department", Input::Text),
    field("title", Input::Text),
    field("level", Input::MaybeChoice("level", ContactLevel::KEYS)),
    field("superior_id", Input::Dynamic),
    field("is_key_decision_maker", Input::Check),
    field(
        "budget_authority",
        Input::MaybeChoice("budget_authority", BudgetAuthority::KEYS),
    ),
    field("closeness", Input::Choice("closeness", Closeness::KEYS)),
    field("business_area", Input::Text),
    field("authority_scope", Input::Text),
    field("mobile", Input::Text),
    field("wechat", Input::Text),
    field("email", Input::Text),
    field("other_channels", Input::Text),
    field("notes", Input::Area),
];

fn contact_input(customer: CustomerId, v: &HashMap<String, String>) -> ContactInput {
    ContactInput {
        customer_id: Some(customer),
        name: Some(v.get("name").cloned().unwrap_or_default()),
        department: get(v, "department"),
        title: get(v, "title"),
        level: get(v, "level"),
        superior_id: Some(
            get(v, "superior_id")
                .and_then(|s| s.parse().ok())
                .map(ContactId),
        ),
        business_area: get(v, "business_area"),
        authority_scope: get(v, "authority_scope"),
        budget_authority: get(v, "budget_authority"),
        is_key_decision_maker: Some(v.contains_key("is_key_decision_maker")),
        mobile: get(v, "mobile"),
        wechat: get(v, "wechat"),
        email: get(v, "email"),
        other_channels: get(v, "other_channels"),
        closeness: get(v, "closeness"),
        notes: get(v, "notes"),
    }
}

/// The form of a contact of `customer`; `editing` is the contact being
/// edited, which cannot be its own superior.
async fn contact_form(
    state: &AppState,
    page: Page,
    customer: CustomerId,
    editing: Option<ContactId>,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Response {
    let s = page.scoped(state);
    let (c, contacts) = match (s.customer(customer).await, s.contacts_of(customer).await) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(e), _) | (_, Err(e)) => return page.error(e),
    };
    let superiors = contacts
        .iter()
        .filter(|k| Some(k.id) != editing)
        .map(|k| {
            let label = match &k.title {
                Some(t) => format!("{} · {t}", k.name),
                None => k.name.clone(),
            };
            (k.id.0.to_string(), label)
        })
        .collect();
    let (heading, action) = match editing {
        Some(id) => (
            page.tr.f("contact.edit", &[("customer", &c.name)]),
            format!("/contacts/{id}/edit"),
        ),
        None => (
            page.tr.f("contact.new", &[("customer", &c.name)]),
            format!("/customers/{customer}/contacts/new"),
        ),
    };
    form_page(
        page,
        FormMeta {
            heading,
            action,
            back: format!("/customers/{customer}"),
        },
        CONTACT_FIELDS,
        values,
        &HashMap::from([("superior_id", superiors)]),
        errors,
    )
}

pub async fn new_contact(
    State(state): State<AppState>,
    page: Page,
    Path(customer): Path<i64>,
) -> Response {
    let defaults = strings(vec![("closeness", "unknown".into())]);
    contact_form(&state, page, CustomerId(customer), None, &defaults, &[]).await
}

pub async fn create_contact(
    State(state): State<AppState>,
    page: Page,
    Path(customer): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let customer = CustomerId(customer);
    match page
        .scoped(&state)
        .create_contact(&contact_input(customer, &values))
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{customer}")).into_response(),
        Err(StoreError::Invalid(v)) => {
            contact_form(&state, page, customer, None, &values, &v.0).await
        }
        Err(e) => page.error(e),
    }
}

pub async fn edit_contact(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> Response {
    let k = match page.scoped(&state).contact(ContactId(id)).await {
        Ok(k) => k,
        Err(e) => return page.error(e),
    };
    let mut values = strings(vec![
        ("name", k.name.clone()),
        ("department", o(&k.department)),
        ("title", o(&k.title)),
        (
            "level",
            k.level.map(|l| l.as_str().to_owned()).unwrap_or_default(),
        ),
        (
            "superior_id",
            k.superior_id.map(|s| s.0.to_string()).unwrap_or_default(),
        ),
        (
            "budget_authority",
            k.budget_authority
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ("closeness", k.closeness.as_str().into()),
        ("business_area", o(&k.business_area)),
        ("authority_scope", o(&k.authority_scope)),
        ("mobile", o(&k.mobile)),
        ("wechat", o(&k.wechat)),
        ("email", o(&k.email)),
        ("other_channels", o(&k.other_channels)),
        ("notes", o(&k.notes)),
    ]);
    if k.is_key_decision_maker {
        values.insert("is_key_decision_maker".into(), "on".into());
    }
    contact_form(&state, page, k.customer_id, Some(k.id), &values, &[]).await
}

pub async fn update_contact(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let s = page.scoped(&state);
    let k = match s.contact(ContactId(id)).await {
        Ok(k) => k,
        Err(e) => return page.error(e),
    };
    let mut input = contact_input(k.customer_id, &values);
    input.customer_id = None;
    clearing(&mut [
        &mut input.department,
        &mut input.title,
        &mut input.level,
        &mut input.business_area,
        &mut input.authority_scope,
        &mut input.budget_authority,
        &mut input.mobile,
        &mut input.wechat,
        &mut input.email,
        &mut input.other_channels,
        &mut input.notes,
    ]);
    match s.update_contact(k.id, input).await {
        Ok(_) => Redirect::to(&format!("/customers/{}", k.customer_id)).into_response(),
        Err(StoreError::Invalid(v)) => {
            contact_form(&state, page, k.customer_id, Some(k.id), &values, &v.0).await
        }
        Err(e) => page.error(e),
    }
}

// ------------------------------------------------------------------ orders

const ORDER_FIELDS: &[Spec] = &[
    required("order_date", Input::Date),
    required("amount", Input::Text),
    field("currency", Input::Text),
    field("cost", Input::Text),
    field("status", Input::Choice("order_status", OrderStatus::KEYS)),
    field("external_id", Input::Text),
    field("note", Input::Area),
];

fn order_input(customer: CustomerId, v: &HashMap<String, String>) -> OrderInput {
    OrderInput {
        customer_id: Some(customer),
        external_id: get(v, "external_id"),
        order_date: Some(v.get("order_date").cloned().unwrap_or_default()),
        amount: Some(AmountInputText(v.get("amount").cloned().unwrap_or_default()).into()),
        currency: get(v, "currency"),
        cost: get(v, "cost").map(|c| AmountInputText(c).into()),
        status: get(v, "status"),
        note: get(v, "note"),
    }
}

/// A form's amount, handed to the domain's parser unchanged.
struct AmountInputText(String);

impl From<AmountInputText> for kehu_domain::inputs::AmountInput {
    fn from(t: AmountInputText) -> Self {
        kehu_domain::inputs::AmountInput::Text(t.0)
    }
}

async fn order_form(
    state: &AppState,
    page: Page,
    customer: CustomerId,
    editing: Option<OrderId>,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Response {
    let c = match page.scoped(state).customer(customer).await {
        Ok(c) => c,
        Err(e) => return page.error(e),
    };
    let (heading, action) = match editing {
        Some(id) => (
            page.tr.f("order.edit", &[("customer", &c.name)]),
            format!("/orders/{id}/edit"),
        ),
        None => (
            page.tr.f("order.new", &[("customer", &c.name)]),
            format!("/customers/{customer}/orders/new"),
        ),
    };
    form_page(
        page,
        FormMeta {
            heading,
            action,
            back: format!("/customers/{customer}"),
        },
        ORDER_FIELDS,
        values,
        &HashMap::new(),
        errors,
    )
}

pub async fn new_order(
    State(state): State<AppState>,
    page: Page,
    Path(customer): Path<i64>,
) -> Response {
    let today = kehu_core::time::today_in(state.store.clock().now(), &page.me.user.time_zone);
    let defaults = strings(vec![
        ("order_date", today.to_string()),
        ("currency", "CNY".into()),
        ("status", "completed".into()),
    ]);
    order_form(&state, page, CustomerId(customer), None, &defaults, &[]).await
}

pub async fn create_order(
    State(state): State<AppState>,
    page: Page,
    Path(customer): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let customer = CustomerId(customer);
    match page
        .scoped(&state)
        .create_order(&order_input(customer, &values))
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{customer}")).into_response(),
        Err(StoreError::Invalid(v)) => {
            order_form(&state, page, customer, None, &values, &v.0).await
        }
        Err(e) => page.error(e),
    }
}

pub async fn edit_order(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> Response {
    let ord = match page.scoped(&state).order(OrderId(id)).await {
        Ok(x) => x,
        Err(e) => return page.error(e),
    };
    let values = strings(vec![
        ("order_date", ord.order_date.to_string()),
        ("amount", kehu_domain::money::format_minor(ord.amount)),
        ("currency", ord.currency.to_string()),
        (
            "cost",
            ord.cost
                .map(kehu_domain::money::format_minor)
                .unwrap_or_default(),
        ),
        ("status", ord.status.as_str().into()),
        ("external_id", o(&ord.external_id)),
        ("note", o(&ord.note)),
    ]);
    order_form(&state, page, ord.customer_id, Some(ord.id), &values, &[]).await
}

pub async fn update_order(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let s = page.scoped(&state);
    let ord = match s.order(OrderId(id)).await {
        Ok(x) => x,
        Err(e) => return page.error(e),
    };
    let mut input = order_input(ord.customer_id, &values);
    input.customer_id = None;
    clearing(&mut [&mut input.external_id, &mut input.note]);
    if input.cost.is_none() {
        input.cost = Some(AmountInputText(String::new()).into());
    }
    match s.update_order(ord.id, input).await {
        Ok(_) => Redirect::to(&format!("/customers/{}", ord.customer_id)).into_response(),
        Err(StoreError::Invalid(v)) => {
            order_form(&state, page, ord.customer_id, Some(ord.id), &values, &v.0).await
        }
        Err(e) => page.error(e),
    }
}

// ------------------------------------------------------------ interactions

const INTERACTION_FIELDS: &[Spec] = &[
    required("channel", Input::Choice("channel", Channel::KEYS)),
    field("contact_id", Input::Dynamic),
    required("occurred_at", Input::Text),
    required("content", Input::Area),
];

/// The form's local time as RFC 3339 for the domain; anything else is
/// passed on unchanged for the domain to name the field's problem.
fn occurred_at_of(v: &HashMap<String, String>, time_zone: &str) -> Option<String> {
    use chrono::TimeZone;
    let raw = v.get("occurred_at")?.trim().replace('T', " ");
    let local = chrono::NaiveDateTime::parse_from_str(&raw, crate::pages::LOCAL_TIME).ok();
    Some(
        local
            .and_then(|t| {
                kehu_core::time::zone(time_zone)
                    .from_local_datetime(&t)
                    .earliest()
            })
            .map_or(raw, |t| t.with_timezone(&chrono::Utc).to_rfc3339()),
    )
}

async fn interaction_form(
    state: &AppState,
    page: Page,
    it: &Interaction,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Response {
    let s = page.scoped(state);
    let (c, contacts) = match (
        s.customer(it.customer_id).await,
        s.contacts_of(it.customer_id).await,
    ) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(e), _) | (_, Err(e)) => return page.error(e),
    };
    let choices = contacts
        .iter()
        .map(|k| (k.id.0.to_string(), k.name.clone()))
        .collect();
    let heading = page.tr.f("interaction.edit", &[("customer", &c.name)]);
    form_page(
        page,
        FormMeta {
            heading,
            action: format!("/interactions/{}/edit", it.id),
            back: format!("/customers/{}#timeline", it.customer_id),
        },
        INTERACTION_FIELDS,
        values,
        &HashMap::from([("contact_id", choices)]),
        errors,
    )
}

pub async fn edit_interaction(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> Response {
    let it = match page.scoped(&state).interaction(InteractionId(id)).await {
        Ok(x) => x,
        Err(e) => return page.error(e),
    };
    let values = strings(vec![
        ("channel", it.channel.as_str().into()),
        (
            "contact_id",
            it.contact_id.map(|k| k.0.to_string()).unwrap_or_default(),
        ),
        ("occurred_at", page.when(it.occurred_at)),
        ("content", it.content.clone()),
    ]);
    interaction_form(&state, page, &it, &values, &[]).await
}

pub async fn update_interaction(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = page.refuse_csrf(csrf_of(&values)) {
        return r;
    }
    let s = page.scoped(&state);
    let it = match s.interaction(InteractionId(id)).await {
        Ok(x) => x,
        Err(e) => return page.error(e),
    };
    let input = InteractionInput {
        channel: get(&values, "channel"),
        contact_id: get(&values, "contact_id").and_then(|k| k.parse().ok().map(ContactId)),
        content: Some(values.get("content").cloned().unwrap_or_default()),
        occurred_at: occurred_at_of(&values, &page.me.user.time_zone),
        ..Default::default()
    };
    match s.update_interaction(it.id, input).await {
        Ok(_) => Redirect::to(&format!("/customers/{}#timeline", it.customer_id)).into_response(),
        Err(StoreError::Invalid(v)) => interaction_form(&state, page, &it, &values, &v.0).await,
        Err(e) => page.error(e),
    }
}
