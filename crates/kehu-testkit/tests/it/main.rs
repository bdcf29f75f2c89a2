//! The integration suite: storage and (later modules) the HTTP API, each
//! case run on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analysis;
mod api_basics;
mod api_permissions;
mod browser;
mod demo;
mod fixtures;
mod import;
mod storage_aggregates;
mod storage_children;
mod storage_customers;
mod web;
mod web_pages;
