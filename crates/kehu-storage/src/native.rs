//! Bulk reads and writes for the analysis, beside sqlx's `Any` driver.
//!
//! `Any` turns every value of every row into an owned, engine-neutral value
//! (1–3 µs a row): reading 9M orders that way took half a minute, and
//! writing a million result rows as long. The analysis moves whole tables,
//! so it talks to each engine in its own terms instead:
//!
//! * SQLite through rusqlite, on connections of its own to the same file
//!   (WAL lets them read beside the pool's writer; writes take the store's
//!   single-writer lock like every other write);
//! * PostgreSQL through `COPY … TO STDOUT` and `COPY … FROM STDIN` (text
//!   format) on a native connection.
//!
//! The SQL these run is built from typed values only (numbers, dates),
//! never from user text.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::Connection;

use crate::sql::Arg;
use crate::{StoreError, StoreResult};

/// How to reach the database outside the pool.
#[derive(Debug, Clone)]
pub(crate) enum Native {
    /// The database file.
    Sqlite(PathBuf),
    /// The connection URL.
    Postgres(String),
}

impl Native {
    /// From the normalised database URL (`sqlite://PATH?…` or a
    /// PostgreSQL URL).
    pub(crate) fn of(url: &str) -> Native {
        match url.strip_prefix("sqlite://") {
            Some(rest) => {
                Native::Sqlite(PathBuf::from(rest.split_once('?').map_or(rest, |(p, _)| p)))
            }
            None => Native::Postgres(url.to_owned()),
        }
    }
}

/// One row of a bulk read: its fields by position.
pub(crate) enum Fields<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    /// A line of PostgreSQL's text COPY format, split at tabs.
    Postgres(&'a [&'a str]),
}

impl Fields<'_> {
    /// An integer field; `None` when NULL.
    pub(crate) fn opt_i64(&self, i: usize) -> StoreResult<Option<i64>> {
        self.opt_value(i)
    }

    pub(crate) fn i64(&self, i: usize) -> StoreResult<i64> {
        self.opt_i64(i)?.ok_or_else(|| null(i))
    }

    /// A floating-point field; `None` when NULL.
    pub(crate) fn opt_f64(&self, i: usize) -> StoreResult<Option<f64>> {
        self.opt_value(i)
    }

    /// A text field, borrowed from the row (our own keys and dates:
    /// nothing that COPY would escape); `None` when NULL.
    pub(crate) fn opt_str(&self, i: usize) -> StoreResult<Option<&str>> {
        match self {
            Fields::Sqlite(r) => r
                .get_ref(i)?
                .as_str_or_null()
                .map_err(|e| StoreError::Corrupt(format!("field {i}: {e}"))),
            Fields::Postgres(f) => match f.get(i).copied() {
                Some("\\N") => Ok(None),
                Some(s) => Ok(Some(s)),
                None => Err(StoreError::Corrupt(format!("no field {i}"))),
            },
        }
    }

    /// A text field as stored.
    pub(crate) fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.opt_str(i)?.ok_or_else(|| null(i))?.to_owned())
    }

    /// A number: SQLite's own value, PostgreSQL's text parsed.
    fn opt_value<T>(&self, i: usize) -> StoreResult<Option<T>>
    where
        T: rusqlite::types::FromSql + std::str::FromStr,
    {
        match self {
            Fields::Sqlite(r) => Ok(r.get::<_, Option<T>>(i)?),
            Fields::Postgres(_) => self
                .opt_str(i)?
                .map(|s| {
                    s.parse()
                        .map_err(|_| StoreError::Corrupt(format!("field {i}: not a number: {s:?}")))
                })
                .transpose(),
        }
    }
}

fn null(i: usize) -> StoreError {
    StoreError::Corrupt(format!("field {i} is NULL"))
}

/// Runs `sql` (a `SELECT` whose literals are all ours) and hands each row
/// to `each`, which folds it into `acc`.
pub(crate) async fn scan<T: Send + 'static>(
    native: &Native,
    sql: String,
    acc: T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
) -> StoreResult<T> {
    scan_all(native, vec![sql], acc, each).await
}

/// [`scan`] of several statements, one after the other on one connection,
/// all folded into `acc`.
pub(crate) async fn scan_all<T: Send + 'static>(
    native: &Native,
    sqls: Vec<String>,
    acc: T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
) -> StoreResult<T> {
    match native {
        Native::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                // A large page cache for one long scan, dropped with the
                // connection.
                conn.execute_batch("PRAGMA cache_size = -8192; PRAGMA mmap_size = 0;")?;
                let mut acc = acc;
                for sql in &sqls {
                    let mut stmt = conn.prepare(sql)?;
                    let mut rows = stmt.query([])?;
                    while let Some(row) = rows.next()? {
                        each(&mut acc, &Fields::Sqlite(row))?;
                    }
                }
                Ok(acc)
            })
            .await
            .map_err(|e| StoreError::Corrupt(format!("bulk read stopped: {e}")))?
        }
        Native::Postgres(url) => {
            let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
            let mut acc = acc;
            for sql in &sqls {
                let mut stream = conn
                    .copy_out_raw(&format!("COPY ({sql}) TO STDOUT"))
                    .await?;
                // Lines may straddle chunks: keep the unfinished tail.
                let mut tail: Vec<u8> = Vec::new();
                while let Some(chunk) = stream.try_next().await? {
                    tail.extend_from_slice(&chunk);
                    let Some(end) = tail.iter().rposition(|b| *b == b'\n') else {
                        continue;
                    };
                    let text = std::str::from_utf8(&tail[..end])
                        .map_err(|e| StoreError::Corrupt(format!("COPY output: {e}")))?;
                    let mut fields: Vec<&str> = Vec::with_capacity(8);
                    for line in text.split('\n') {
                        fields.clear();
                        fields.extend(line.split('\t'));
                        each(&mut acc, &Fields::Postgres(&fields))?;
                    }
                    tail.drain(..=end);
                }
                if !tail.is_empty() {
                    return Err(StoreError::Corrupt("COPY output ends mid-line".into()));
                }
            }
            conn.close().await?;
            Ok(acc)
        }
    }
}

/// SQLite: a connection of its own for bulk inserts, each batch one
/// transaction under the store's single-writer lock.
pub(crate) struct SqliteWriter {
    conn: Option<rusqlite::Connection>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteWriter {
    pub(crate) async fn open(
        path: &std::path::Path,
        lock: Arc<tokio::sync::Mutex<()>>,
    ) -> StoreResult<Self> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<_> {
            let conn = rusqlite::Connection::open(&path)?;
            conn.execute_batch(
                "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON;",
            )?;
            Ok(conn)
        })
        .await
        .map_err(stopped)??;
        Ok(Self {
            conn: Some(conn),
            lock,
        })
    }

    /// Runs `sql` (an `INSERT`) once for each of `rows[range]`, binding
    /// its values with `bind`, in one transaction.
    pub(crate) async fn insert<T: Send + Sync + 'static>(
        &mut self,
        sql: &str,
        rows: &Arc<Vec<T>>,
        range: std::ops::Range<usize>,
        bind: fn(&mut rusqlite::CachedStatement<'_>, &T) -> rusqlite::Result<usize>,
    ) -> StoreResult<()> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Corrupt("bulk writer lost its connection".into()))?;
        let lock = self.lock.clone();
        let (sql, rows) = (sql.to_owned(), rows.clone());
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<_> {
            let _writer = lock.blocking_lock();
            let mut conn = conn;
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(&sql)?;
                for row in rows.get(range).unwrap_or_default() {
                    bind(&mut stmt, row)?;
                }
            }
            tx.commit()?;
            Ok(conn)
        })
        .await
        .map_err(stopped)??;
        self.conn = Some(conn);
        Ok(())
    }
}

impl SqliteWriter {
    /// Runs `work` in one transaction on this connection, under the
    /// store's writer lock; committed when it returns `Ok`.
    pub(crate) async fn transaction<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Corrupt("bulk writer lost its connection".into()))?;
        let lock = self.lock.clone();
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let _writer = lock.blocking_lock();
            let mut conn = conn;
            let out = (|| {
                let tx = conn.transaction()?;
                let out = work(&tx)?;
                tx.commit()?;
                Ok(out)
            })();
            (conn, out)
        })
        .await
        .map_err(stopped)?;
        self.conn = Some(conn);
        out
    }
}

fn stopped(e: tokio::task::JoinError) -> StoreError {
    StoreError::Corrupt(format!("bulk write stopped: {e}"))
}

/// Rows in PostgreSQL's text COPY format: tab-separated, `\N` for NULL,
/// backslash, tab, newline and carriage return escaped.
pub(crate) fn copy_text(rows: impl IntoIterator<Item = Vec<Arg>>) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    for row in rows {
        for (i, arg) in row.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            // Writing into a Vec cannot fail.
            let _ = match arg {
                Arg::I64(v) | Arg::OptI64(Some(v)) => write!(out, "{v}"),
                Arg::OptF64(Some(v)) if v.is_finite() => write!(out, "{v}"),
                Arg::Text(s) | Arg::OptText(Some(s)) => {
                    copy_escaped(&mut out, s);
                    Ok(())
                }
                Arg::OptI64(None) | Arg::OptText(None) | Arg::OptF64(_) => out.write_all(b"\\N"),
            };
        }
        out.push(b'\n');
    }
    out
}

/// `s` in COPY text format: backslash, tab, newline and carriage return
/// escaped.
pub(crate) fn copy_escaped(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// PostgreSQL: sends `data` (from [`copy_text`]) to `COPY target FROM
/// STDIN` on `conn`.
pub(crate) async fn copy_in(
    conn: &mut sqlx::postgres::PgConnection,
    target: &str,
    data: Vec<u8>,
) -> StoreResult<u64> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {target} FROM STDIN"))
        .await?;
    copy.send(data).await?;
    Ok(copy.finish().await?)
}
