//! Typed identifiers. A `CustomerId` cannot be passed where a `UserId` is
//! expected, which rules out a whole class of permission bugs.

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw database key.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }
    )*};
}

typed_id!(
    /// A customer (company or person).
    CustomerId,
    /// A contact person at a customer.
    ContactId,
    /// One logged interaction (call, visit, ...).
    InteractionId,
    /// A follow-up task.
    TaskId,
    /// An order.
    OrderId,
    /// A user of Kehu.
    UserId,
    /// A sales team.
    TeamId,
    /// An API token.
    TokenId,
    /// One audit record.
    AuditId,
);
