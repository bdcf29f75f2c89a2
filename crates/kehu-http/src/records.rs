//! Contacts, interactions, tasks and orders: CRUD, the per-customer lists
//! of the 360° view, and "my follow-ups".

use axum::extract::State;
use axum::http::StatusCode;
use kehu_domain::inputs::{ContactInput, InteractionInput, OrderInput, TaskInput};
use kehu_domain::*;
use kehu_storage::{FollowUps, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Id, Json, Query};
use crate::AppState;

type Created<T> = ApiResult<(StatusCode, axum::Json<T>)>;

fn created<T>(v: T) -> Created<T> {
    Ok((StatusCode::CREATED, axum::Json(v)))
}

/// Cursor paging of a per-customer timeline.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    /// 1 to 200; default 20.
    pub limit: Option<i64>,
}

/// Cursor paging of a customer's timeline, optionally of one channel.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    pub cursor: Option<String>,
    /// 1 to 200; default 20.
    pub limit: Option<i64>,
    /// Only interactions of this channel.
    pub channel: Option<Channel>,
}

// ------------------------------------------------------------------ contacts

#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "contacts",
    params(("id" = i64, Path)), responses((status = 200, body = Vec<Contact>), (status = 404, body = ErrorBody)))]
pub async fn contacts_of(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<Contact>>> {
    Ok(axum::Json(a.scoped(&s).contacts_of(CustomerId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = ContactInput,
    responses((status = 201, body = Contact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_contact(
    State(s): State<AppState>,
    a: Authed,
    Json(i): Json<ContactInput>,
) -> Created<Contact> {
    created(a.scoped(&s).create_contact(&i).await?)
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path)), responses((status = 200, body = Contact), (status = 404, body = ErrorBody)))]
pub async fn get_contact(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Contact>> {
    Ok(axum::Json(a.scoped(&s).contact(ContactId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    request_body = ContactInput,
    responses((status = 200, body = Contact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_contact(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Json(i): Json<ContactInput>,
) -> ApiResult<axum::Json<Contact>> {
    Ok(axum::Json(
        a.scoped(&s).update_contact(ContactId(id), i).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_contact(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    a.scoped(&s).delete_contact(ContactId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeContactRequest {
    /// The duplicate contact that is merged into the one of the path.
    pub removed_id: i64,
}

#[utoipa::path(post, path = "/api/v1/contacts/{id}/merge", tag = "contacts", params(("id" = i64, Path)),
    request_body = MergeContactRequest,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Merges a duplicate contact into this one; its interactions and reports move over.
pub async fn merge_contact(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Json(r): Json<MergeContactRequest>,
) -> ApiResult<axum::Json<Contact>> {
    Ok(axum::Json(
        a.scoped(&s)
            .merge_contacts(ContactId(id), ContactId(r.removed_id))
            .await?,
    ))
}

// -------------------------------------------------------------- interactions

#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "interactions",
    params(("id" = i64, Path), TimelineQuery),
    responses((status = 200, body = Page<Interaction>), (status = 404, body = ErrorBody)))]
/// The customer's timeline, newest first, optionally of one channel.
pub async fn interactions_of(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Query(p): Query<TimelineQuery>,
) -> ApiResult<axum::Json<Page<Interaction>>> {
    Ok(axum::Json(
        a.scoped(&s)
            .interactions_of(
                CustomerId(id),
                p.channel,
                p.cursor.as_deref(),
                p.limit.unwrap_or(20),
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/interactions", tag = "interactions", request_body = InteractionInput,
    responses((status = 201, body = Interaction), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Logs an interaction; a `next_follow_up` date also creates a follow-up task.
pub async fn create_interaction(
    State(s): State<AppState>,
    a: Authed,
    Json(i): Json<InteractionInput>,
) -> Created<Interaction> {
    created(a.scoped(&s).create_interaction(&i).await?)
}

#[utoipa::path(get, path = "/api/v1/interactions/{id}", tag = "interactions", params(("id" = i64, Path)),
    responses((status = 200, body = Interaction), (status = 404, body = ErrorBody)))]
pub async fn get_interaction(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Interaction>> {
    Ok(axum::Json(
        a.scoped(&s).interaction(InteractionId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/interactions/{id}", tag = "interactions", params(("id" = i64, Path)),
    request_body = InteractionInput,
    responses((status = 200, body = Interaction), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_interaction(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Json(i): Json<InteractionInput>,
) -> ApiResult<axum::Json<Interaction>> {
    Ok(axum::Json(
        a.scoped(&s)
            .update_interaction(InteractionId(id), i)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/interactions/{id}", tag = "interactions", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_interaction(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    a.scoped(&s).delete_interaction(InteractionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --------------------------------------------------------------------- tasks

#[utoipa::path(get, path = "/api/v1/customers/{id}/tasks", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Task>), (status = 404, body = ErrorBody)))]
pub async fn tasks_of(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<Task>>> {
    Ok(axum::Json(a.scoped(&s).tasks_of(CustomerId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskInput,
    responses((status = 201, body = Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_task(
    State(s): State<AppState>,
    a: Authed,
    Json(i): Json<TaskInput>,
) -> Created<Task> {
    created(a.scoped(&s).create_task(&i).await?)
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
pub async fn get_task(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Task>> {
    Ok(axum::Json(a.scoped(&s).task(TaskId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = TaskInput,
    responses((status = 200, body = Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Changes a task; `{"done": true}` completes it.
pub async fn update_task(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Json(i): Json<TaskInput>,
) -> ApiResult<axum::Json<Task>> {
    Ok(axum::Json(a.scoped(&s).update_task(TaskId(id), i).await?))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_task(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    a.scoped(&s).delete_task(TaskId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FollowUpQuery {
    /// Whose follow-ups (within the caller's scope); default the caller.
    pub assignee_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/follow-ups", tag = "tasks", params(FollowUpQuery),
    responses((status = 200, body = FollowUps), (status = 401, body = ErrorBody)))]
/// Open follow-ups: overdue, due today and upcoming, "today" being the
/// caller's day in their time zone.
pub async fn follow_ups(
    State(s): State<AppState>,
    a: Authed,
    Query(q): Query<FollowUpQuery>,
) -> ApiResult<axum::Json<FollowUps>> {
    let today = kehu_core::time::today_in(s.store.clock().now(), &a.user.time_zone);
    Ok(axum::Json(
        a.scoped(&s)
            .follow_ups(q.assignee_id.map(UserId), today)
            .await?,
    ))
}

// -------------------------------------------------------------------- orders

#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders",
    params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = Page<Order>), (status = 404, body = ErrorBody)))]
/// The customer's orders, newest first.
pub async fn orders_of(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Query(p): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<Order>>> {
    Ok(axum::Json(
        a.scoped(&s)
            .orders_of(CustomerId(id), p.cursor.as_deref(), p.limit.unwrap_or(20))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = OrderInput,
    responses((status = 201, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Records an order; the customer's aggregates change in the same transaction.
pub async fn create_order(
    State(s): State<AppState>,
    a: Authed,
    Json(i): Json<OrderInput>,
) -> Created<Order> {
    created(a.scoped(&s).create_order(&i).await?)
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Order>> {
    Ok(axum::Json(a.scoped(&s).order(OrderId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)), request_body = OrderInput,
    responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_order(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
    Json(i): Json<OrderInput>,
) -> ApiResult<axum::Json<Order>> {
    Ok(axum::Json(a.scoped(&s).update_order(OrderId(id), i).await?))
}

#[utoipa::path(delete, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_order(
    State(s): State<AppState>,
    a: Authed,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    a.scoped(&s).delete_order(OrderId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
