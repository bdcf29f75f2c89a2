//! Import and export over HTTP: the same use cases as `kehu import` and
//! `kehu export`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kehu_core::export::{export_related, Format};
use kehu_core::import::{self, ImportError, ImportOptions, ImportReport, Kind, Source};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Authed;
use crate::customers::CustomerQuery;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Write the valid rows even when some rows are invalid.
    #[serde(default)]
    pub skip_invalid: bool,
    /// Validate and report only.
    #[serde(default)]
    pub dry_run: bool,
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Store(s) => s.into(),
        ImportError::MissingColumn(c) => ApiError::invalid(
            "file",
            "missing_column",
            format!("the file has no column for {c}"),
        ),
        ImportError::Read(r) => ApiError::invalid("file", "unreadable_file", r.to_string()),
    }
}

#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "import",
    params(("kind" = String, Path, description = "customers, contacts or orders"), ImportQuery,
        ("x-file-name" = Option<String>, Header, description = "name of the uploaded file, e.g. customers.xlsx")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the CSV or XLSX file"),
    responses((status = 200, body = ImportReport, description = "the validation report; `applied` says how many rows were written"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Validates a file and, when every row is valid (or `skip_invalid`), writes it in one transaction.
pub async fn import_file(
    State(state): State<AppState>,
    auth: Authed,
    Path(kind): Path<String>,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<ImportReport>> {
    let kind = Kind::parse(&kind).ok_or_else(ApiError::not_found)?;
    let name = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("upload.csv")
        .to_owned();
    let source = Source::Bytes {
        name,
        bytes: std::sync::Arc::new(body.to_vec()),
    };
    let opts = ImportOptions {
        skip_invalid: q.skip_invalid,
        dry_run: q.dry_run,
    };
    let report = import::import(&auth.scoped(&state), kind, &source, opts, &|_, _| {})
        .await
        .map_err(import_error)?;
    Ok(axum::Json(report))
}

/// Export options; the customer list filters apply as well.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// `en` for English headers; Chinese otherwise.
    pub lang: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/export/{kind}", tag = "import",
    params(("kind" = String, Path, description = "customers, contacts or orders"), ExportQuery, CustomerQuery),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
/// Exports the caller's visible customers matching the list filters, or
/// their contacts or orders.
pub async fn export(
    State(state): State<AppState>,
    auth: Authed,
    Path(kind): Path<String>,
    Query(q): Query<ExportQuery>,
    Query(filter): Query<CustomerQuery>,
) -> ApiResult<Response> {
    let kind = Kind::parse(&kind).ok_or_else(ApiError::not_found)?;
    let format = match q.format.as_deref() {
        None => Format::Csv,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::invalid("format", "invalid_choice", "format must be csv or xlsx")
        })?,
    };
    let spec = filter.spec()?;
    let mut buf: Vec<u8> = Vec::new();
    let english = q.lang.as_deref().is_some_and(|l| l.starts_with("en"));
    export_related(
        &auth.scoped(&state),
        kind,
        &spec.filter,
        format,
        english,
        &mut buf,
    )
    .await
    .map_err(|e| match e {
        kehu_core::export::ExportError::Store(s) => s.into(),
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            other.to_string(),
        ),
    })?;
    let (mime, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.{ext}\"", kind.as_str()),
            ),
        ],
        buf,
    )
        .into_response())
}
