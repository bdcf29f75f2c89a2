//! A process killed in the middle of an import leaves the database as it
//! was before the import or with the import complete, never in between.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kehu_storage::{Engine, Store};
use kehu_testkit::TestDb;

const ROWS: usize = 40_000;

fn kehu(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kehu"));
    c.env("KEHU_DATABASE_URL", url).env("KEHU_LOG", "error");
    c
}

async fn customers(store: &Store) -> i64 {
    store.count_customers().await.unwrap()
}

async fn killed_imports_leave_nothing_half_done(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else {
        return;
    };
    let out = kehu(&db.url)
        .args([
            "user",
            "add",
            "--username",
            "admin",
            "--role",
            "admin",
            "--password",
            "import-admin-pw",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "客户名称,手机,外部编号,标签").unwrap();
    for i in 0..ROWS {
        writeln!(
            f,
            "测试客户{i}有限公司,1{}{:09},X-{i},批次: 一",
            3 + i % 7,
            i
        )
        .unwrap();
    }
    drop(f);
    let store = db.store().await;
    let mut interrupted = 0;
    for wait_ms in [300u64, 900, 1600, 2500, 4000] {
        let mut child = kehu(&db.url)
            .args(["import", "--kind", "customers", "--as", "admin"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(wait_ms) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            interrupted += 1;
        }
        let _ = child.wait();
        let n = customers(&store).await;
        assert!(
            n == 0 || n == ROWS as i64,
            "after a kill at {wait_ms} ms: {n} customers"
        );
        if n == ROWS as i64 {
            break;
        }
    }
    assert!(
        interrupted > 0,
        "no import was interrupted; the file is too small to test this"
    );
    // And a run to the end imports everything (or was already complete).
    if customers(&store).await == 0 {
        let out = kehu(&db.url)
            .args(["import", "--as", "admin"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(customers(&store).await, ROWS as i64);
    assert!(store.verify_aggregates().await.unwrap().is_empty());
    assert!(store.verify_purchases().await.unwrap().is_empty());
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_imports_leave_nothing_half_done() {
    killed_imports_leave_nothing_half_done(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_imports_leave_nothing_half_done() {
    killed_imports_leave_nothing_half_done(Engine::Postgres).await;
}
