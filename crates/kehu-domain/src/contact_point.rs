//! Phone numbers and email addresses in a canonical form, so duplicates are
//! found by an index lookup instead of a fuzzy scan.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// A phone number in E.164 form (`+8613812345678`). Chinese numbers typed
/// without a country code (mobile `138 1234 5678`, landline `010-12345678`)
/// are taken as +86.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let half = crate::text::to_half_width(raw.trim());
        let mut digits = String::with_capacity(half.len());
        let mut plus = false;
        for (i, c) in half.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(invalid(field, raw)),
            }
        }
        let international = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else if digits.len() == 13 && digits.starts_with("861") {
            digits
        } else if let Some(rest) = digits.strip_prefix('0') {
            // Chinese trunk prefix: 010-12345678 is +86 10 12345678.
            format!("86{rest}")
        } else if digits.len() == 11 && digits.starts_with('1') {
            format!("86{digits}")
        } else {
            return Err(invalid(field, raw));
        };
        // E.164 allows at most 15 digits; fewer than 8 is not a reachable number.
        if !(8..=15).contains(&international.len()) || international.starts_with('0') {
            return Err(invalid(field, raw));
        }
        // Mainland mobiles have exactly 11 national digits starting with 13–19
        // (a leading 10 is Beijing's area code, a landline).
        if let Some(national) = international.strip_prefix("86") {
            let mobile_prefix = national.starts_with('1') && !national.starts_with("10");
            if mobile_prefix && national.len() != 11 {
                return Err(invalid(field, raw));
            }
        }
        Ok(Mobile(format!("+{international}")))
    }

    /// The E.164 form, with the leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits of the national number (without +86 for Chinese numbers), the
    /// part people type when they search.
    pub fn national_digits(&self) -> &str {
        self.0.strip_prefix("+86").unwrap_or(&self.0[1..])
    }

    /// Rebuilds a value read back from the database.
    pub fn from_stored(s: String) -> Self {
        Mobile(s)
    }
}

fn invalid(field: &str, raw: &str) -> FieldError {
    FieldError::new(
        field,
        "invalid_mobile",
        format!("{field} is not a valid phone number: {raw:?}"),
    )
}

/// A lower-cased email address with one `@` and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = crate::text::to_half_width(raw.trim()).to_lowercase();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if ok {
            Ok(Email(s))
        } else {
            Err(FieldError::new(
                field,
                "invalid_email",
                format!("{field} is not a valid email address: {raw:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(s: String) -> Self {
        Email(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn mobiles_normalize_to_e164() {
        let check = |raw: &str, want: &str| {
            assert_eq!(
                Mobile::parse("mobile", raw).unwrap().as_str(),
                want,
                "{raw}"
            )
        };
        check("138 1234 5678", "+8613812345678");
        check("+86 138-1234-5678", "+8613812345678");
        check("008613812345678", "+8613812345678");
        check("8613812345678", "+8613812345678");
        check("１３８１２３４５６７８", "+8613812345678");
        check("010-12345678", "+861012345678");
        check("+1 (415) 555-0100", "+14155550100");
    }

    #[test]
    fn bad_mobiles_are_refused_with_the_field_named() {
        for raw in [
            "12345",
            "1381234567",
            "phone",
            "+0123456789",
            "138123456789999999",
        ] {
            let e = Mobile::parse("mobile", raw).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code),
                ("mobile", "invalid_mobile"),
                "{raw}"
            );
        }
    }

    #[test]
    fn national_digits() {
        let m = Mobile::parse("m", "13812345678").unwrap();
        assert_eq!(m.national_digits(), "13812345678");
        let m = Mobile::parse("m", "+14155550100").unwrap();
        assert_eq!(m.national_digits(), "14155550100");
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("email", " Li.Lei@Example.COM ")
                .unwrap()
                .as_str(),
            "li.lei@example.com"
        );
        for bad in ["a@b", "@x.com", "a b@x.com", "a@@x.com", "a@x.", "plain"] {
            assert_eq!(
                Email::parse("email", bad).unwrap_err().code,
                "invalid_email",
                "{bad}"
            );
        }
    }
}
