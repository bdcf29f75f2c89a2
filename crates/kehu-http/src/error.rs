//! The API's error catalog. Every failure leaves as
//! `{"error": {"code", "message", "field"?, "details"?}}` with a status
//! that says what the client can do about it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kehu_core::AccountError;
use kehu_domain::FieldError;
use kehu_storage::StoreError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorInfo {
    /// Stable machine-readable code, e.g. `not_found`, `required`, `invalid_choice`.
    pub code: String,
    /// A human-readable explanation in English; clients translate by `code`.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field problem of a validation failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub info: ErrorInfo,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            info: ErrorInfo {
                code: code.into(),
                message: message.into(),
                field: None,
                details: Vec::new(),
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in or send an API token: Authorization: Bearer <token>",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such record")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message.clone());
        e.info.field = Some(field.into());
        e.info.details = vec![FieldError {
            field: field.into(),
            code: "invalid",
            message,
        }];
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Forbidden(m) => Self::forbidden(m),
            StoreError::Invalid(v) => {
                let first = v.0.first();
                let mut out = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    first.map_or("invalid", |f| f.code),
                    v.to_string(),
                );
                out.info.field = first.map(|f| f.field.clone());
                out.info.details = v.0;
                out
            }
            StoreError::Conflict { field, message } => {
                let mut out = Self::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("{field} {message}"),
                );
                out.info.field = Some(field);
                out
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server could not complete the request; it has been logged",
                )
            }
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Store(s) => s.into(),
            AccountError::BadCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "wrong username or password",
            ),
            AccountError::Hash(m) => {
                tracing::error!(error = %m, "password hashing failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(ErrorBody { error: self.info })).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
