//! The customer 360° page: header with the key figures, contacts and their
//! decision-making roles, the timeline (filterable by channel), tasks,
//! orders, the record's history, and the quick "log an interaction + next
//! follow-up" form.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kehu_domain::inputs::InteractionInput;
use kehu_domain::*;
use kehu_http::AppState;
use kehu_storage::StoreError;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::{encode_query, money, region, render, store_error_text, Me, Page};

pub struct ContactView {
    id: i64,
    name: String,
    role: String,
    superior: String,
    kdm: bool,
    closeness: String,
    closeness_key: &'static str,
    budget: String,
    reach: String,
}

pub struct InteractionView {
    id: i64,
    channel: String,
    when: String,
    by: String,
    with: String,
    content: String,
    next: String,
}

pub struct OrderView {
    id: i64,
    date: String,
    amount: String,
    profit: String,
    status: String,
    cancelled: bool,
}

pub struct TaskLine {
    title: String,
    due: String,
    done: bool,
    overdue: bool,
}

pub struct AuditLine {
    when: String,
    who: String,
    action: String,
    changes: Vec<String>,
}

pub struct Figure {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    id: i64,
    name: String,
    classification: String,
    status: String,
    tags: Vec<String>,
    figures: Vec<Figure>,
    details: Vec<Figure>,
    contacts: Vec<ContactView>,
    contact_choices: Vec<(i64, String)>,
    timeline: Vec<InteractionView>,
    /// (channel key or "" for all, label, selected, link)
    channel_filter: Vec<(String, bool, String)>,
    more_url: Option<String>,
    tasks: Vec<TaskLine>,
    orders: Vec<OrderView>,
    audit: Vec<AuditLine>,
    /// `None` before the first analysis run.
    insight: Option<crate::insight::InsightPanel>,
    channels: Vec<(&'static str, String)>,
    flash: Option<String>,
    can_write: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct CustomerPageQuery {
    channel: Option<String>,
    cursor: Option<String>,
}

pub async fn customer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Query(q): Query<CustomerPageQuery>,
) -> Response {
    customer_page(&state, page, CustomerId(id), q, None).await
}

async fn customer_page(
    state: &AppState,
    page: Page,
    id: CustomerId,
    q: CustomerPageQuery,
    flash: Option<String>,
) -> Response {
    let tr = page.tr;
    let s = page.scoped(state);
    let c = match s.customer(id).await {
        Ok(c) => c,
        Err(e) => return page.error(e),
    };
    let channel = q
        .channel
        .as_deref()
        .filter(|c| !c.is_empty())
        .and_then(|c| Channel::parse("channel", c).ok());
    let (contacts, timeline, orders, tasks, audit) = match (
        s.contacts_of(id).await,
        s.interactions_of(id, channel, q.cursor.as_deref(), 20)
            .await,
        s.orders_of(id, None, 20).await,
        s.tasks_of(id).await,
        s.audit_of("customer", id.0).await,
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => (a, b, c.items, d, e),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), ..) | (.., Err(e), _) | (.., Err(e)) => {
            return page.error(e)
        }
    };
    let insight = match (
        s.customer_analytics(id).await,
        s.lifecycle_history(id).await,
    ) {
        (Ok(Some(a)), Ok(history)) => {
            // The horizon and the selection indicators of the latest run,
            // which wrote these results (its settings are in its summary).
            let summary = state
                .store
                .latest_analysis_run()
                .await
                .ok()
                .flatten()
                .map(|r| r.summary)
                .unwrap_or_default();
            let horizon = summary["config"]["clv"]["horizon_months"]
                .as_u64()
                .and_then(|h| u32::try_from(h).ok())
                .unwrap_or(12);
            let indicators = kehu_core::analysis::indicators_of(&summary);
            Some(crate::insight::panel(
                &tr,
                &a,
                &history,
                horizon,
                &indicators,
            ))
        }
        (Ok(None), _) => None,
        (Err(e), _) | (_, Err(e)) => return page.error(e),
    };
    let users = crate::pages::user_names(state).await;
    let user = |u: &UserId| users.get(u).cloned().unwrap_or_default();
    let contact_names: HashMap<ContactId, String> =
        contacts.iter().map(|k| (k.id, k.name.clone())).collect();
    let a = &c.aggregates;
    let date = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "—".into(), |d| d.to_string());
    let mut figures = vec![
        Figure {
            label: tr.t("field.total_amount").into(),
            value: money(a.total_amount),
        },
        Figure {
            label: tr.t("field.order_count").into(),
            value: a.order_count.to_string(),
        },
        Figure {
            label: tr.t("field.last_order").into(),
            value: date(a.last_order_date),
        },
        Figure {
            label: tr.t("field.first_order").into(),
            value: date(a.first_order_date),
        },
    ];
    if a.profit_order_count > 0 {
        figures.push(Figure {
            label: tr.t("field.total_profit").into(),
            value: money(a.total_profit),
        });
    }
    let detail = |label: &str, v: Option<String>| Figure {
        label: tr.t_string(&format!("field.{label}")),
        value: v.unwrap_or_default(),
    };
    let details = vec![
        detail("owner", Some(user(&c.owner_id))),
        detail("region", Some(region(&c))),
        detail("industry", c.industry.clone()),
        detail("source", c.source.clone()),
        detail("size", c.size.clone()),
        detail("mobile", c.mobile.clone()),
        detail("email", c.email.clone()),
        detail("kind", Some(tr.value("kind", c.kind.as_str()))),
    ]
    .into_iter()
    .filter(|f| !f.value.is_empty())
    .collect();
    let base = format!("/customers/{id}");
    let mut channel_filter = vec![(
        tr.t("common.all").to_owned(),
        channel.is_none(),
        base.clone(),
    )];
    channel_filter.extend(Channel::KEYS.iter().map(|k| {
        (
            tr.value("channel", k),
            channel.map(|c| c.as_str()) == Some(*k),
            format!("{base}?channel={k}"),
        )
    }));
    let more_url = timeline.next_cursor.map(|cur| {
        let mut params = vec![("cursor", cur)];
        if let Some(ch) = channel {
            params.push(("channel", ch.as_str().to_owned()));
        }
        format!("{base}?{}", encode_query(&params))
    });
    let today = kehu_core::time::today_in(state.store.clock().now(), &page.me.user.time_zone);
    let view = CustomerPage {
        insight,
        tr,
        section: "customers",
        csrf: page.me.csrf.clone(),
        id: id.0,
        name: c.name.clone(),
        classification: tr.value("classification", c.classification.as_str()),
        status: tr.value("status", c.status.as_str()),
        tags: c.tags.iter().map(ToString::to_string).collect(),
        figures,
        details,
        contact_choices: contacts.iter().map(|k| (k.id.0, k.name.clone())).collect(),
        contacts: contacts
            .iter()
            .map(|k| ContactView {
                id: k.id.0,
                name: k.name.clone(),
                role: [k.department.clone(), k.title.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                superior: k
                    .superior_id
                    .and_then(|s| contact_names.get(&s).cloned())
                    .unwrap_or_default(),
                kdm: k.is_key_decision_maker,
                closeness: tr.value("closeness", k.closeness.as_str()),
                closeness_key: k.closeness.as_str(),
                budget: k
                    .budget_authority
                    .map(|b| tr.value("budget_authority", b.as_str()))
                    .unwrap_or_default(),
                reach: [k.mobile.clone(), k.wechat.clone(), k.email.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
            })
            .collect(),
        timeline: timeline
            .items
            .iter()
            .map(|i| InteractionView {
                id: i.id.0,
                channel: tr.value("channel", i.channel.as_str()),
                when: page.when(i.occurred_at),
                by: user(&i.user_id),
                with: i
                    .contact_id
                    .and_then(|k| contact_names.get(&k).cloned())
                    .unwrap_or_default(),
                content: i.content.clone(),
                next: i.next_follow_up.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        channel_filter,
        more_url,
        tasks: tasks
            .iter()
            .map(|t| TaskLine {
                title: t.title.clone(),
                due: t.due_date.to_string(),
                done: t.done,
                overdue: !t.done && t.due_date < today,
            })
            .collect(),
        orders: orders
            .iter()
            .map(|o| OrderView {
                id: o.id.0,
                date: o.order_date.to_string(),
                amount: money(o.amount),
                profit: o.cost.map(|c| money(o.amount - c)).unwrap_or_default(),
                status: tr.value("order_status", o.status.as_str()),
                cancelled: o.status == OrderStatus::Cancelled,
            })
            .collect(),
        audit: audit
            .iter()
            .take(50)
            .map(|e| AuditLine {
                when: page.when(e.at),
                who: e.actor_id.as_ref().map(&user).unwrap_or_default(),
                action: tr.t_string(&format!("audit.{}", e.action)),
                changes: changes(&tr, e.before.as_ref(), e.after.as_ref()),
            })
            .collect(),
        channels: Channel::KEYS
            .iter()
            .map(|k| (*k, tr.value("channel", k)))
            .collect(),
        flash,
        can_write: page.me.user.role != Role::ReadOnly,
        me: Some(page.me),
    };
    render(view)
}

/// "field: before → after" for each field an update changed (at most 8).
fn changes(
    tr: &Tr,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Vec<String> {
    let (Some(serde_json::Value::Object(b)), Some(serde_json::Value::Object(a))) = (before, after)
    else {
        return Vec::new();
    };
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !matches!(k.as_str(), "updated_at" | "created_at" | "aggregates"))
        .filter(|k| a.get(*k) != b.get(*k))
        .take(8)
        .map(|k| {
            format!(
                "{}: {} → {}",
                tr.t_string(&format!("field.{k}")),
                show(b.get(k)),
                show(a.get(k))
            )
        })
        .collect()
}

#[derive(Deserialize)]
pub struct LogForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    next_follow_up: String,
}

pub async fn log_interaction(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(f): Form<LogForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let input = InteractionInput {
        customer_id: Some(CustomerId(id)),
        contact_id: f.contact_id.trim().parse().ok().map(ContactId),
        channel: Some(f.channel),
        content: Some(f.content),
        next_follow_up: Some(f.next_follow_up).filter(|d| !d.trim().is_empty()),
        ..Default::default()
    };
    match page.scoped(&state).create_interaction(&input).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e @ StoreError::Invalid(_)) => {
            let msg = store_error_text(&page.tr, e);
            let mut r =
                customer_page(&state, page, CustomerId(id), Default::default(), Some(msg)).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => page.error(e),
    }
}
