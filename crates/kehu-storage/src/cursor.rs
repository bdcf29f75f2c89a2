//! Opaque keyset cursors: the sort key and id of the last row of a page.
//!
//! Clients treat the string as opaque; inside it is URL-safe base64 of a
//! small JSON array, so a tampered cursor is rejected, not trusted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use kehu_domain::FieldError;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Which sort the cursor belongs to; a cursor of another sort is refused.
    pub sort: String,
    pub key: CursorKey,
    pub id: i64,
}

/// A sort key value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorKey {
    Int(i64),
    Text(String),
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn invalid() -> StoreError {
        StoreError::Invalid(
            FieldError::new(
                "cursor",
                "invalid_cursor",
                "cursor is not one this list handed out",
            )
            .into(),
        )
    }

    pub fn decode(s: &str, sort: &str) -> StoreResult<Cursor> {
        let bad = Self::invalid;
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if c.sort != sort {
            return Err(bad());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let c = Cursor {
            sort: "name".into(),
            key: CursorKey::Text("张三".into()),
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode(), "name").unwrap(), c);
        assert!(Cursor::decode(&c.encode(), "created_at").is_err());
        assert!(Cursor::decode("garbage!", "name").is_err());
    }
}
