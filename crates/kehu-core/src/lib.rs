//! Use cases shared by every entry point (HTTP API, CLI, jobs). Handlers
//! and commands stay thin: they parse, call in here or into a scoped store,
//! and render.

pub mod accounts;
pub mod analysis;
pub mod credentials;
pub mod demo;
pub mod export;
pub mod import;
pub mod time;

pub use accounts::AccountError;
