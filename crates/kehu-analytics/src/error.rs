//! The one error type of this crate.
//!
//! Every model is a pure function, so errors are about inputs: a configuration
//! that makes no sense, or data that cannot support a statistical fit. Each
//! variant carries enough detail for the caller to tell the user what to fix.

use thiserror::Error;

/// Why an analysis could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalyticsError {
    /// A configuration value is outside its documented range.
    #[error("invalid configuration: {field} {reason}")]
    InvalidConfig {
        /// The configuration field at fault, e.g. `head_pct`.
        field: &'static str,
        /// What is wrong with it, in plain words.
        reason: String,
    },

    /// An input record is inconsistent, e.g. recency larger than age.
    #[error("invalid input for customer {customer_id}: {reason}")]
    InvalidInput {
        /// The customer whose record is at fault.
        customer_id: i64,
        /// What is wrong with it.
        reason: String,
    },

    /// Fewer customers than a model needs to estimate its parameters.
    #[error("{model} needs at least {needed} customers to fit, got {got}")]
    TooFewCustomers {
        /// `bg_nbd` or `gamma_gamma`.
        model: &'static str,
        /// The minimum this crate accepts.
        needed: usize,
        /// How many usable customers the data had.
        got: usize,
    },

    /// No customer bought more than once, so nothing identifies the repeat
    /// process (BG/NBD) or spend heterogeneity (Gamma-Gamma).
    #[error("{model} cannot be fitted: no customer made a repeat purchase")]
    NoRepeatCustomers {
        /// `bg_nbd` or `gamma_gamma`.
        model: &'static str,
    },

    /// The optimiser stopped without meeting its convergence test.
    #[error("{model} fit did not converge after {iterations} iterations")]
    NotConverged {
        /// `bg_nbd` or `gamma_gamma`.
        model: &'static str,
        /// Iterations used.
        iterations: usize,
    },

    /// The likelihood is maximised at the edge of the allowed parameter box:
    /// the data pushes a parameter towards zero or infinity, which usually
    /// means the model does not describe it (e.g. nobody ever drops out).
    #[error("{model} fit ran into the bound of parameter {parameter} (value {value:e})")]
    ParameterAtBound {
        /// `bg_nbd` or `gamma_gamma`.
        model: &'static str,
        /// The parameter's name as in the paper (`r`, `alpha`, `a`, `b`, `p`, `q`, `gamma`).
        parameter: &'static str,
        /// The value it ended at.
        value: f64,
    },

    /// A fitted model cannot produce the requested quantity, e.g. the mean
    /// spend of the Gamma-Gamma model is infinite when `q <= 1`.
    #[error("{0}")]
    Undefined(String),
}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, AnalyticsError>;

pub(crate) fn invalid_config(field: &'static str, reason: impl Into<String>) -> AnalyticsError {
    AnalyticsError::InvalidConfig {
        field,
        reason: reason.into(),
    }
}
