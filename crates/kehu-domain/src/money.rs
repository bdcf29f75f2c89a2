//! Money: exact decimal amounts, never floats.
//!
//! Amounts are held as integer minor units (分, cents) at a fixed scale of two
//! decimal places. Integers make every sum exact and fast on both database
//! engines, and a fixed scale keeps storage and aggregates simple; an amount
//! with more precision is rejected rather than rounded silently.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// Decimal places kept for every currency.
pub const SCALE: u32 = 2;
const FACTOR: i64 = 100;

/// An ISO 4217 currency code such as `CNY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "CNY")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Renminbi, the default currency.
    pub const CNY: Currency = Currency(*b"CNY");

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_alphabetic) {
            Ok(Currency([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(FieldError::new(
                field,
                "invalid_currency",
                format!("{field} must be a three-letter currency code such as CNY, not {s:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        // The bytes are checked ASCII letters on construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self::CNY
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse("currency", &s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

/// An exact amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Amount in minor units (分).
    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn amount(&self) -> Decimal {
        Decimal::new(self.minor, SCALE)
    }
}

/// Converts a decimal to minor units, refusing extra precision or overflow.
pub fn decimal_to_minor(field: &str, d: Decimal) -> Result<i64, FieldError> {
    let normalized = d.normalize();
    if normalized.scale() > SCALE {
        return Err(FieldError::new(
            field,
            "too_precise",
            format!("{field} may have at most {SCALE} decimal places, not {d}"),
        ));
    }
    let scaled = normalized
        .checked_mul(Decimal::from(FACTOR))
        .ok_or_else(|| out_of_range(field))?;
    i64::try_from(scaled).map_err(|_| out_of_range(field))
}

/// Parses a user-typed amount: `1234.5`, `1,234.50`, `¥1234`, `１２３４`.
pub fn parse_amount(field: &str, s: &str) -> Result<i64, FieldError> {
    let cleaned: String = crate::text::to_half_width(s.trim())
        .chars()
        .filter(|c| !matches!(c, ',' | '¥' | '￥' | ' ' | '_'))
        .collect();
    if cleaned.is_empty() {
        return Err(FieldError::required(field));
    }
    let d: Decimal = cleaned.parse().map_err(|_| {
        FieldError::new(
            field,
            "invalid_amount",
            format!("{field} must be a decimal number such as 1234.50, not {s:?}"),
        )
    })?;
    decimal_to_minor(field, d)
}

/// Formats minor units as a plain decimal string with two places: `-12.30`.
pub fn format_minor(minor: i64) -> String {
    Decimal::new(minor, SCALE).to_string()
}

fn out_of_range(field: &str) -> FieldError {
    FieldError::new(field, "out_of_range", format!("{field} is too large"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_people_type() {
        let check =
            |s: &str, minor: i64| assert_eq!(parse_amount("amount", s).unwrap(), minor, "{s}");
        check("1234.5", 123_450);
        check("1,234.50", 123_450);
        check("¥88", 8_800);
        check("１２３", 12_300);
        check("-5.01", -501);
        check("0", 0);
    }

    #[test]
    fn refuses_extra_precision_and_garbage() {
        assert_eq!(
            parse_amount("amount", "1.005").unwrap_err().code,
            "too_precise"
        );
        assert_eq!(
            parse_amount("amount", "abc").unwrap_err().code,
            "invalid_amount"
        );
        assert_eq!(parse_amount("amount", "").unwrap_err().code, "required");
        assert_eq!(
            parse_amount("amount", "99999999999999999999")
                .unwrap_err()
                .code,
            "out_of_range"
        );
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("c", "usd").unwrap().as_str(), "USD");
        assert!(Currency::parse("c", "RMB1").is_err());
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(parse_amount("a", &format_minor(minor)).unwrap(), minor);
        }
    }
}
