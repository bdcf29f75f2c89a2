//! Customer value analytics for Kehu: pure, deterministic models over plain
//! data, with no database, clock or network.
//!
//! The server, the command line and batch jobs all call these functions with
//! orders or per-customer summaries they have loaded, and store the
//! serialisable results per customer. "Today" is always a parameter (the
//! as-of date), so a run is reproducible.
//!
//! | module | model | business question |
//! |---|---|---|
//! | [`rfm`] | recency, frequency, monetary scores 1-5 and 11 named segments | who is valuable, who is slipping |
//! | [`pyramid`] | head / waist / tail by revenue or profit, Pareto and whale curves | where the value concentrates |
//! | [`value_group`] | frequency x order value groups A-E and their migration | who to develop from B to E |
//! | [`lifecycle`] | acquisition, growth, maturity, decline, departed | which playbook applies now |
//! | [`selection`] | weighted value and capability scores, quadrant A-D | which customers to pursue |
//! | [`clv`] | BG/NBD, Gamma-Gamma, discounted lifetime value | future value, probability still active |
//!
//! Conventions shared by all models (purchases vs refunds, profit, windows)
//! are in [`input`]. Every named result has a stable snake_case key and an
//! English / Simplified Chinese [`Label`].

mod aggregate;
pub mod book;
pub mod clv;
pub mod error;
pub mod input;
pub mod label;
pub mod lifecycle;
pub mod pyramid;
mod rank;
pub mod rfm;
pub mod selection;
pub mod value_group;

pub use aggregate::workers;
pub use book::{profiles, Line, OrderBook, Periods, Profiles};
pub use error::{AnalyticsError, Result};
pub use input::{summarize_orders, CustomerSummary, Order, Window};
pub use label::Label;
