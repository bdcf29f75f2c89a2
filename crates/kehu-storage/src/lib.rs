//! Kehu's storage: one API over SQLite (embedded default) and PostgreSQL.
//!
//! SQL is written once and runs on both engines through sqlx's `Any` driver;
//! where the dialects differ, the branch is small, local and commented. Every
//! read and write of customer data goes through [`Scoped`], a handle bound to
//! an [`Actor`](kehu_domain::Actor) whose queries carry the actor's
//! visibility scope, so a row outside it is simply not found.
//!
//! Column conventions (instants as epoch milliseconds, dates as
//! `YYYY-MM-DD` text, money as integer minor units) are explained in
//! `docs/designs/storage.md`.

mod aggregates;
mod analytics;
mod audit;
pub mod bulk;
mod contacts;
mod cursor;
mod customers;
mod dashboard;
mod duplicates;
mod error;
mod interactions;
pub mod lookup;
mod merge;
mod native;
mod orders;
mod purchases;
mod rows;
mod scoped;
mod search;
mod sql;
mod tasks;
mod users;

use std::str::FromStr;
use std::sync::Arc;

use kehu_domain::Clock;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use aggregates::AggregateDiff;
pub use analytics::{
    AnalysisRefresh, AnalysisRun, AnalyticsOverview, AtRisk, CustomerAnalytics, Distribution,
    LifecycleChange, RelationshipFacts, ResultKey, CLV_BANDS,
};
pub use cursor::Cursor;
pub use customers::{CustomerFilter, CustomerSort, DuplicateMatch, SortDir, MAX_PAGE};
pub use dashboard::{month_start, Dashboard, DashboardWindow, SOURCES_SHOWN};
pub use duplicates::DuplicateGroup;
pub use error::{StoreError, StoreResult};
pub use lookup::WithCustomer;
pub use scoped::Scoped;
pub use search::{Plan as SearchPlan, Searchable};
pub use tasks::FollowUps;
pub use users::actor_of;
pub use users::{ApiTokenInfo, AuthUser, SessionInfo};

/// Which database engine a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A page of results and the cursor of the next one, if there is one.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// SQLite's page cache per connection, in MiB. Pages in it are read
    /// without a system call; a large customer base searches faster with
    /// more (see BENCHMARKS.md). From `KEHU_SQLITE_CACHE_MB`, default 64.
    pub sqlite_cache_mb: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            sqlite_cache_mb: std::env::var("KEHU_SQLITE_CACHE_MB")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|mb| *mb >= 2)
                .unwrap_or(64),
        }
    }
}

/// A connection pool plus what every query needs: the engine and the clock.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    clock: Arc<dyn Clock>,
    /// SQLite allows one writer at a time. Taking this lock before `BEGIN`
    /// turns would-be `SQLITE_BUSY` failures into an orderly queue.
    /// PostgreSQL does not need it and never takes it.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// The analysis's bulk paths beside the pool.
    native: native::Native,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish()
    }
}

/// A write transaction; on SQLite it also holds the single-writer lock.
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Picks the engine from the URL scheme; anything else is an error.
pub fn engine_of(url: &str) -> StoreResult<Engine> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(StoreError::Url(format!(
            "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
            redact(url)
        )))
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(url: &str, clock: Arc<dyn Clock>, opts: StoreOptions) -> StoreResult<Store> {
        let store = Self::connect(url, clock, opts).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(
        url: &str,
        clock: Arc<dyn Clock>,
        opts: StoreOptions,
    ) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let engine = engine_of(url)?;
        let url = match engine {
            Engine::Sqlite => sqlite_url(url)?,
            Engine::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let native = native::Native::of(&url);
        let cache_kib = i64::from(opts.sqlite_cache_mb) * 1024;
        let pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets readers run beside the writer; NORMAL sync is
                        // durable at each checkpoint and safe against crashes in
                        // WAL mode; foreign keys are off by default in SQLite.
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY;"
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            engine,
            clock,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            native,
        })
    }

    /// Applies the embedded migrations of this engine.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.engine {
            Engine::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Engine::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction (single writer on SQLite).
    pub async fn begin_write(&self) -> StoreResult<WriteTx> {
        let guard = match self.engine {
            Engine::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Engine::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Cheap liveness probe for `/healthz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A handle whose every query is limited to what `actor` may see.
    pub fn scoped(&self, actor: kehu_domain::Actor) -> Scoped<'_> {
        Scoped::new(self, actor)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Normalizes `sqlite://path` and makes sure the file can be created.
fn sqlite_url(url: &str) -> StoreResult<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Url(format!("cannot create the data directory {parent:?}: {e}"))
                })?;
            }
        }
    }
    let query = query.unwrap_or("mode=rwc");
    Ok(format!("sqlite://{path}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_from_scheme() {
        assert_eq!(
            engine_of("sqlite://data/kehu.db").ok(),
            Some(Engine::Sqlite)
        );
        assert_eq!(engine_of("postgres://u@h/db").ok(), Some(Engine::Postgres));
        assert!(engine_of("mysql://u@h/db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://kehu:secret@db/kehu"),
            "postgres://kehu:***@db/kehu"
        );
        assert_eq!(redact("postgres://kehu@db/kehu"), "postgres://kehu@db/kehu");
    }
}
