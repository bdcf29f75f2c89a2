//! The real application on a free port, and an HTTP client per user.

use std::sync::Arc;

use kehu_domain::{Clock, SystemClock, User};
use kehu_storage::Store;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::TestDb;

/// A running server over a test database.
pub struct TestApp {
    pub base: String,
    pub store: Store,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn(db: &TestDb) -> TestApp {
        Self::spawn_with(db, Arc::new(SystemClock)).await
    }

    pub async fn spawn_with(db: &TestDb, clock: Arc<dyn Clock>) -> TestApp {
        let store = kehu_cli::app::open_store_with(&db.url, clock)
            .await
            .unwrap_or_else(|e| panic!("open store: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = kehu_cli::app::router(store.clone(), false);
        tokio::spawn(async move {
            let _ = kehu_cli::app::serve(listener, router, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            store,
            _shutdown: tx,
        }
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Api {
        Api {
            base: self.base.clone(),
            http: reqwest::Client::new(),
            token: None,
            csrf: None,
        }
    }

    /// A client authenticated with a fresh API token of `user`.
    pub async fn as_user(&self, user: &User) -> Api {
        let (token, _) = kehu_core::accounts::create_token(&self.store, user.id, "test")
            .await
            .unwrap_or_else(|e| panic!("token: {e}"));
        Api {
            base: self.base.clone(),
            http: reqwest::Client::new(),
            token: Some(token),
            csrf: None,
        }
    }

    /// A client that logged in with a password and holds the session cookie.
    pub async fn logged_in(&self, username: &str, password: &str) -> (Api, StatusCode) {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        let r = http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}"));
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let api = Api {
            base: self.base.clone(),
            http,
            token: None,
            csrf: body["csrf_token"].as_str().map(str::to_owned),
        };
        (api, status)
    }
}

/// A JSON client for the API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
    /// Sent as X-CSRF-Token when set (session clients).
    pub csrf: Option<String>,
}

impl Api {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(c) = &self.csrf {
            req = req.header("x-csrf-token", c);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }
}
