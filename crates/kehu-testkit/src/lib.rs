//! Test support shared by the integration suite.
//!
//! Every storage and API test runs once per engine. SQLite gets a fresh file
//! in a temporary directory; PostgreSQL gets a fresh schema in the database
//! named by `KEHU_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When PostgreSQL cannot be
//! reached, its half of the suite is skipped with a notice on a developer's
//! machine and fails under `CI=true`.

pub mod app;
pub mod browser;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use kehu_domain::{Clock, FixedClock, SystemClock};
use kehu_storage::{Engine, Store, StoreOptions};
use sqlx::Connection;

pub use app::{Api, TestApp};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database that exists for one test.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn postgres_base() -> String {
    std::env::var("KEHU_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

impl TestDb {
    /// A fresh database, or `None` (with a notice) when PostgreSQL is
    /// unavailable outside CI. Panics in CI when PostgreSQL is missing.
    pub async fn new(engine: Engine) -> Option<TestDb> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
                let url = format!("sqlite://{}/kehu.db", dir.path().display());
                Some(TestDb {
                    engine,
                    url,
                    schema: None,
                    _dir: Some(dir),
                })
            }
            Engine::Postgres => {
                let base = postgres_base();
                let mut conn = match sqlx::PgConnection::connect(&base).await {
                    Ok(c) => c,
                    Err(e) if !in_ci() => {
                        eprintln!(
                            "NOTICE: PostgreSQL at {} is unreachable ({e}); skipping the \
                             PostgreSQL half of this test. Set CI=true to make this a failure.",
                            kehu_storage::redact(&base)
                        );
                        return None;
                    }
                    Err(e) => panic!("CI=true and PostgreSQL is unreachable: {e}"),
                };
                let now = Utc::now_for_tests();
                let schema = format!(
                    "t{}_{}_{}",
                    now.timestamp(),
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                sweep_old_schemas(&mut conn, now.timestamp()).await;
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("create schema: {e}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Some(TestDb {
                    engine,
                    url,
                    schema: Some(schema),
                    _dir: None,
                })
            }
        }
    }

    /// Opens (and migrates) a store with the given clock.
    pub async fn store_with(&self, clock: Arc<dyn Clock>) -> Store {
        Store::open(&self.url, clock, StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.engine.name()))
    }

    pub async fn store(&self) -> Store {
        self.store_with(Arc::new(SystemClock)).await
    }

    /// Drops the PostgreSQL schema; SQLite files go with their directory.
    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_base()).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

/// Drops schemas left behind by aborted runs, once they are an hour old.
async fn sweep_old_schemas(conn: &mut sqlx::PgConnection, now: i64) {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT nspname::text FROM pg_namespace WHERE nspname ~ '^t[0-9]+_[0-9]+_[0-9]+$'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for (name,) in rows {
        let born: i64 = name[1..]
            .split('_')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(now);
        if now - born > 3600 {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// Wall-clock time for naming test schemas; tests that depend on time use
/// a [`FixedClock`].
trait NowForTests {
    fn now_for_tests() -> DateTime<Utc>;
}

impl NowForTests for Utc {
    #[allow(clippy::disallowed_methods)]
    fn now_for_tests() -> DateTime<Utc> {
        Utc::now()
    }
}

/// A fixed clock at a readable instant, for tests about "today".
pub fn fixed_clock(y: i32, m: u32, d: u32, h: u32) -> Arc<dyn Clock> {
    let t = Utc
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("bad date"));
    Arc::new(FixedClock(t))
}

/// Declares one `#[tokio::test]` per engine for each listed async function
/// taking a [`TestDb`]: `on_both_engines!(creates_customer, lists_customers);`
#[macro_export]
macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = $crate::TestDb::new(kehu_storage::Engine::Sqlite).await.unwrap();
                    super::$case(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::TestDb::new(kehu_storage::Engine::Postgres).await else {
                        return;
                    };
                    super::$case(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}
