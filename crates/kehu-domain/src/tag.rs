//! Dimensioned tags (`dimension: value`), the building blocks of profiles.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// A tag such as `行业: 制造业` or a plain `VIP` (no dimension).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Tag {
    /// The dimension; empty for a plain tag.
    pub dimension: String,
    pub value: String,
}

pub const MAX_TAG_PART: usize = 64;

impl Tag {
    /// Parses `dimension: value` (ASCII or full-width colon) or `value`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let (dimension, value) = match raw.split_once([':', '：']) {
            Some((d, v)) => (d.trim(), v.trim()),
            None => ("", raw),
        };
        if value.is_empty() {
            return Err(FieldError::new(
                field,
                "invalid_tag",
                format!("{field} needs a value, as in \"dimension: value\" or \"value\": {raw:?}"),
            ));
        }
        if dimension.chars().count() > MAX_TAG_PART || value.chars().count() > MAX_TAG_PART {
            return Err(FieldError::too_long(field, MAX_TAG_PART));
        }
        Ok(Tag {
            dimension: dimension.to_owned(),
            value: value.to_owned(),
        })
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dimension.is_empty() {
            f.write_str(&self.value)
        } else {
            write!(f, "{}: {}", self.dimension, self.value)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_both_colons_and_plain_values() {
        assert_eq!(
            Tag::parse("t", "行业：制造业").unwrap().to_string(),
            "行业: 制造业"
        );
        assert_eq!(
            Tag::parse("t", "budget: 100k-500k").unwrap().dimension,
            "budget"
        );
        assert_eq!(Tag::parse("t", "VIP").unwrap().to_string(), "VIP");
        assert!(Tag::parse("t", "行业:").is_err());
    }
}
