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
//! * PostgreSQL through `COPY … TO STDOUT` (binary format) and `COPY …
//!   FROM STDIN` (binary format for results, text for stage changes) on a
//!   native connection.
//!
//! The SQL these run is built from typed values only (numbers, dates),
//! never from user text.

use std::path::{Path, PathBuf};
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

/// One row of a bulk read: its fields by position. PostgreSQL's binary
/// fields are read by their length, so each read must ask for the column's
/// own kind (an integer column as an integer, a float column as a float).
pub(crate) enum Fields<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    /// A tuple of PostgreSQL's binary COPY format: each field's bytes in
    /// the type's binary form (integers and floats big-endian, text as
    /// UTF-8), `None` for NULL.
    Postgres(&'a [Option<&'a [u8]>]),
}

impl Fields<'_> {
    /// An integer field (`bigint`, `integer` or `smallint`); `None` when
    /// NULL.
    pub(crate) fn opt_i64(&self, i: usize) -> StoreResult<Option<i64>> {
        match self {
            Fields::Sqlite(r) => Ok(r.get::<_, Option<i64>>(i)?),
            Fields::Postgres(_) => self.bytes(i)?.map(|b| be_int(i, b)).transpose(),
        }
    }

    pub(crate) fn i64(&self, i: usize) -> StoreResult<i64> {
        self.opt_i64(i)?.ok_or_else(|| null(i))
    }

    /// A floating-point field (`double precision` or `real`); `None` when
    /// NULL.
    pub(crate) fn opt_f64(&self, i: usize) -> StoreResult<Option<f64>> {
        match self {
            Fields::Sqlite(r) => Ok(r.get::<_, Option<f64>>(i)?),
            Fields::Postgres(_) => self
                .bytes(i)?
                .map(|b| match *b {
                    [a, b, c, d, e, f, g, h] => Ok(f64::from_be_bytes([a, b, c, d, e, f, g, h])),
                    [a, b, c, d] => Ok(f64::from(f32::from_be_bytes([a, b, c, d]))),
                    _ => Err(StoreError::Corrupt(format!("field {i}: not a float"))),
                })
                .transpose(),
        }
    }

    /// A text field, borrowed from the row; `None` when NULL.
    pub(crate) fn opt_str(&self, i: usize) -> StoreResult<Option<&str>> {
        match self {
            Fields::Sqlite(r) => r
                .get_ref(i)?
                .as_str_or_null()
                .map_err(|e| StoreError::Corrupt(format!("field {i}: {e}"))),
            Fields::Postgres(_) => self
                .bytes(i)?
                .map(|b| {
                    std::str::from_utf8(b)
                        .map_err(|e| StoreError::Corrupt(format!("field {i}: {e}")))
                })
                .transpose(),
        }
    }

    /// A text field that is never NULL, borrowed from the row.
    pub(crate) fn str(&self, i: usize) -> StoreResult<&str> {
        self.opt_str(i)?.ok_or_else(|| null(i))
    }

    /// PostgreSQL: the bytes of field `i`.
    fn bytes(&self, i: usize) -> StoreResult<Option<&[u8]>> {
        match self {
            Fields::Postgres(f) => f
                .get(i)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("no field {i}"))),
            Fields::Sqlite(_) => Err(StoreError::Corrupt("not a COPY row".into())),
        }
    }
}

/// A big-endian integer of 8, 4 or 2 bytes.
fn be_int(i: usize, b: &[u8]) -> StoreResult<i64> {
    Ok(match *b {
        [a, b, c, d, e, f, g, h] => i64::from_be_bytes([a, b, c, d, e, f, g, h]),
        [a, b, c, d] => i64::from(i32::from_be_bytes([a, b, c, d])),
        [a, b] => i64::from(i16::from_be_bytes([a, b])),
        _ => return Err(StoreError::Corrupt(format!("field {i}: not an integer"))),
    })
}

/// The start of PostgreSQL's binary COPY data: signature, flags and the
/// length of the header extension (skipped).
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Where the tuples of binary COPY data start (after the signature, the
/// flags, the extension length and the extension); `None` while `buf`
/// holds less than the fixed part.
fn copy_header_end(buf: &[u8]) -> StoreResult<Option<usize>> {
    let Some(ext) = buf.get(15..19) else {
        return Ok(None);
    };
    // Flags 16-31 are critical: none is known here (16 would add an OID
    // to every tuple).
    if !buf.starts_with(COPY_SIGNATURE) || buf[11..13] != [0, 0] {
        return Err(StoreError::Corrupt("not binary COPY data we read".into()));
    }
    Ok(Some(
        19 + u32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]) as usize,
    ))
}

/// The tuples of a whole binary COPY stream, folded into `acc`.
#[cfg(test)]
pub(crate) fn read_binary_copy<T>(
    data: &[u8],
    mut acc: T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
) -> StoreResult<T> {
    let start = copy_header_end(data)?.ok_or_else(|| StoreError::Corrupt("no header".into()))?;
    match copy_tuples(data, start, &mut acc, each)? {
        None => Ok(acc),
        Some(at) => Err(StoreError::Corrupt(format!("data ends mid-tuple at {at}"))),
    }
}

/// Reads the binary COPY tuples complete in `buf` from `at`, handing each
/// to `each`; returns where the first incomplete one starts, or `None`
/// after the trailer.
fn copy_tuples<T>(
    buf: &[u8],
    mut at: usize,
    acc: &mut T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
) -> StoreResult<Option<usize>> {
    let int = |at: usize, n: usize| buf.get(at..at + n);
    loop {
        let Some(count) = int(at, 2) else {
            return Ok(Some(at));
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            return Ok(None);
        }
        let count = usize::try_from(count)
            .ok()
            .filter(|n| *n <= MAX_FIELDS)
            .ok_or_else(|| StoreError::Corrupt(format!("COPY tuple of {count} fields")))?;
        let mut fields: [Option<&[u8]>; MAX_FIELDS] = [None; MAX_FIELDS];
        let mut p = at + 2;
        for field in fields.iter_mut().take(count) {
            let Some(len) = int(p, 4) else {
                return Ok(Some(at));
            };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            p += 4;
            match usize::try_from(len) {
                Ok(len) => {
                    let Some(bytes) = buf.get(p..p + len) else {
                        return Ok(Some(at));
                    };
                    *field = Some(bytes);
                    p += len;
                }
                Err(_) if len == -1 => {}
                Err(_) => {
                    return Err(StoreError::Corrupt(format!("COPY field of length {len}")));
                }
            }
        }
        each(acc, &Fields::Postgres(&fields[..count]))?;
        at = p;
    }
}

/// Fields a bulk read selects at most.
const MAX_FIELDS: usize = 32;

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
    scan_with(native, vec![sql], acc, each, Workers::AsPlanned).await
}

/// [`scan`] of a part of a table that other parts are read beside, one
/// per core: PostgreSQL reads it in its own process. (Left to plan it,
/// once a table's rows drift out of key order as they are rewritten, it
/// reads a half of the purchase rows by a parallel scan and a sort
/// spilled to disk: three processes for twice the time of the key's
/// index on its own.)
pub(crate) async fn scan_part<T: Send + 'static>(
    native: &Native,
    sql: String,
    acc: T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
) -> StoreResult<T> {
    scan_with(native, vec![sql], acc, each, Workers::None).await
}

/// [`scan`] of several statements, one after the other on one connection,
/// all folded into `acc`.
pub(crate) async fn scan_all<T: Send + 'static>(
    native: &Native,
    sqls: Vec<String>,
    acc: T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
) -> StoreResult<T> {
    scan_with(native, sqls, acc, each, Workers::AsPlanned).await
}

/// Whether PostgreSQL may add parallel workers to a read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Workers {
    AsPlanned,
    None,
}

async fn scan_with<T: Send + 'static>(
    native: &Native,
    sqls: Vec<String>,
    acc: T,
    each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
    workers: Workers,
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
                // A small page cache: a scan reads each page once, and a
                // large cache per scan costs more to allocate than it saves.
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
            if workers == Workers::None {
                sqlx::query("SET max_parallel_workers_per_gather = 0")
                    .execute(&mut conn)
                    .await?;
            }
            let mut acc = acc;
            for sql in &sqls {
                let mut stream = conn
                    .copy_out_raw(&format!("COPY ({sql}) TO STDOUT (FORMAT binary)"))
                    .await?;
                // Tuples may straddle messages: keep the unfinished tail.
                let mut buf: Vec<u8> = Vec::new();
                let mut start = None;
                let mut done = false;
                while let Some(chunk) = stream.try_next().await? {
                    buf.extend_from_slice(&chunk);
                    let Some(at) =
                        start.map_or_else(|| copy_header_end(&buf), |at| Ok(Some(at)))?
                    else {
                        continue;
                    };
                    if buf.len() < at {
                        start = Some(at);
                        continue;
                    }
                    match copy_tuples(&buf, at, &mut acc, each)? {
                        Some(rest) => {
                            buf.drain(..rest);
                            start = Some(0);
                        }
                        None => {
                            done = true;
                            buf.clear();
                        }
                    }
                }
                if !done {
                    return Err(StoreError::Corrupt("COPY data ends mid-tuple".into()));
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
    /// The connection, while no transaction holds it.
    fn conn(&self) -> StoreResult<&rusqlite::Connection> {
        self.conn.as_ref().ok_or_else(lost)
    }

    pub(crate) async fn open(
        path: &std::path::Path,
        lock: Arc<tokio::sync::Mutex<()>>,
    ) -> StoreResult<Self> {
        Self::open_with(path, lock, true).await
    }

    /// Gives the connection a page cache of up to `mb` MB (allocated as
    /// pages are used). Writes scattered over a large table need one: with
    /// SQLite's default 2 MB a refresh of 10,000 customers' rows spilled
    /// and re-read its pages and spent half its time doing so.
    pub(crate) fn cache_mb(&self, mb: u32) -> StoreResult<()> {
        let conn = self.conn()?;
        conn.execute_batch(&format!("PRAGMA cache_size = -{}", u64::from(mb) * 1024))?;
        Ok(())
    }

    /// Leaves checkpoints to [`SqliteWriter::checkpoint_after`]: the
    /// commits of this writer no longer copy the log into the database
    /// themselves (SQLite's automatic checkpoint, run by the committing
    /// connection before its commit returns).
    pub(crate) fn defer_checkpoints(&self) -> StoreResult<()> {
        let conn = self.conn()?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        Ok(())
    }

    /// Closes the writer after copying what the log holds into the
    /// database, on a thread of its own, without waiting for it. A passive
    /// checkpoint: readers and writers go on meanwhile, and what they keep
    /// in use is left for a later one.
    pub(crate) fn checkpoint_after(mut self) {
        if let Some(conn) = self.conn.take() {
            tokio::task::spawn_blocking(move || {
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "checkpoint after a bulk write failed");
                }
            });
        }
    }

    /// A writer whose inserts do not look up their foreign keys (the
    /// caller checks them set-based), for staged bulk loads.
    pub(crate) async fn without_foreign_keys(
        path: &std::path::Path,
        lock: Arc<tokio::sync::Mutex<()>>,
    ) -> StoreResult<Self> {
        Self::open_with(path, lock, false).await
    }

    async fn open_with(
        path: &std::path::Path,
        lock: Arc<tokio::sync::Mutex<()>>,
        foreign_keys: bool,
    ) -> StoreResult<Self> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<_> {
            let conn = rusqlite::Connection::open(&path)?;
            conn.execute_batch(&format!(
                "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = {};",
                if foreign_keys { "ON" } else { "OFF" }
            ))?;
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
        bind: fn(&mut rusqlite::Statement<'_>, &T) -> rusqlite::Result<usize>,
    ) -> StoreResult<()> {
        let (sql, rows) = (sql.to_owned(), rows.clone());
        self.transaction(move |tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            for row in rows.get(range).unwrap_or_default() {
                bind(&mut stmt, row)?;
            }
            Ok(())
        })
        .await
    }

    /// Runs `work` in one transaction on this connection, under the
    /// store's writer lock; committed when it returns `Ok`.
    pub(crate) async fn transaction<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = self.conn.take().ok_or_else(lost)?;
        let lock = self.lock.clone();
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let _writer = lock.blocking_lock();
            let mut conn = conn;
            let out = (|| {
                // Takes the write lock at once: a read first, then a
                // write, could otherwise meet another process's commit.
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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

    /// Appends the rows of `table` in the scratch file `scratch` (written
    /// by [`write_scratch`] with the same definition) to `table`, in one
    /// transaction. Identical definitions and no foreign key checks let
    /// SQLite copy the stored records without decoding them.
    pub(crate) async fn transfer(&mut self, scratch: &Path, table: &str) -> StoreResult<()> {
        let scratch = scratch.to_string_lossy().into_owned();
        let conn = self.conn()?;
        // Outside any transaction, as SQLite requires.
        conn.execute("ATTACH DATABASE ?1 AS scratch", [&scratch])?;
        let sql = format!("INSERT INTO main.{table} SELECT * FROM scratch.{table}");
        let moved = self
            .transaction(move |tx| {
                tx.execute(&sql, [])?;
                Ok(())
            })
            .await;
        let conn = self.conn()?;
        conn.execute("DETACH DATABASE scratch", [])?;
        moved
    }
}

/// The scratch file a bulk write beside `db` uses for `name`.
pub(crate) fn scratch_path(db: &Path, name: &str) -> PathBuf {
    let mut file = db.as_os_str().to_owned();
    file.push(format!("-{name}"));
    PathBuf::from(file)
}

/// Creates the scratch file `path` afresh with `ddl` and fills it with
/// `work`, in one transaction. It holds a copy on its way into the
/// database, nothing to keep: no journal, no syncing.
pub(crate) fn write_scratch(
    path: &Path,
    ddl: &str,
    work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    remove_scratch(path);
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF;",
    )?;
    conn.execute_batch(ddl)?;
    let tx = conn.transaction()?;
    work(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Removes a scratch file, if there is one.
pub(crate) fn remove_scratch(path: &Path) {
    // Absent is fine; anything else is left for the next write, which
    // starts by removing it again.
    let _ = std::fs::remove_file(path);
}

/// Every customer id, ascending. Unordered, the engine reads the ids from
/// its smallest index instead of walking the wide table (SQLite: 55 ms
/// instead of 1.1 s at 1M customers); sorting them here is cheap.
const CUSTOMER_IDS: &str = "SELECT id FROM customers";

/// Every customer id, ascending (see [`CUSTOMER_IDS`]).
pub(crate) async fn customer_ids(native: &Native) -> StoreResult<Vec<i64>> {
    let each = |out: &mut Vec<i64>, f: &Fields<'_>| {
        out.push(f.i64(0)?);
        Ok(())
    };
    let mut ids = scan(native, CUSTOMER_IDS.to_owned(), Vec::new(), each).await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Of `ids` (ascending), those that are no longer customers, read in the
/// caller's transaction: every id is read from the key's smallest index
/// and compared here, instead of a look-up per id.
pub(crate) fn missing_customers(
    tx: &rusqlite::Transaction<'_>,
    ids: &[i64],
) -> StoreResult<Vec<i64>> {
    let mut stmt = tx.prepare(CUSTOMER_IDS)?;
    let mut existing: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    existing.sort_unstable();
    Ok(absent(ids, &existing))
}

/// Of `ids`, those not among `existing` (ascending).
pub(crate) fn absent(ids: &[i64], existing: &[i64]) -> Vec<i64> {
    ids.iter()
        .filter(|id| existing.binary_search(id).is_err())
        .copied()
        .collect()
}

fn lost() -> StoreError {
    StoreError::Corrupt("bulk writer lost its connection".into())
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
                Arg::Text(s) | Arg::OptText(Some(s)) => {
                    copy_escaped(&mut out, s);
                    Ok(())
                }
                Arg::OptI64(None) | Arg::OptText(None) => out.write_all(b"\\N"),
            };
        }
        out.push(b'\n');
    }
    out
}

/// `s` in COPY text format: backslash, tab, newline and carriage return
/// escaped.
fn copy_escaped(out: &mut Vec<u8>, s: &str) {
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

/// Rows in PostgreSQL's binary COPY format: the server stores the bytes
/// of each field as they are instead of parsing text (integers and floats
/// big-endian, text as UTF-8).
pub(crate) struct BinaryCopy {
    out: Vec<u8>,
}

impl BinaryCopy {
    /// The signature, no flags, no header extension.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        let mut out = Vec::with_capacity(bytes + 21);
        out.extend_from_slice(COPY_SIGNATURE);
        out.extend_from_slice(&[0; 8]);
        Self { out }
    }

    /// Starts a row of `fields` fields.
    pub(crate) fn row(&mut self, fields: i16) {
        self.out.extend_from_slice(&fields.to_be_bytes());
    }

    pub(crate) fn null(&mut self) {
        self.out.extend_from_slice(&(-1i32).to_be_bytes());
    }

    /// An `int8` field.
    pub(crate) fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&8i32.to_be_bytes());
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A `float8` field.
    pub(crate) fn f64(&mut self, v: f64) {
        self.out.extend_from_slice(&8i32.to_be_bytes());
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A `text` field.
    pub(crate) fn str(&mut self, s: &str) -> StoreResult<()> {
        let len = i32::try_from(s.len())
            .map_err(|_| StoreError::Corrupt(format!("a text of {} bytes", s.len())))?;
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// The data written since the start or the last [`BinaryCopy::clear`].
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.out
    }

    /// Forgets the data written (once sent), keeping the buffer.
    pub(crate) fn clear(&mut self) {
        self.out.clear();
    }

    /// The data (since the last clear) with the trailer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(&(-1i16).to_be_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tuple in binary COPY format from (length or -1, bytes) fields.
    fn tuple(fields: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                Some(b) => {
                    out.extend((b.len() as i32).to_be_bytes());
                    out.extend(b);
                }
                None => out.extend((-1i32).to_be_bytes()),
            }
        }
        out
    }

    type Row = (i64, Option<String>, Option<i64>, i64, Option<f64>);

    fn each(out: &mut Vec<Row>, f: &Fields<'_>) -> StoreResult<()> {
        out.push((
            f.i64(0)?,
            f.opt_str(1)?.map(str::to_owned),
            f.opt_i64(2)?,
            f.i64(3)?,
            f.opt_f64(4)?,
        ));
        Ok(())
    }

    #[test]
    fn binary_copy_tuples_are_read_by_type_and_resumed_where_cut() {
        let a = tuple(&[
            Some(42i64.to_be_bytes().to_vec()),
            Some("2026-11-22".into()),
            None,
            Some((-3i32).to_be_bytes().to_vec()),
            Some(0.25f64.to_be_bytes().to_vec()),
        ]);
        let b = tuple(&[
            Some((-7i64).to_be_bytes().to_vec()),
            None,
            Some(9i64.to_be_bytes().to_vec()),
            Some(2i16.to_be_bytes().to_vec()),
            None,
        ]);
        let mut data = [a.clone(), b.clone()].concat();
        data.extend((-1i16).to_be_bytes());
        let want = vec![
            (42, Some("2026-11-22".to_owned()), None, -3, Some(0.25)),
            (-7, None, Some(9), 2, None),
        ];
        let mut got = Vec::new();
        assert_eq!(copy_tuples(&data, 0, &mut got, each).unwrap(), None);
        assert_eq!(got, want);
        // Cut anywhere inside the second tuple: the first is read and the
        // second resumes at its start.
        for cut in a.len()..a.len() + b.len() {
            let mut got = Vec::new();
            let rest = copy_tuples(&data[..cut], 0, &mut got, each).unwrap();
            assert_eq!((rest, got.len()), (Some(a.len()), 1), "cut at {cut}");
        }
    }
}
