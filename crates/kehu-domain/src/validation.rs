//! Validation errors that name the field and the problem.
//!
//! `code` is a stable machine key (the UI translates it); `message` is the
//! English text for API clients and logs.

use serde::Serialize;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the API spells it, e.g. `mobile`.
    pub field: String,
    /// Stable snake_case problem key, e.g. `required`, `invalid_mobile`.
    pub code: &'static str,
    /// Human-readable English explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    pub fn required(field: &str) -> Self {
        Self::new(field, "required", format!("{field} is required"))
    }

    pub fn too_long(field: &str, max: usize) -> Self {
        Self::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        )
    }

    pub fn invalid_choice(field: &str, value: &str, allowed: &[&str]) -> Self {
        Self::new(
            field,
            "invalid_choice",
            format!(
                "{field} must be one of {}, not {value:?}",
                allowed.join(", ")
            ),
        )
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in one input; never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was collected, the collected errors otherwise.
    pub fn finish<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Records the error of a fallible parse and returns its value, if any.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}
