//! Kehu's domain: the vocabulary every other crate speaks.
//!
//! Everything here is pure: no IO, no clock reads, no randomness. Inputs from
//! the outside world (HTTP bodies, CSV rows, CLI flags) are parsed into the
//! validated types of this crate at the edge, and only those travel inward.

pub mod actor;
pub mod clock;
pub mod contact_point;
pub mod entities;
pub mod ids;
pub mod inputs;
pub mod money;
pub mod search;
pub mod tag;
pub mod text;
pub mod validation;

pub use actor::{Actor, Role, Scope};
pub use clock::{Clock, FixedClock, SystemClock};
pub use contact_point::{Email, Mobile};
pub use entities::*;
pub use ids::*;
pub use money::{Currency, Money};
pub use tag::Tag;
pub use validation::{FieldError, ValidationErrors};
