//! A real headless Chromium, driven over the W3C WebDriver protocol by
//! `chromedriver`, for tests of the web UI as a user sees it.
//!
//! The client is the handful of WebDriver commands the tests use, over the
//! HTTP client the suite already has. Each browser runs its own
//! `chromedriver` on a free port and stops it when dropped. Screenshots go
//! to `target/screenshots/<test>/` (or `$KEHU_SCREENSHOTS/<test>/`).
//!
//! Without Chromium and ChromeDriver the browser tests are skipped with a
//! notice, except under `CI=true`, where that is a failure (`.ci/run`
//! installs Debian's `chromium` and `chromium-driver`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long `wait_*` keeps looking before the test fails.
const WAIT: Duration = Duration::from_secs(15);

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// A Chromium session.
pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    driver: Child,
    shots: PathBuf,
    shot_count: u32,
}

/// An element found on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts Chromium with the browser language `lang` (e.g. `zh-CN`), or
    /// returns `None` with a notice when it is not installed (outside CI).
    pub async fn launch(test: &str, lang: &str) -> Option<Browser> {
        let driver = find_program(
            "KEHU_CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let chrome = find_program(
            "KEHU_CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let (Some(driver), Some(chrome)) = (driver, chrome) else {
            if crate::in_ci() {
                panic!(
                    "CI=true: the browser tests need chromium and chromium-driver \
                     (.ci/run installs them)"
                );
            }
            eprintln!(
                "NOTICE: skipping browser test {test}: chromium and chromedriver are not \
                 installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("free port: {e}"));
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .and_then(|r| r.status().is_success().then_some(()));
            if ready.is_some() {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "chromedriver did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-extensions", "--no-first-run", "--hide-scrollbars",
                    "--window-size=1280,900", format!("--lang={lang}"),
                ],
                "prefs": {"intl.accept_languages": lang},
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap_or_else(|e| panic!("new session: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("new session: {e}"));
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_owned();
        let root = std::env::var("KEHU_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
            });
        let shots = root.join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{}: {e}", shots.display()));
        Some(Browser {
            http,
            session: format!("{base}/session/{id}"),
            driver: child,
            shots,
            shot_count: 0,
        })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"));
        let ok = resp.status().is_success();
        let v: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"));
        assert!(ok, "webdriver {path}: {v}");
        v["value"].clone()
    }

    async fn try_find(&self, css: &str) -> Option<Element> {
        let resp = self
            .http
            .post(format!("{}/element", self.session))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let v: Value = resp.json().await.ok()?;
        v["value"][ELEMENT_KEY]
            .as_str()
            .map(|s| Element(s.to_owned()))
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            assert!(
                started.elapsed() < WAIT,
                "no element {css} on {}:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether an element matching `css` is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        self.try_find(css).await.is_some()
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .await;
    }

    /// Replaces the value of a text field with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Chooses a file in an `<input type=file>`.
    pub async fn attach(&self, css: &str, file: &Path) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": file.display().to_string() })),
        )
        .await;
    }

    /// Selects the `<option>` with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    /// Runs a script in the page and returns its result.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.script(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Waits until the visible text contains `needle`.
    pub async fn wait_text(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let t = self.text().await;
            if t.contains(needle) {
                return t;
            }
            assert!(
                started.elapsed() < WAIT,
                "{needle:?} never appeared on {}:\n{t}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the address ends with `path` (e.g. after a form post).
    pub async fn wait_path(&self, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let u = self.url().await;
            let path = u
                .find("://")
                .and_then(|i| u[i + 3..].find('/').map(|j| u[i + 3 + j..].to_owned()))
                .unwrap_or_default();
            if pred(&path) {
                return path;
            }
            assert!(started.elapsed() < WAIT, "stayed on {u}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Saves a screenshot of the page as `NN-step.png` and returns its path.
    pub async fn screenshot(&mut self, step: &str) -> PathBuf {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        self.shot_count += 1;
        let path = self
            .shots
            .join(format!("{:02}-{step}.png", self.shot_count));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// Ends the session and the driver.
    pub async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
        // Drop stops the driver (its session is gone already).
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test never reaches `close`: end the session (which stops
        // Chromium) with a plain blocking request, then stop the driver.
        if let Some(rest) = self.session.strip_prefix("http://") {
            if let Some((host, path)) = rest.split_once('/') {
                use std::io::Write;
                if let Ok(mut s) = std::net::TcpStream::connect(host) {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = write!(
                        s,
                        "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = std::io::Read::read(&mut s, &mut [0u8; 512]);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
