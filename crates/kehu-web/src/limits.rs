//! Login rate limiting: after five failed attempts for a username within
//! fifteen minutes, further attempts are refused until the window passes.
//! Kept in memory: a restart forgets it, which only ever helps the user.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const MAX_FAILURES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);

fn table() -> &'static Mutex<HashMap<String, (u32, Instant)>> {
    static T: OnceLock<Mutex<HashMap<String, (u32, Instant)>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(HashMap::new()))
}

fn key(username: &str) -> String {
    username.trim().to_lowercase()
}

pub fn blocked(username: &str) -> bool {
    let t = table().lock().unwrap_or_else(|e| e.into_inner());
    matches!(t.get(&key(username)), Some((n, since)) if *n >= MAX_FAILURES && since.elapsed() < WINDOW)
}

pub fn failed(username: &str) {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    let e = t.entry(key(username)).or_insert((0, Instant::now()));
    if e.1.elapsed() >= WINDOW {
        *e = (0, Instant::now());
    }
    e.0 += 1;
}

pub fn succeeded(username: &str) {
    table()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key(username));
}
