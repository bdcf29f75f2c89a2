//! `/api/v1/customers`: list with filters, CRUD, duplicates, transfer, merge.

use axum::extract::State;
use axum::http::StatusCode;
use kehu_domain::inputs::{parse_instant, CustomerInput};
use kehu_domain::*;
use kehu_storage::{CustomerFilter, CustomerSort, DuplicateMatch, Page, SortDir};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json, Query};
use crate::AppState;

/// Filters, sort and page of the customer list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// `target`, `potential`, `partner`, `non_customer`.
    pub classification: Option<String>,
    /// `active`, `inactive`, `archived`.
    pub status: Option<String>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    /// `dimension: value`, e.g. `行业: 制造业`.
    pub tag: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub industry: Option<String>,
    pub source: Option<String>,
    /// Created at or after: a date (`2026-01-31`) or RFC 3339 instant.
    pub created_from: Option<String>,
    /// Created before: a date or RFC 3339 instant.
    pub created_to: Option<String>,
    /// Search: name characters, full pinyin, initials, phone digits, email.
    pub q: Option<String>,
    /// `created_at` (default), `updated_at`, `name`, `total_amount`, `last_order_date`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default).
    pub dir: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200; default 50.
    pub limit: Option<i64>,
}

pub struct ListSpec {
    pub filter: CustomerFilter,
    pub sort: CustomerSort,
    pub dir: SortDir,
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CustomerQuery {
    pub fn spec(&self) -> Result<ListSpec, ApiError> {
        let mut e = ValidationErrors::default();
        let classification = blank(&self.classification)
            .and_then(|v| e.take(Classification::parse("classification", v)));
        let status = blank(&self.status).and_then(|v| e.take(CustomerStatus::parse("status", v)));
        let tag = blank(&self.tag).and_then(|v| e.take(Tag::parse("tag", v)));
        let created_from =
            blank(&self.created_from).and_then(|v| e.take(parse_instant("created_from", v)));
        let created_to =
            blank(&self.created_to).and_then(|v| e.take(parse_instant("created_to", v)));
        let sort = match blank(&self.sort) {
            None => CustomerSort::default(),
            Some(s) => CustomerSort::parse(s).unwrap_or_else(|| {
                e.push(FieldError::invalid_choice("sort", s, CustomerSort::KEYS));
                CustomerSort::default()
            }),
        };
        let dir = match blank(&self.dir) {
            None | Some("desc") => SortDir::Desc,
            Some("asc") => SortDir::Asc,
            Some(other) => {
                e.push(FieldError::invalid_choice("dir", other, &["asc", "desc"]));
                SortDir::Desc
            }
        };
        let filter = CustomerFilter {
            classification,
            status,
            owner_id: self.owner_id.map(UserId),
            team_id: self.team_id.map(TeamId),
            tag,
            province: blank(&self.province).map(Into::into),
            city: blank(&self.city).map(Into::into),
            industry: blank(&self.industry).map(Into::into),
            source: blank(&self.source).map(Into::into),
            created_from,
            created_to,
            q: blank(&self.q).map(Into::into),
        };
        e.finish(ListSpec { filter, sort, dir })
            .map_err(|v| kehu_storage::StoreError::Invalid(v).into())
    }
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(CustomerQuery),
    responses((status = 200, body = Page<Customer>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Lists the customers visible to the caller, filtered, sorted, a page at a time.
pub async fn list_customers(
    State(state): State<AppState>,
    auth: Authed,
    Query(q): Query<CustomerQuery>,
) -> ApiResult<axum::Json<Page<Customer>>> {
    let spec = q.spec()?;
    let page = auth
        .scoped(&state)
        .customers(
            &spec.filter,
            spec.sort,
            spec.dir,
            blank(&q.cursor),
            q.limit.unwrap_or(50),
        )
        .await?;
    Ok(axum::Json(page))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers",
    request_body = CustomerInput,
    responses((status = 201, body = Customer), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Creates a customer, owned by the caller unless `owner_id` says otherwise.
pub async fn create_customer(
    State(state): State<AppState>,
    auth: Authed,
    Json(input): Json<CustomerInput>,
) -> ApiResult<(StatusCode, axum::Json<Customer>)> {
    let c = auth.scoped(&state).create_customer(&input).await?;
    Ok((StatusCode::CREATED, axum::Json(c)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody)))]
pub async fn get_customer(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Customer>> {
    Ok(axum::Json(
        auth.scoped(&state).customer(CustomerId(id)).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = Customer), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Changes the fields present in the body; absent fields keep their value.
pub async fn update_customer(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
    Json(input): Json<CustomerInput>,
) -> ApiResult<axum::Json<Customer>> {
    Ok(axum::Json(
        auth.scoped(&state)
            .update_customer(CustomerId(id), input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
/// Deletes a customer with its contacts, interactions, tasks and orders.
pub async fn delete_customer(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    auth.scoped(&state).delete_customer(CustomerId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/customers/duplicates", tag = "customers",
    request_body = CustomerInput,
    responses((status = 200, body = Vec<DuplicateMatch>), (status = 422, body = ErrorBody)))]
/// Existing customers the given one may duplicate (by external id, name,
/// mobile or email), company-wide; reveals only id, name and owner.
pub async fn check_duplicates(
    State(state): State<AppState>,
    auth: Authed,
    Json(input): Json<CustomerInput>,
) -> ApiResult<axum::Json<Vec<DuplicateMatch>>> {
    let draft = input
        .validate()
        .map_err(kehu_storage::StoreError::Invalid)?;
    Ok(axum::Json(
        auth.scoped(&state).duplicates_of(&draft, None).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The customers to move; or give `from_user_id` to move all of a user's.
    #[serde(default)]
    pub customer_ids: Vec<CustomerId>,
    pub from_user_id: Option<UserId>,
    pub to_user_id: UserId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferResult {
    pub moved: u64,
}

#[utoipa::path(post, path = "/api/v1/customers/transfer", tag = "customers",
    request_body = TransferRequest,
    responses((status = 200, body = TransferResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Moves customers, with all their history and open follow-ups, to another
/// owner (managers within their team, admins anywhere).
pub async fn transfer(
    State(state): State<AppState>,
    auth: Authed,
    Json(req): Json<TransferRequest>,
) -> ApiResult<axum::Json<TransferResult>> {
    let s = auth.scoped(&state);
    let moved = match (req.from_user_id, req.customer_ids.is_empty()) {
        (Some(from), true) => s.transfer_all(from, req.to_user_id).await?,
        (None, false) => {
            s.transfer_customers(&req.customer_ids, req.to_user_id)
                .await?
        }
        _ => {
            return Err(ApiError::invalid(
                "customer_ids",
                "invalid_transfer",
                "give either customer_ids or from_user_id",
            ))
        }
    };
    Ok(axum::Json(TransferResult { moved }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    pub customer_ids: Vec<CustomerId>,
    /// `dimension: value`, e.g. `意向: 高`.
    pub tag: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagResult {
    /// Customers that gained the tag (the others had it already).
    pub tagged: u64,
}

#[utoipa::path(post, path = "/api/v1/customers/tag", tag = "customers",
    request_body = TagRequest,
    responses((status = 200, body = TagResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Adds one tag to many customers at once.
pub async fn tag_customers(
    State(state): State<AppState>,
    auth: Authed,
    Json(req): Json<TagRequest>,
) -> ApiResult<axum::Json<TagResult>> {
    let tag =
        Tag::parse("tag", &req.tag).map_err(|e| kehu_storage::StoreError::Invalid(e.into()))?;
    let tagged = auth
        .scoped(&state)
        .tag_customers(&req.customer_ids, &tag)
        .await?;
    Ok(axum::Json(TagResult { tagged }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The duplicate that is merged into the record of the path and removed.
    pub removed_id: i64,
    /// Field values the surviving record keeps after the merge, e.g. the
    /// removed record's mobile; fields left out keep the survivor's value
    /// (or, when the survivor had none, the removed record's).
    pub keep: Option<CustomerInput>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers",
    params(("id" = i64, Path, description = "the surviving customer")), request_body = MergeRequest,
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Merges another customer into this one: contacts, interactions, tasks and
/// orders move over, blank fields are filled, tags united, aggregates redone.
pub async fn merge(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
    Json(req): Json<MergeRequest>,
) -> ApiResult<axum::Json<Customer>> {
    Ok(axum::Json(
        auth.scoped(&state)
            .merge_customers(CustomerId(id), CustomerId(req.removed_id), req.keep)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/audit", tag = "customers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404, body = ErrorBody)))]
/// Who changed this customer, when, and from what to what.
pub async fn audit(
    State(state): State<AppState>,
    auth: Authed,
    Id(id): Id,
) -> ApiResult<axum::Json<Vec<AuditEntry>>> {
    Ok(axum::Json(
        auth.scoped(&state).audit_of("customer", id).await?,
    ))
}
