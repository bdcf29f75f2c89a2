//! Customer value analytics at rest: the order stream the models read, the
//! facts selection scoring needs, and the results of each run (one row per
//! customer, lifecycle stage changes, a run summary). The models themselves
//! are in `kehu-analytics`; `kehu-core` runs them between these reads and
//! the write.

use chrono::{DateTime, NaiveDate, Utc};
use kehu_analytics::lifecycle::{LifecycleStage, StageState};
use kehu_analytics::{Line, OrderBook};
use kehu_domain::CustomerId;
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use crate::native::{self, Fields};
use crate::rows::{date, instant};
use crate::sql::{Arg, Sql};
use crate::{Scoped, Store, StoreError, StoreResult};

/// A stored key of a result (segment, layer, group, stage, reason,
/// quadrant): the models' own `&'static str` when computed, text when read.
pub type ResultKey = std::borrow::Cow<'static, str>;

/// One customer's latest results.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CustomerAnalytics {
    pub customer_id: CustomerId,
    pub computed_at: DateTime<Utc>,
    /// The day the results describe.
    pub as_of: NaiveDate,
    /// Days since the last purchase; RFM fields are null without a
    /// purchase in the window.
    pub recency_days: Option<i64>,
    /// Purchases in the window.
    pub frequency: Option<i64>,
    /// Net value in the window, minor units.
    pub monetary_minor: Option<i64>,
    pub r_score: Option<i64>,
    pub f_score: Option<i64>,
    pub m_score: Option<i64>,
    /// RFM segment key (`champions`, …, `lost`).
    #[schema(value_type = Option<String>)]
    pub rfm_segment: Option<ResultKey>,
    /// Revenue in the window, minor units.
    pub revenue_minor: i64,
    /// Profit in the window where cost is known, minor units.
    pub profit_minor: i64,
    /// `head`, `waist` or `tail` by revenue; null without revenue.
    #[schema(value_type = Option<String>)]
    pub pyramid_layer: Option<ResultKey>,
    /// Frequency × order value group `a` … `e`.
    #[schema(value_type = String)]
    pub value_group: ResultKey,
    /// `acquisition`, `growth`, `maturity`, `decline` or `departed`.
    #[schema(value_type = String)]
    pub lifecycle_stage: ResultKey,
    /// Since when the customer is in that stage.
    pub lifecycle_since: NaiveDate,
    /// The rule that decided the stage.
    #[schema(value_type = String)]
    pub lifecycle_reason: ResultKey,
    /// Selection scores 0-100.
    pub value_score: Option<f64>,
    pub capability_score: Option<f64>,
    /// Selection quadrant `a` … `d`.
    #[schema(value_type = Option<String>)]
    pub selection_quadrant: Option<ResultKey>,
    /// What contributed how much to the selection scores, compact: a JSON
    /// array of `[raw value or null, points]` in the order of the run's
    /// selection indicators (`selection_indicators` of its summary).
    pub selection_explanation: Option<String>,
    /// BG/NBD probability that the customer is still active.
    pub probability_alive: Option<f64>,
    /// Expected purchases over the CLV horizon.
    pub expected_purchases: Option<f64>,
    /// Gamma-Gamma expected value per purchase, minor units.
    pub expected_order_value_minor: Option<i64>,
    /// Discounted expected value over the horizon, minor units.
    pub clv_minor: Option<i64>,
}

/// A lifecycle stage change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LifecycleChange {
    pub customer_id: CustomerId,
    /// Null for the first evaluation.
    pub from_stage: Option<String>,
    pub to_stage: String,
    /// The as-of day of the run that saw the change.
    pub changed_on: NaiveDate,
}

/// A run's record.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AnalysisRun {
    pub id: i64,
    pub computed_at: DateTime<Utc>,
    pub as_of: NaiveDate,
    pub customers: i64,
    pub orders: i64,
    pub duration_ms: i64,
    /// Company-level results: layer shares, curves, grids, parameters.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

/// A refresh's record: the customers of run `run_id` it re-scored.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRefresh {
    pub run_id: i64,
    pub refreshed_at: DateTime<Utc>,
    /// When it began reading; the next refresh starts there.
    pub read_from: i64,
    pub customers: i64,
    pub orders: i64,
    pub duration_ms: i64,
}

/// What selection scoring reads about our relationship with a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationshipFacts {
    pub customer_id: i64,
    /// Best closeness among the customer's key decision makers: 3 close,
    /// 2 regular, 1 initial, 0 unknown or no decision maker.
    pub kdm_closeness: i64,
    /// Contacts on file.
    pub contacts: i64,
    /// Interactions since the given instant.
    pub recent_interactions: i64,
}

impl Store {
    /// Every completed order dated on or before `up_to`, grouped by
    /// customer, as the models read them (refunds are negative amounts):
    /// one row per customer (see [`crate::purchases`]).
    pub async fn analysis_book(&self, up_to: NaiveDate) -> StoreResult<OrderBook> {
        let up_to = crate::purchases::day_number(up_to);
        // Two halves by id, read side by side: one per core.
        let last: i64 =
            Sql::new("SELECT COALESCE(MAX(customer_id), 0) AS id FROM customer_purchases")
                .query()
                .fetch_one(self.pool())
                .await?
                .try_get("id")?;
        let half = |range: String| {
            let native = self.native.clone();
            let sql = format!(
                "SELECT customer_id, orders FROM customer_purchases WHERE {range} \
                 ORDER BY customer_id"
            );
            tokio::spawn(async move {
                native::scan_part(&native, sql, BookScan::new(up_to), BookScan::add).await
            })
        };
        let first = half(format!("customer_id <= {}", last / 2));
        let second = half(format!("customer_id > {}", last / 2));
        let stopped = |e: tokio::task::JoinError| StoreError::Corrupt(format!("{e}"));
        let mut book = first.await.map_err(stopped)??.book;
        book.append(second.await.map_err(stopped)??.book)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(book)
    }

    /// [`Store::analysis_book`] of the given customers (ascending).
    pub async fn analysis_book_of(
        &self,
        customers: &[i64],
        up_to: NaiveDate,
    ) -> StoreResult<OrderBook> {
        let up_to = crate::purchases::day_number(up_to);
        let sql = |ids: Option<&str>| {
            format!(
                "SELECT customer_id, orders FROM customer_purchases \
                 WHERE customer_id IN ({}) ORDER BY customer_id",
                ids.unwrap_or_default()
            )
        };
        let scan = BookScan::new(up_to);
        Ok(self
            .fold_customers(Some(customers), sql, scan, BookScan::add)
            .await?
            .book)
    }

    /// Customers whose counted orders changed at or after `since_ms`, and
    /// customers created then, ascending.
    pub async fn customers_changed_since(&self, since_ms: i64) -> StoreResult<Vec<i64>> {
        // Two reads through their own indexes, merged here: as one `UNION
        // … ORDER BY id` SQLite scanned the customers table twice (0.6 s
        // at 1M customers).
        let mut ids = Vec::new();
        for column in ["orders_changed_at", "created_at"] {
            let rows = Sql::new(&format!("SELECT id FROM customers WHERE {column} >= "))
                .bind(since_ms)
                .query()
                .fetch_all(self.pool())
                .await?;
            for r in &rows {
                ids.push(r.try_get::<i64, _>("id")?);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Every customer id, ascending.
    pub async fn all_customer_ids(&self) -> StoreResult<Vec<i64>> {
        native::customer_ids(&self.native).await
    }

    /// Relationship facts of every customer that has contacts or
    /// interactions in `[since_ms, until_ms)` (the rest have none), by
    /// customer id.
    pub async fn relationship_facts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> StoreResult<Vec<RelationshipFacts>> {
        self.relationship_facts_in(since_ms, until_ms, None).await
    }

    /// [`Store::relationship_facts`] of the given customers only.
    pub async fn relationship_facts_of(
        &self,
        customers: &[i64],
        since_ms: i64,
        until_ms: i64,
    ) -> StoreResult<Vec<RelationshipFacts>> {
        self.relationship_facts_in(since_ms, until_ms, Some(customers))
            .await
    }

    async fn relationship_facts_in(
        &self,
        since_ms: i64,
        until_ms: i64,
        only: Option<&[i64]>,
    ) -> StoreResult<Vec<RelationshipFacts>> {
        // Every contact of every customer, from the index that holds the
        // three columns read (`contacts_kdm`), in customer order; folded
        // here.
        let contacts = move |ids: Option<&str>| match ids {
            Some(ids) => format!(
                "{CONTACT_ROWS} FROM contacts WHERE customer_id IN ({ids}) ORDER BY customer_id"
            ),
            None => format!("{CONTACT_ROWS} FROM contacts ORDER BY customer_id"),
        };
        let interactions = |ids: Option<&str>| {
            let only = ids.map(|ids| format!(" AND customer_id IN ({ids})"));
            format!(
                "{INTERACTION_FACTS}{since_ms} AND occurred_at < {until_ms}{} GROUP BY customer_id",
                only.unwrap_or_default()
            )
        };
        // (customer, closeness) of each contact; (customer, count).
        let pair = |out: &mut Vec<(i64, i64)>, f: &Fields<'_>| {
            out.push((f.i64(0)?, f.i64(1)?));
            Ok(())
        };
        // Side by side, each on a connection of its own.
        let (contacts, counts) = tokio::try_join!(
            self.scan_customers(only, contacts, pair),
            self.scan_customers(only, interactions, pair)
        )?;
        Ok(merge_facts(contacts, counts))
    }

    /// The stored lifecycle stage of every customer with results, by
    /// ascending id (a stage key this version does not know is left out).
    pub async fn lifecycle_states(&self) -> StoreResult<Vec<(i64, StageState)>> {
        self.lifecycle_states_in(None).await
    }

    /// [`Store::lifecycle_states`] of the given customers only.
    pub async fn lifecycle_states_of(
        &self,
        customers: &[i64],
    ) -> StoreResult<Vec<(i64, StageState)>> {
        self.lifecycle_states_in(Some(customers)).await
    }

    async fn lifecycle_states_in(
        &self,
        only: Option<&[i64]>,
    ) -> StoreResult<Vec<(i64, StageState)>> {
        let sql = |ids: Option<&str>| {
            let only = ids.map(|ids| format!(" WHERE customer_id IN ({ids})"));
            format!(
                "SELECT customer_id, lifecycle_stage, lifecycle_since FROM customer_analytics{}",
                only.unwrap_or_default()
            )
        };
        let each = |out: &mut Vec<(i64, StageState)>, f: &Fields<'_>| {
            if let Some(stage) = LifecycleStage::from_key(f.str(1)?) {
                let since = date(f.str(2)?)?;
                out.push((f.i64(0)?, StageState { stage, since }));
            }
            Ok(())
        };
        let mut states = self.scan_customers(only, sql, each).await?;
        // In key order already on SQLite (a sorted slice sorts in one
        // pass); PostgreSQL's scan has none.
        states.sort_unstable_by_key(|s| s.0);
        Ok(states)
    }

    /// Runs `sql` natively over every customer (`only` is `None`; `sql`
    /// gets `None`) or over the given ones, [`IDS_PER_LIST`] at a time on
    /// one connection (`sql` gets the ids as the text of an `IN` list:
    /// integers, nothing to quote), and collects what `each` makes of the
    /// rows.
    async fn scan_customers<T: Send + 'static>(
        &self,
        only: Option<&[i64]>,
        sql: impl Fn(Option<&str>) -> String,
        each: fn(&mut Vec<T>, &Fields<'_>) -> StoreResult<()>,
    ) -> StoreResult<Vec<T>> {
        self.fold_customers(only, sql, Vec::new(), each).await
    }

    /// [`Store::scan_customers`] folding the rows into `acc`.
    async fn fold_customers<T: Send + 'static>(
        &self,
        only: Option<&[i64]>,
        sql: impl Fn(Option<&str>) -> String,
        acc: T,
        each: fn(&mut T, &Fields<'_>) -> StoreResult<()>,
    ) -> StoreResult<T> {
        let Some(ids) = only else {
            return native::scan(&self.native, sql(None), acc, each).await;
        };
        let sqls = ids
            .chunks(IDS_PER_LIST)
            .map(|chunk| sql(Some(&crate::sql::id_list(chunk))))
            .collect();
        native::scan_all(&self.native, sqls, acc, each).await
    }

    /// Replaces every customer's results with `rows`, records `changes`
    /// and the run: readers see the previous run or this one, never a mix.
    /// Returns the run's id.
    ///
    /// The rows go first into a staging table, and one short transaction
    /// swaps it in and records the run. SQLite has a single writer, so the
    /// staging goes in short transactions (other writes go on in between);
    /// PostgreSQL copies the rows in and builds the key before the swap
    /// (see `save_analysis_by_copy`). The table has no index but its key.
    /// `read_from` is when the run began reading (a refresh picks up the
    /// changes from then on) and `pins` what it fixed for refreshes (JSON).
    pub async fn save_analysis(
        &self,
        rows: &std::sync::Arc<Vec<CustomerAnalytics>>,
        changes: &[LifecycleChange],
        run: &AnalysisRun,
        read_from: i64,
        pins: &str,
    ) -> StoreResult<i64> {
        let path = match &self.native {
            native::Native::Postgres(url) => {
                return self
                    .save_analysis_by_copy(url, rows.clone(), changes, run, read_from, pins)
                    .await;
            }
            native::Native::Sqlite(path) => path,
        };
        let now = self.now_ms();
        let started = std::time::Instant::now();
        let mut writer = self.stage_results(path, rows).await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "results staged");
        let swap = std::time::Instant::now();
        let ids: Vec<i64> = rows.iter().map(|r| r.customer_id.0).collect();
        let (changes, run, pins) = (changes.to_vec(), run.clone(), pins.to_owned());
        let id = writer
            .transaction(move |tx| {
                // Customers deleted since the read leave no results and no
                // stage changes behind. The writer lock keeps further
                // deletions out until the swap commits.
                let gone = native::missing_customers(tx, &ids)?;
                for chunk in gone.chunks(IDS_PER_LIST) {
                    tx.execute(
                        &format!(
                            "DELETE FROM {STAGING} WHERE customer_id IN ({})",
                            crate::sql::id_list(chunk)
                        ),
                        [],
                    )?;
                }
                tx.execute_batch(&format!(
                    "DROP TABLE customer_analytics; \
                     ALTER TABLE {STAGING} RENAME TO customer_analytics;"
                ))?;
                insert_changes_natively(tx, still_there(&changes, &gone), now)?;
                let id = tx.query_row(
                    &format!(
                        "INSERT INTO analysis_runs ({RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                         RETURNING id"
                    ),
                    rusqlite::params![
                        run.computed_at.timestamp_millis(),
                        run.as_of.to_string(),
                        run.customers,
                        run.orders,
                        run.duration_ms,
                        read_from,
                        pins,
                        run.summary.to_string()
                    ],
                    |r| r.get(0),
                )?;
                Ok(id)
            })
            .await?;
        tracing::debug!(
            ms = swap.elapsed().as_millis() as u64,
            "results swapped in, run recorded"
        );
        Ok(id)
    }

    /// Replaces the results of the customers of `rows` and records
    /// `changes` and the refresh, in one transaction; a `Conflict` when a
    /// newer run than the refreshed one has saved its results meanwhile.
    pub async fn save_refresh(
        &self,
        rows: &[CustomerAnalytics],
        changes: &[LifecycleChange],
        refresh: &AnalysisRefresh,
    ) -> StoreResult<()> {
        let now = self.now_ms();
        let url = match &self.native {
            native::Native::Sqlite(path) => {
                return self
                    .save_refresh_natively(path, rows, changes, refresh, now)
                    .await;
            }
            native::Native::Postgres(url) => url.clone(),
        };
        let rows = rows.to_vec();
        let (changes, refresh) = (changes.to_vec(), refresh.clone());
        // On owned data in a task of its own, as `save_analysis_by_copy`.
        tokio::spawn(async move {
            use sqlx::Connection;
            let mut conn = sqlx::postgres::PgConnection::connect(&url).await?;
            let mut tx = conn.begin().await?;
            // Results of a newer run are not overwritten with the pins of
            // an older one: the table lock keeps a swap from coming between
            // the check and the writes. It also keeps the trigger that
            // removes a deleted customer's results and changes waiting
            // until this commits (or this waiting for a deletion under
            // way), so that the deletions of customers are seen below or
            // see these rows.
            sqlx::query("LOCK TABLE customer_analytics IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            let latest: Option<i64> = sqlx::query_scalar(LATEST_RUN).fetch_one(&mut *tx).await?;
            check_still_latest(latest, &refresh)?;
            // Customers deleted since the refresh read them are left out:
            // under the lock, a deletion committed before it is seen here,
            // and one under way has its trigger wait for this commit.
            let ids: Vec<i64> = rows.iter().map(|r| r.customer_id.0).collect();
            let mut there: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM customers WHERE id = ANY($1)")
                    .bind(&ids)
                    .fetch_all(&mut *tx)
                    .await?;
            there.sort_unstable();
            let gone = native::absent(&ids, &there);
            sqlx::query("DELETE FROM customer_analytics WHERE customer_id = ANY($1)")
                .bind(&there)
                .execute(&mut *tx)
                .await?;
            let rows: Vec<CustomerAnalytics> = rows
                .into_iter()
                .filter(|r| there.binary_search(&r.customer_id.0).is_ok())
                .collect();
            let target = format!("customer_analytics ({ANALYTICS_COLS})");
            copy_results(&mut tx, &target, &rows).await?;
            let changes = still_there(&changes, &gone).map(|c| change_values(c, now));
            native::copy_in(&mut tx, CHANGE_COLS, native::copy_text(changes)).await?;
            let sql = format!(
                "INSERT INTO analysis_refreshes ({REFRESH_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
            );
            let mut insert = sqlx::query(&sql);
            for v in refresh_values(&refresh) {
                insert = insert.bind(v);
            }
            insert.execute(&mut *tx).await?;
            tx.commit().await?;
            conn.close().await?;
            StoreResult::Ok(())
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("saving the refresh stopped: {e}")))?
    }

    /// SQLite: [`Store::save_refresh`] in one rusqlite transaction, with
    /// statements prepared once (ten thousand rows of 25 values bound one
    /// by one through the pool's `Any` driver took a second).
    async fn save_refresh_natively(
        &self,
        path: &std::path::Path,
        rows: &[CustomerAnalytics],
        changes: &[LifecycleChange],
        refresh: &AnalysisRefresh,
        now: i64,
    ) -> StoreResult<()> {
        let mut writer = native::SqliteWriter::open(path, self.write_lock.clone()).await?;
        writer.cache_mb(256)?;
        // The refresh is saved and seen once committed; copying its pages
        // from the log into the database (a third of its time, 10,000
        // customers' rows spread over the whole table) follows on its own.
        writer.defer_checkpoints()?;
        let (rows, changes, refresh) = (rows.to_vec(), changes.to_vec(), refresh.clone());
        let insert = insert_results("customer_analytics");
        let started = std::time::Instant::now();
        writer
            .transaction(move |tx| {
                // SQLite's single writer orders this and a run's swap.
                let latest: Option<i64> = tx.query_row(LATEST_RUN, [], |r| r.get(0))?;
                check_still_latest(latest, &refresh)?;
                // Customers deleted since the refresh read them are left
                // out (their foreign key would refuse the rows).
                let mut gone = Vec::new();
                for chunk in rows.chunks(IDS_PER_LIST) {
                    let ids: Vec<i64> = chunk.iter().map(|r| r.customer_id.0).collect();
                    let mut stmt = tx.prepare(&format!(
                        "SELECT id FROM customers WHERE id IN ({})",
                        crate::sql::id_list(&ids)
                    ))?;
                    let mut there: Vec<i64> = stmt
                        .query_map([], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    there.sort_unstable();
                    gone.extend(native::absent(&ids, &there));
                }
                gone.sort_unstable();
                // Row by row, each replaced where it is: the page is at hand
                // for the insert that follows its delete.
                let mut delete =
                    tx.prepare_cached("DELETE FROM customer_analytics WHERE customer_id = ?")?;
                let mut insert = tx.prepare_cached(&insert)?;
                for r in &rows {
                    if gone.binary_search(&r.customer_id.0).is_ok() {
                        continue;
                    }
                    delete.execute([r.customer_id.0])?;
                    insert_analytics(&mut insert, r)?;
                }
                tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    "results replaced"
                );
                insert_changes_natively(tx, still_there(&changes, &gone), now)?;
                tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    "stage changes recorded"
                );
                tx.execute(
                    &format!(
                        "INSERT INTO analysis_refreshes ({REFRESH_COLS}) \
                         VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    refresh_values(&refresh),
                )?;
                Ok(())
            })
            .await?;
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "refresh committed"
        );
        writer.checkpoint_after();
        Ok(())
    }

    /// What a refresh of run `run_id` builds on: the run's pins (JSON;
    /// `None` for runs saved before refreshes existed) and the instant
    /// from which changes are not yet in its results (the latest read
    /// start of the run and its refreshes).
    pub async fn refresh_base(&self, run_id: i64) -> StoreResult<(Option<String>, i64)> {
        let run = Sql::new("SELECT pins, read_from FROM analysis_runs WHERE id = ")
            .bind(run_id)
            .query()
            .fetch_one(self.pool())
            .await?;
        let refreshed: Option<i64> =
            Sql::new("SELECT MAX(read_from) AS read_from FROM analysis_refreshes WHERE run_id = ")
                .bind(run_id)
                .query()
                .fetch_one(self.pool())
                .await?
                .try_get("read_from")?;
        let from: i64 = run.try_get("read_from")?;
        Ok((
            run.try_get("pins")?,
            refreshed.map_or(from, |r| r.max(from)),
        ))
    }

    /// The pins of the latest run (JSON; `None` without a run or for a
    /// run saved before refreshes existed).
    pub async fn latest_run_pins(&self) -> StoreResult<Option<String>> {
        let row = Sql::new("SELECT pins FROM analysis_runs ORDER BY id DESC LIMIT 1")
            .query()
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("pins")).transpose()?.flatten())
    }

    /// The refreshes of run `run_id` so far: (latest, customers re-scored
    /// in all); `None` before the first.
    pub async fn refreshes_of(&self, run_id: i64) -> StoreResult<Option<(DateTime<Utc>, i64)>> {
        let r = Sql::new(
            "SELECT MAX(refreshed_at) AS at, CAST(COALESCE(SUM(customers), 0) AS BIGINT) AS n \
             FROM analysis_refreshes WHERE run_id = ",
        )
        .bind(run_id)
        .query()
        .fetch_one(self.pool())
        .await?;
        let at: Option<i64> = r.try_get("at")?;
        at.map(|at| Ok((instant(at)?, r.try_get("n")?))).transpose()
    }

    /// SQLite: writes `rows` into a fresh staging copy of
    /// `customer_analytics`, the lower half in transactions of
    /// [`STAGED_PER_TRANSACTION`] rows, the upper half by way of a scratch file; returns the
    /// writer, for the swap.
    async fn stage_results(
        &self,
        path: &std::path::Path,
        rows: &std::sync::Arc<Vec<CustomerAnalytics>>,
    ) -> StoreResult<native::SqliteWriter> {
        let mut tx = self.begin_write().await?;
        // The staging table is the result table's own definition under
        // another name (a crashed run may have left one behind).
        let ddl: String = Sql::new(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'customer_analytics'",
        )
        .query()
        .fetch_one(&mut *tx.tx)
        .await?
        .try_get("sql")?;
        let ddl = ddl.replacen("customer_analytics", STAGING, 1);
        for sql in [format!("DROP TABLE IF EXISTS {STAGING}"), ddl.clone()] {
            Sql::new(&sql).query().execute(&mut *tx.tx).await?;
        }
        tx.commit().await?;
        // SQLite writes on one core. The upper half of the rows goes into
        // a scratch file of its own on a second connection meanwhile, and
        // then into the staging table by SQLite's transfer of identically
        // defined tables, which copies the stored records as they are.
        // Neither half checks its customers row by row: the run's
        // customers that are gone by then are looked up once below.
        let half = rows.len() / 2;
        let scratch = native::scratch_path(path, STAGING);
        let upper = {
            let (scratch, ddl, rows) = (scratch.clone(), ddl.clone(), rows.clone());
            tokio::task::spawn_blocking(move || {
                native::write_scratch(&scratch, &ddl, |tx| {
                    let mut stmt = tx.prepare(&insert_results(STAGING))?;
                    for row in rows.get(half..).unwrap_or_default() {
                        insert_analytics(&mut stmt, row)?;
                    }
                    Ok(())
                })
            })
        };
        let mut writer =
            native::SqliteWriter::without_foreign_keys(path, self.write_lock.clone()).await?;
        let sql = insert_results(STAGING);
        for start in (0..half).step_by(STAGED_PER_TRANSACTION) {
            let end = (start + STAGED_PER_TRANSACTION).min(half);
            writer
                .insert(&sql, rows, start..end, insert_analytics)
                .await?;
        }
        let wrote = upper
            .await
            .map_err(|e| StoreError::Corrupt(format!("staging stopped: {e}")));
        let moved = match wrote.and_then(|r| r) {
            Ok(()) => writer.transfer(&scratch, STAGING).await,
            Err(e) => Err(e),
        };
        native::remove_scratch(&scratch);
        moved?;
        Ok(writer)
    }

    /// PostgreSQL: [`Store::save_analysis`] by `COPY` into a staging table
    /// that gets its key before one short transaction swaps it in,
    /// records the stage changes and the run. Readers see the previous
    /// results until then (they wait for the swap, not for the load).
    async fn save_analysis_by_copy(
        &self,
        url: &str,
        rows: std::sync::Arc<Vec<CustomerAnalytics>>,
        changes: &[LifecycleChange],
        run: &AnalysisRun,
        read_from: i64,
        pins: &str,
    ) -> StoreResult<i64> {
        let now = self.now_ms();
        let load = CopyLoad {
            url: url.to_owned(),
            results: rows,
            changes: changes.to_vec(),
            recorded_at: now,
            run: run.clone(),
            read_from,
            pins: pins.to_owned(),
        };
        // A task of its own, on owned data: the connection's futures are
        // then `Send` without the compiler having to prove it for every
        // lifetime of the caller's borrows.
        tokio::spawn(load.run())
            .await
            .map_err(|e| StoreError::Corrupt(format!("saving the results stopped: {e}")))?
    }

    /// The latest run, if any.
    pub async fn latest_analysis_run(&self) -> StoreResult<Option<AnalysisRun>> {
        let row = Sql::new(
            "SELECT id, computed_at, as_of, customers, orders, duration_ms, summary \
             FROM analysis_runs ORDER BY id DESC LIMIT 1",
        )
        .query()
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(AnalysisRun {
                id: r.try_get("id")?,
                computed_at: instant(r.try_get("computed_at")?)?,
                as_of: date(r.try_get::<&str, _>("as_of")?)?,
                customers: r.try_get("customers")?,
                orders: r.try_get("orders")?,
                duration_ms: r.try_get("duration_ms")?,
                summary: serde_json::from_str(r.try_get::<&str, _>("summary")?)
                    .map_err(|e| StoreError::Corrupt(format!("run summary: {e}")))?,
            })
        })
        .transpose()
    }
}

/// The columns of one customer's results the overview gathers.
struct OverviewRow<'a> {
    customer_id: i64,
    as_of: Option<&'a str>,
    /// RFM segment, pyramid layer, A–E group, lifecycle stage, selection
    /// quadrant.
    keys: [Option<&'a str>; 5],
    r_score: Option<i64>,
    f_score: Option<i64>,
    monetary: Option<i64>,
    revenue: i64,
    clv: Option<i64>,
    probability_alive: Option<f64>,
}

/// The overview as rows are folded in.
struct Gather {
    o: AnalyticsOverview,
    /// Per key of each of the five models: (key, customers, revenue); a
    /// handful of keys each, so a list beats a map.
    dist: [Vec<(String, i64, i64)>; 5],
    bands: Vec<i64>,
    /// (clv, customer id, probability alive, revenue, stage)
    risky: Vec<(i64, i64, f64, i64, String)>,
}

impl Default for Gather {
    fn default() -> Self {
        Self {
            o: AnalyticsOverview {
                rfm_grid: vec![vec![(0, 0); 5]; 5],
                ..Default::default()
            },
            dist: Default::default(),
            bands: vec![0; CLV_BANDS.len() + 1],
            risky: Vec::new(),
        }
    }
}

impl Gather {
    fn add(&mut self, r: &OverviewRow<'_>) -> StoreResult<()> {
        let o = &mut self.o;
        o.customers += 1;
        o.revenue_minor += r.revenue;
        if o.as_of.is_none() {
            o.as_of = r.as_of.map(date).transpose()?;
        }
        for (slot, key) in r.keys.iter().enumerate() {
            let key = key.unwrap_or_default();
            let list = &mut self.dist[slot];
            let i = match list.iter().position(|(k, _, _)| k == key) {
                Some(i) => i,
                None => {
                    list.push((key.to_owned(), 0, 0));
                    list.len() - 1
                }
            };
            list[i].1 += 1;
            list[i].2 += r.revenue;
        }
        if let (Some(rs), Some(fs)) = (r.r_score, r.f_score) {
            if let Some(cell) = usize::try_from(rs - 1)
                .ok()
                .zip(usize::try_from(fs - 1).ok())
                .and_then(|(i, j)| o.rfm_grid.get_mut(i)?.get_mut(j))
            {
                cell.0 += 1;
                cell.1 += r.monetary.unwrap_or(0);
            }
        }
        if let Some(clv) = r.clv {
            o.clv_minor += clv;
            self.bands[CLV_BANDS.partition_point(|b| *b <= clv)] += 1;
            if let Some(p) = r.probability_alive.filter(|p| *p < 0.5) {
                let stage = r.keys[3].unwrap_or_default().to_owned();
                self.risky.push((clv, r.customer_id, p, r.revenue, stage));
            }
        }
        Ok(())
    }
}

/// The latest run's id, as `id`.
const LATEST_RUN: &str = "SELECT MAX(id) AS id FROM analysis_runs";

/// Where stage changes go, with their columns.
const CHANGE_COLS: &str =
    "lifecycle_changes (customer_id, from_stage, to_stage, changed_on, recorded_at)";

/// The columns of a run's record.
const RUN_COLS: &str =
    "computed_at, as_of, customers, orders, duration_ms, read_from, pins, summary";

/// The stage changes of customers not in `gone` (ascending ids).
fn still_there<'a>(
    changes: &'a [LifecycleChange],
    gone: &'a [i64],
) -> impl Iterator<Item = &'a LifecycleChange> + 'a {
    changes
        .iter()
        .filter(|c| gone.binary_search(&c.customer_id.0).is_err())
}

/// A refresh saves only on the run it refreshed, `latest` being the
/// latest run's id (a `Conflict` otherwise).
fn check_still_latest(latest: Option<i64>, refresh: &AnalysisRefresh) -> StoreResult<()> {
    if latest == Some(refresh.run_id) {
        return Ok(());
    }
    Err(StoreError::Conflict {
        field: "run_id".into(),
        message: "was replaced by a newer analysis run meanwhile".into(),
    })
}

const REFRESH_COLS: &str = "run_id, refreshed_at, read_from, customers, orders, duration_ms";

/// A refresh record's values in the order of [`REFRESH_COLS`].
fn refresh_values(r: &AnalysisRefresh) -> [i64; 6] {
    [
        r.run_id,
        r.refreshed_at.timestamp_millis(),
        r.read_from,
        r.customers,
        r.orders,
        r.duration_ms,
    ]
}

/// SQLite: an `INSERT` of one result row into `table`, parameters in the
/// order of [`ANALYTICS_COLS`].
fn insert_results(table: &str) -> String {
    format!(
        "INSERT INTO {table} ({ANALYTICS_COLS}) VALUES ({})",
        vec!["?"; ANALYTICS_COLS.split(',').count()].join(", ")
    )
}

/// SQLite: records lifecycle stage changes in the caller's transaction.
fn insert_changes_natively<'a>(
    tx: &rusqlite::Transaction<'_>,
    changes: impl IntoIterator<Item = &'a LifecycleChange>,
    recorded_at: i64,
) -> StoreResult<()> {
    let mut insert =
        tx.prepare_cached(&format!("INSERT INTO {CHANGE_COLS} VALUES (?, ?, ?, ?, ?)"))?;
    for c in changes {
        insert.execute(rusqlite::params![
            c.customer_id.0,
            c.from_stage,
            c.to_stage,
            DateText::new(c.changed_on).as_str(),
            recorded_at
        ])?;
    }
    Ok(())
}

/// Each contact's customer and closeness if it is a key decision maker (3
/// close … 0 unknown or not a decision maker). `FROM` follows.
const CONTACT_ROWS: &str = "SELECT customer_id, \
    CASE WHEN is_key_decision_maker = 1 THEN CASE closeness WHEN 'close' THEN 3 \
    WHEN 'regular' THEN 2 WHEN 'initial' THEN 1 ELSE 0 END ELSE 0 END AS closeness";

/// Per customer: interactions from an instant on; the instant, the end
/// and `GROUP BY` follow.
const INTERACTION_FACTS: &str =
    "SELECT customer_id, COUNT(*) AS n FROM interactions WHERE occurred_at >= ";

/// Facts by customer id from each contact's (customer, closeness) and
/// (customer, recent interactions), both in any order.
fn merge_facts(
    mut contacts: Vec<(i64, i64)>,
    mut counts: Vec<(i64, i64)>,
) -> Vec<RelationshipFacts> {
    // Usually in customer order already (read so): one pass then.
    contacts.sort_unstable_by_key(|p| p.0);
    counts.sort_unstable_by_key(|p| p.0);
    let mut facts: Vec<RelationshipFacts> =
        Vec::with_capacity(counts.len().max(contacts.len() / 2));
    let mut counts = counts.into_iter().peekable();
    let mut contacts = contacts.into_iter().peekable();
    loop {
        let next = match (contacts.peek(), counts.peek()) {
            (None, None) => break,
            (Some(c), Some(n)) => c.0.min(n.0),
            (Some(c), None) => c.0,
            (None, Some(n)) => n.0,
        };
        let mut f = RelationshipFacts {
            customer_id: next,
            kdm_closeness: 0,
            contacts: 0,
            recent_interactions: 0,
        };
        while let Some((_, closeness)) = contacts.next_if(|c| c.0 == next) {
            f.contacts += 1;
            f.kdm_closeness = f.kdm_closeness.max(closeness);
        }
        if let Some((_, n)) = counts.next_if(|n| n.0 == next) {
            f.recent_interactions = n;
        }
        facts.push(f);
    }
    facts
}

/// A PostgreSQL save by `COPY`, on owned data (see
/// [`Store::save_analysis`]).
struct CopyLoad {
    url: String,
    /// The rows, ascending by customer, copied in parts side by side.
    results: std::sync::Arc<Vec<CustomerAnalytics>>,
    changes: Vec<LifecycleChange>,
    /// When the stage changes are recorded.
    recorded_at: i64,
    run: AnalysisRun,
    read_from: i64,
    pins: String,
}

impl CopyLoad {
    async fn run(self) -> StoreResult<i64> {
        use sqlx::Connection;
        let mut conn = sqlx::postgres::PgConnection::connect(&self.url).await?;
        let started = std::time::Instant::now();
        for sql in [
            format!("DROP TABLE IF EXISTS {STAGING}"),
            format!(
                "CREATE TABLE {STAGING} (LIKE customer_analytics INCLUDING DEFAULTS \
                 INCLUDING CONSTRAINTS)"
            ),
        ] {
            sqlx::query(&sql).execute(&mut conn).await?;
        }
        // Parts side by side, one connection each: the server stores them
        // on as many cores. Each part finishes (or is aborted with the
        // set) before this returns: none can load into a later run's
        // staging table.
        let target = format!("{STAGING} ({ANALYTICS_COLS})");
        let mut parts = copy_parts(self.results.len()).into_iter();
        let first = parts.next().unwrap_or_default();
        let mut others = tokio::task::JoinSet::new();
        for part in parts {
            let (url, target, rows) = (self.url.clone(), target.clone(), self.results.clone());
            others.spawn(async move {
                let mut conn = sqlx::postgres::PgConnection::connect(&url).await?;
                copy_results(&mut conn, &target, &rows[part]).await?;
                conn.close().await?;
                StoreResult::Ok(())
            });
        }
        let mine = copy_results(&mut conn, &target, &self.results[first]).await;
        while let Some(other) = others.join_next().await {
            other.map_err(|e| StoreError::Corrupt(format!("copying results stopped: {e}")))??;
        }
        mine?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "results copied");
        // From here on a deleted customer takes its staged results with
        // it. Adding the foreign key waits for the writes to customers
        // under way, so the ids read next see every deletion before it.
        let keyed = std::time::Instant::now();
        sqlx::query(&format!(
            "ALTER TABLE {STAGING} ADD CONSTRAINT customer_analytics_customer_id_fkey \
             FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE NOT VALID"
        ))
        .execute(&mut conn)
        .await?;
        // The customers deleted since the run read them, from every id
        // read side by side with the index build (a scan and a
        // comparison here instead of an anti-join of a million rows).
        let existing = {
            let native = native::Native::Postgres(self.url.clone());
            tokio::spawn(async move { native::customer_ids(&native).await })
        };
        sqlx::query("SET maintenance_work_mem = '256MB'")
            .execute(&mut conn)
            .await?;
        // No `ANALYZE` here: autovacuum analyses the new table within a
        // minute, and the reads of results (the overview by scope, the
        // 360° page by key) plan alike without statistics (a manager's
        // overview 0.39-0.47 s without, 0.41-0.44 s with; `ANALYZE` took
        // 0.17-0.29 s of each run).
        sqlx::query(&format!(
            "CREATE UNIQUE INDEX {STAGING}_pkey ON {STAGING}(customer_id)"
        ))
        .execute(&mut conn)
        .await?;
        let existing = existing
            .await
            .map_err(|e| StoreError::Corrupt(format!("reading customers stopped: {e}")))??;
        let ids: Vec<i64> = self.results.iter().map(|r| r.customer_id.0).collect();
        let gone = native::absent(&ids, &existing);
        tracing::debug!(ms = keyed.elapsed().as_millis() as u64, "results indexed");
        let swap = std::time::Instant::now();
        let mut tx = conn.begin().await?;
        // The stage changes first (a first run has a million): readers of
        // the results wait only from the drop below to the commit.
        let last_change: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM lifecycle_changes")
                .fetch_one(&mut *tx)
                .await?;
        let changes = still_there(&self.changes, &gone).map(|c| change_values(c, self.recorded_at));
        native::copy_in(&mut tx, CHANGE_COLS, native::copy_text(changes)).await?;
        tracing::debug!(
            ms = swap.elapsed().as_millis() as u64,
            "stage changes copied"
        );
        sqlx::query(&format!(
            "DELETE FROM {STAGING} WHERE customer_id = ANY($1)"
        ))
        .bind(gone)
        .execute(&mut *tx)
        .await?;
        let swap = std::time::Instant::now();
        let ddl = [
            // Waits for a customer deletion whose trigger has removed
            // results, and from here on makes the trigger of the next one
            // wait for this commit (it then finds the new table by name).
            "DROP TABLE customer_analytics".to_owned(),
            // Stage changes just copied for customers deleted since the
            // ids were read: their deletion's trigger did not see them.
            format!(
                "DELETE FROM lifecycle_changes t WHERE t.id > {last_change} \
                 AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)"
            ),
            format!("ALTER TABLE {STAGING} RENAME TO customer_analytics"),
            // The key's index becomes the key, named as the migration
            // names it; the trigger on customers takes over from the
            // foreign key that guarded the staged rows.
            format!(
                "ALTER TABLE customer_analytics ADD CONSTRAINT customer_analytics_pkey \
                 PRIMARY KEY USING INDEX {STAGING}_pkey"
            ),
            "ALTER TABLE customer_analytics DROP CONSTRAINT customer_analytics_customer_id_fkey"
                .to_owned(),
        ];
        for sql in &ddl {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let id: i64 = sqlx::query_scalar(&format!(
            "INSERT INTO analysis_runs ({RUN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id"
        ))
        .bind(self.run.computed_at.timestamp_millis())
        .bind(self.run.as_of.to_string())
        .bind(self.run.customers)
        .bind(self.run.orders)
        .bind(self.run.duration_ms)
        .bind(self.read_from)
        .bind(self.pins)
        .bind(self.run.summary.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        conn.close().await?;
        tracing::debug!(ms = swap.elapsed().as_millis() as u64, "results swapped in");
        Ok(id)
    }
}

fn change_values(c: &LifecycleChange, recorded_at: i64) -> Vec<Arg> {
    vec![
        Arg::I64(c.customer_id.0),
        Arg::OptText(c.from_stage.clone()),
        Arg::Text(c.to_stage.clone()),
        Arg::Text(c.changed_on.to_string()),
        Arg::I64(recorded_at),
    ]
}

/// Customer ids per literal `IN (…)` list of a native read. PostgreSQL
/// plans an index scan of the orders for a thousand ids, a scan of the
/// whole table (0.85 s at 9M orders) from about two thousand.
const IDS_PER_LIST: usize = 1_000;

/// An [`OrderBook`] as purchase rows are read.
struct BookScan {
    book: OrderBook,
    /// The day number orders must not be after.
    up_to: i64,
    days: crate::purchases::Days,
    lines: Vec<Line>,
}

impl BookScan {
    fn new(up_to: i64) -> Self {
        Self {
            book: OrderBook::default(),
            up_to,
            days: crate::purchases::Days::up_to(up_to),
            lines: Vec::new(),
        }
    }

    fn add(&mut self, f: &Fields<'_>) -> StoreResult<()> {
        crate::purchases::parse(f.str(1)?, self.up_to, &self.days, &mut self.lines)?;
        self.book
            .push(f.i64(0)?, self.lines.drain(..))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Where SQLite stages a run's results before swapping them in.
const STAGING: &str = "customer_analytics_next";
/// Rows per staging transaction: short enough that other writes wait
/// milliseconds, not the whole save.
const STAGED_PER_TRANSACTION: usize = 20_000;

const ANALYTICS_COLS: &str = "customer_id, computed_at, as_of, recency_days, frequency, \
    monetary, r_score, f_score, m_score, rfm_segment, revenue, profit, pyramid_layer, \
    value_group, lifecycle_stage, lifecycle_since, lifecycle_reason, value_score, \
    capability_score, selection_quadrant, selection_explanation, probability_alive, \
    expected_purchases, expected_order_value, clv";

/// One value of a result row, borrowed from it.
#[derive(Clone, Copy)]
enum Value<'a> {
    I64(i64),
    OptI64(Option<i64>),
    Str(&'a str),
    OptStr(Option<&'a str>),
    Date(DateText),
    OptF64(Option<f64>),
}

/// A date as stored, `YYYY-MM-DD`, written without an allocation (two per
/// result row, a million rows per run).
#[derive(Clone, Copy)]
struct DateText {
    bytes: [u8; 16],
    len: usize,
}

impl DateText {
    fn new(d: NaiveDate) -> Self {
        use chrono::Datelike;
        let mut bytes = [0u8; 16];
        let (y, m, day) = (d.year(), d.month(), d.day());
        if (0..=9999).contains(&y) {
            let digits = |n: u32, out: &mut [u8]| {
                let mut n = n;
                for b in out.iter_mut().rev() {
                    *b = b'0' + (n % 10) as u8;
                    n /= 10;
                }
            };
            digits(y as u32, &mut bytes[0..4]);
            bytes[4] = b'-';
            digits(m, &mut bytes[5..7]);
            bytes[7] = b'-';
            digits(day, &mut bytes[8..10]);
            return Self { bytes, len: 10 };
        }
        // Years beyond four digits, as chrono writes them.
        let text = d.to_string();
        let len = text.len().min(bytes.len());
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        Self { bytes, len }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// A result row's values in the order of [`ANALYTICS_COLS`]: the one list
/// that every way of writing results (bound parameters, COPY, rusqlite)
/// goes through.
fn analytics_fields(a: &CustomerAnalytics) -> [Value<'_>; 25] {
    use Value::*;
    [
        I64(a.customer_id.0),
        I64(a.computed_at.timestamp_millis()),
        Date(DateText::new(a.as_of)),
        OptI64(a.recency_days),
        OptI64(a.frequency),
        OptI64(a.monetary_minor),
        OptI64(a.r_score),
        OptI64(a.f_score),
        OptI64(a.m_score),
        OptStr(a.rfm_segment.as_deref()),
        I64(a.revenue_minor),
        I64(a.profit_minor),
        OptStr(a.pyramid_layer.as_deref()),
        Str(&a.value_group),
        Str(&a.lifecycle_stage),
        Date(DateText::new(a.lifecycle_since)),
        Str(&a.lifecycle_reason),
        OptF64(a.value_score),
        OptF64(a.capability_score),
        OptStr(a.selection_quadrant.as_deref()),
        OptStr(a.selection_explanation.as_deref()),
        OptF64(a.probability_alive),
        OptF64(a.expected_purchases),
        OptI64(a.expected_order_value_minor),
        OptI64(a.clv_minor),
    ]
}

/// Straight into SQLite: a million rows go in without a value list each.
impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match *self {
            Value::I64(v) => ToSqlOutput::Borrowed(ValueRef::Integer(v)),
            Value::OptI64(v) => ToSqlOutput::Borrowed(v.map_or(ValueRef::Null, ValueRef::Integer)),
            Value::Str(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::OptStr(v) => {
                ToSqlOutput::Borrowed(v.map_or(ValueRef::Null, |v| ValueRef::Text(v.as_bytes())))
            }
            Value::Date(ref d) => ToSqlOutput::Borrowed(ValueRef::Text(d.as_str().as_bytes())),
            Value::OptF64(v) => ToSqlOutput::Borrowed(
                v.filter(|v| v.is_finite())
                    .map_or(ValueRef::Null, ValueRef::Real),
            ),
        })
    }
}

/// The parts of `rows` results copied side by side: one per core, at
/// most eight (each takes a connection of its own).
fn copy_parts(rows: usize) -> Vec<std::ops::Range<usize>> {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let part = rows.div_ceil(parts).max(1);
    (0..rows)
        .step_by(part)
        .map(|start| start..(start + part).min(rows))
        .collect()
}

/// Result rows sent per COPY message: written into one buffer, reused.
const COPIED_PER_MESSAGE: usize = 5_000;

/// Copies `rows` into `target` in PostgreSQL's binary COPY format,
/// written straight from the borrowed values a few thousand rows at a
/// time, while the server stores the previous ones. A non-finite float is
/// stored as NULL, as the other writes store it.
async fn copy_results(
    conn: &mut sqlx::postgres::PgConnection,
    target: &str,
    rows: &[CustomerAnalytics],
) -> StoreResult<u64> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {target} FROM STDIN (FORMAT binary)"))
        .await?;
    let mut out = native::BinaryCopy::with_capacity(COPIED_PER_MESSAGE * 320);
    for chunk in rows.chunks(COPIED_PER_MESSAGE) {
        binary_rows(&mut out, chunk)?;
        copy.send(out.bytes()).await?;
        out.clear();
    }
    copy.send(out.finish()).await?;
    Ok(copy.finish().await?)
}

/// Appends result rows to binary COPY data.
fn binary_rows(out: &mut native::BinaryCopy, rows: &[CustomerAnalytics]) -> StoreResult<()> {
    for r in rows {
        let fields = analytics_fields(r);
        out.row(fields.len() as i16);
        for v in &fields {
            v.copy_binary(out)?;
        }
    }
    Ok(())
}

impl Value<'_> {
    /// The value in binary COPY format: `int8`, `float8` or `text`.
    fn copy_binary(&self, out: &mut native::BinaryCopy) -> StoreResult<()> {
        match *self {
            Value::I64(v) | Value::OptI64(Some(v)) => out.i64(v),
            Value::OptF64(Some(v)) if v.is_finite() => out.f64(v),
            Value::Str(s) | Value::OptStr(Some(s)) => out.str(s)?,
            Value::Date(ref d) => out.str(d.as_str())?,
            Value::OptI64(None) | Value::OptStr(None) | Value::OptF64(_) => out.null(),
        }
        Ok(())
    }
}

fn insert_analytics(
    stmt: &mut rusqlite::Statement<'_>,
    a: &CustomerAnalytics,
) -> rusqlite::Result<usize> {
    stmt.execute(rusqlite::params_from_iter(analytics_fields(a)))
}

fn analytics_row(r: &sqlx::any::AnyRow) -> StoreResult<CustomerAnalytics> {
    Ok(CustomerAnalytics {
        customer_id: CustomerId(r.try_get("customer_id")?),
        computed_at: instant(r.try_get("computed_at")?)?,
        as_of: date(r.try_get::<&str, _>("as_of")?)?,
        recency_days: r.try_get("recency_days")?,
        frequency: r.try_get("frequency")?,
        monetary_minor: r.try_get("monetary")?,
        r_score: r.try_get("r_score")?,
        f_score: r.try_get("f_score")?,
        m_score: r.try_get("m_score")?,
        rfm_segment: r
            .try_get::<Option<String>, _>("rfm_segment")?
            .map(ResultKey::Owned),
        revenue_minor: r.try_get("revenue")?,
        profit_minor: r.try_get("profit")?,
        pyramid_layer: r
            .try_get::<Option<String>, _>("pyramid_layer")?
            .map(ResultKey::Owned),
        value_group: ResultKey::Owned(r.try_get("value_group")?),
        lifecycle_stage: ResultKey::Owned(r.try_get("lifecycle_stage")?),
        lifecycle_since: date(r.try_get::<&str, _>("lifecycle_since")?)?,
        lifecycle_reason: ResultKey::Owned(r.try_get("lifecycle_reason")?),
        value_score: r.try_get("value_score")?,
        capability_score: r.try_get("capability_score")?,
        selection_quadrant: r
            .try_get::<Option<String>, _>("selection_quadrant")?
            .map(ResultKey::Owned),
        selection_explanation: r.try_get("selection_explanation")?,
        probability_alive: r.try_get("probability_alive")?,
        expected_purchases: r.try_get("expected_purchases")?,
        expected_order_value_minor: r.try_get("expected_order_value")?,
        clv_minor: r.try_get("clv")?,
    })
}

/// Customers and window revenue per value of one model's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Distribution {
    /// (result key, customers, revenue in minor units); the key is empty
    /// where the model gave no result (e.g. no purchase in the window).
    pub rows: Vec<(String, i64, i64)>,
}

/// The latest results over the customers a user may see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct AnalyticsOverview {
    /// The day the results describe; `None` before the first run.
    pub as_of: Option<NaiveDate>,
    pub customers: i64,
    pub revenue_minor: i64,
    pub clv_minor: i64,
    pub rfm_segment: Distribution,
    pub pyramid_layer: Distribution,
    pub value_group: Distribution,
    pub lifecycle_stage: Distribution,
    pub selection_quadrant: Distribution,
    /// Customers per (R score, F score): `rfm_grid[r - 1][f - 1]` as
    /// (customers, revenue).
    pub rfm_grid: Vec<Vec<(i64, i64)>>,
    /// Valuable customers likely to be slipping away: the highest CLV
    /// among those with a probability alive below one half.
    pub at_risk: Vec<AtRisk>,
    /// Customers per CLV band (upper bounds in minor units, the last open).
    pub clv_bands: Vec<(Option<i64>, i64)>,
}

/// A customer of the "save them now" list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AtRisk {
    pub customer_id: CustomerId,
    pub name: String,
    pub clv_minor: i64,
    pub probability_alive: f64,
    pub revenue_minor: i64,
    pub lifecycle_stage: String,
}

/// Upper bounds of the CLV bands of the overview, in minor units.
pub const CLV_BANDS: [i64; 5] = [100_000, 1_000_000, 5_000_000, 20_000_000, 100_000_000];

impl Scoped<'_> {
    /// Counts, revenue and the "save them now" list over the latest results
    /// of every customer in scope: one read of the few columns needed
    /// (natively where the engine allows: a team is a quarter of a million
    /// rows), gathered here (a single pass costs less than one grouped
    /// query per figure), then the names of the listed customers.
    pub async fn analytics_overview(&self, at_risk_limit: i64) -> StoreResult<AnalyticsOverview> {
        const COLUMNS: &str = "a.customer_id, a.as_of, a.rfm_segment, a.pyramid_layer, \
             a.value_group, a.lifecycle_stage, a.selection_quadrant, a.r_score, a.f_score, \
             a.monetary, a.revenue, a.clv, a.probability_alive \
             FROM customers c JOIN customer_analytics a ON a.customer_id = c.id WHERE 1 = 1";
        // One statement reads every figure, so one snapshot: a run
        // committing meanwhile shows up on the next page, not half in this.
        let text = format!("SELECT {COLUMNS}{}", self.scope_literal("c"));
        // Folded as read, keys borrowed from the row: a quarter of a
        // million rows make no string of their own.
        let each = |acc: &mut Gather, f: &Fields<'_>| {
            acc.add(&OverviewRow {
                customer_id: f.i64(0)?,
                as_of: f.opt_str(1)?,
                keys: [
                    f.opt_str(2)?,
                    f.opt_str(3)?,
                    f.opt_str(4)?,
                    f.opt_str(5)?,
                    f.opt_str(6)?,
                ],
                r_score: f.opt_i64(7)?,
                f_score: f.opt_i64(8)?,
                monetary: f.opt_i64(9)?,
                revenue: f.i64(10)?,
                clv: f.opt_i64(11)?,
                probability_alive: f.opt_f64(12)?,
            })
        };
        let gathered = native::scan(&self.store.native, text, Gather::default(), each).await?;
        let Gather {
            mut o,
            dist,
            bands,
            mut risky,
        } = gathered;
        let [seg, layer, group, stage, quadrant] = dist;
        let into = |d: Vec<(String, i64, i64)>| {
            let mut rows = d;
            rows.sort();
            Distribution { rows }
        };
        o.rfm_segment = into(seg);
        o.pyramid_layer = into(layer);
        o.value_group = into(group);
        o.lifecycle_stage = into(stage);
        o.selection_quadrant = into(quadrant);
        o.clv_bands = bands
            .into_iter()
            .enumerate()
            .map(|(i, n)| (CLV_BANDS.get(i).copied(), n))
            .collect();
        risky.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        risky.truncate(usize::try_from(at_risk_limit).unwrap_or(0));
        if !risky.is_empty() {
            let names: std::collections::HashMap<i64, String> =
                Sql::new("SELECT c.id, c.name FROM customers c WHERE c.id IN (")
                    .bind_list(risky.iter().map(|r| r.1))
                    .push(")")
                    .query()
                    .fetch_all(self.store.pool())
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
                    .collect::<StoreResult<_>>()?;
            for (clv, id, p, revenue, stage) in risky {
                o.at_risk.push(AtRisk {
                    customer_id: CustomerId(id),
                    name: names.get(&id).cloned().unwrap_or_default(),
                    clv_minor: clv,
                    probability_alive: p,
                    revenue_minor: revenue,
                    lifecycle_stage: stage,
                });
            }
        }
        Ok(o)
    }

    /// A visible customer's latest results; `None` before the first run
    /// that saw the customer.
    pub async fn customer_analytics(
        &self,
        id: CustomerId,
    ) -> StoreResult<Option<CustomerAnalytics>> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_customer(&mut conn, id).await?;
        let cols = ANALYTICS_COLS
            .split(',')
            .map(|c| format!("a.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let row = Sql::new(&format!(
            "SELECT {cols} FROM customer_analytics a WHERE a.customer_id = "
        ))
        .bind(id.0)
        .query()
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(analytics_row).transpose()
    }

    /// A visible customer's lifecycle stage changes, newest first.
    pub async fn lifecycle_history(&self, id: CustomerId) -> StoreResult<Vec<LifecycleChange>> {
        let mut conn = self.store.pool().acquire().await?;
        self.load_customer(&mut conn, id).await?;
        Sql::new(
            "SELECT customer_id, from_stage, to_stage, changed_on FROM lifecycle_changes \
             WHERE customer_id = ",
        )
        .bind(id.0)
        .push(" ORDER BY changed_on DESC, id DESC")
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(LifecycleChange {
                customer_id: CustomerId(r.try_get("customer_id")?),
                from_stage: r.try_get("from_stage")?,
                to_stage: r.try_get("to_stage")?,
                changed_on: date(r.try_get::<&str, _>("changed_on")?)?,
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_fold_each_contact_and_join_the_interaction_counts() {
        // Contacts as a table scan returns them, in any order.
        let contacts = vec![(7, 0), (3, 2), (7, 3), (3, 0), (9, 1), (7, 1)];
        let counts = vec![(9, 4), (1, 2), (7, 5)];
        let fact = |customer_id, contacts, kdm_closeness, recent_interactions| RelationshipFacts {
            customer_id,
            kdm_closeness,
            contacts,
            recent_interactions,
        };
        assert_eq!(
            merge_facts(contacts, counts),
            vec![
                fact(1, 0, 0, 2),
                fact(3, 2, 2, 0),
                fact(7, 3, 3, 5),
                fact(9, 1, 1, 4),
            ]
        );
        assert_eq!(merge_facts(Vec::new(), Vec::new()), Vec::new());
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for d in ["2026-11-22", "0001-01-01", "0999-03-04", "9999-12-31"] {
            let d: NaiveDate = d.parse().unwrap();
            assert_eq!(DateText::new(d).as_str(), d.to_string());
        }
        for d in [NaiveDate::MIN, NaiveDate::MAX] {
            assert_eq!(DateText::new(d).as_str(), d.to_string());
        }
    }

    #[test]
    fn copied_rows_equal_the_bound_values_in_copy_format() {
        let row = |id: i64, tab: bool| CustomerAnalytics {
            customer_id: CustomerId(id),
            computed_at: DateTime::from_timestamp_millis(1_796_029_897_902).unwrap(),
            as_of: "2026-11-22".parse().unwrap(),
            recency_days: Some(3),
            frequency: None,
            monetary_minor: Some(-120),
            r_score: Some(5),
            f_score: None,
            m_score: Some(1),
            rfm_segment: Some("champions".into()),
            revenue_minor: 0,
            profit_minor: -5,
            pyramid_layer: None,
            value_group: "b".into(),
            lifecycle_stage: "growth".into(),
            lifecycle_since: "2025-01-31".parse().unwrap(),
            lifecycle_reason: if tab {
                "a\tb\\c".into()
            } else {
                "early".into()
            },
            value_score: Some(52.98211088972),
            capability_score: Some(f64::NAN),
            selection_quadrant: Some("a".into()),
            selection_explanation: Some("[[1157.65,27.8],[null,0]]".into()),
            probability_alive: Some(0.7007534169),
            expected_purchases: None,
            expected_order_value_minor: Some(72_766),
            clv_minor: None,
        };
        let rows: Vec<_> = (1..=5).map(|i| row(i, i % 2 == 0)).collect();
        // Read back as the binary COPY reader reads the server's data,
        // each field as the kind of value it was written as.
        #[derive(Debug, PartialEq)]
        enum Read {
            Int(Option<i64>),
            Float(Option<u64>),
            Text(Option<String>),
        }
        fn owned(v: &Value<'_>) -> Read {
            match *v {
                Value::I64(v) => Read::Int(Some(v)),
                Value::OptI64(v) => Read::Int(v),
                // Floats to the bit; a non-finite one is stored as NULL.
                Value::OptF64(v) => Read::Float(v.filter(|v| v.is_finite()).map(f64::to_bits)),
                Value::Str(s) => Read::Text(Some(s.to_owned())),
                Value::OptStr(s) => Read::Text(s.map(str::to_owned)),
                Value::Date(ref d) => Read::Text(Some(d.as_str().to_owned())),
            }
        }
        let kinds: Vec<Read> = analytics_fields(&rows[0]).iter().map(owned).collect();
        let mut read = (kinds, Vec::new());
        for part in copy_parts(rows.len()) {
            let mut data = native::BinaryCopy::with_capacity(0);
            binary_rows(&mut data, &rows[part]).unwrap();
            read = native::read_binary_copy(&data.finish(), read, |(kinds, out), f| {
                let mut values = Vec::new();
                for (i, kind) in kinds.iter().enumerate() {
                    values.push(match kind {
                        Read::Int(_) => Read::Int(f.opt_i64(i)?),
                        Read::Float(_) => Read::Float(f.opt_f64(i)?.map(f64::to_bits)),
                        Read::Text(_) => Read::Text(f.opt_str(i)?.map(str::to_owned)),
                    });
                }
                out.push(values);
                Ok(())
            })
            .unwrap();
        }
        let written: Vec<Vec<Read>> = rows
            .iter()
            .map(|r| analytics_fields(r).iter().map(owned).collect())
            .collect();
        assert_eq!(read.1, written);
    }
}
