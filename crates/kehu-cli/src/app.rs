//! Assembling and serving the application, shared by `kehu serve`, the
//! integration tests and the benchmarks.

use std::sync::Arc;

use kehu_domain::{Clock, SystemClock};
use kehu_http::AppState;
use kehu_storage::{Store, StoreOptions};
use tokio::net::TcpListener;

/// Opens (and migrates) the store of a URL.
pub async fn open_store(url: &str) -> anyhow::Result<Store> {
    open_store_with(url, Arc::new(SystemClock)).await
}

pub async fn open_store_with(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Store> {
    Store::open(url, clock, StoreOptions::default())
        .await
        .map_err(|e| anyhow::anyhow!("{} ({})", e, kehu_storage::redact(url)))
}

/// The whole HTTP application over a store: API and web pages.
pub fn router(store: Store, secure_cookies: bool) -> axum::Router {
    let state = AppState::new(store, secure_cookies);
    kehu_http::app(state, kehu_web::router())
}

/// Serves until the future `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
