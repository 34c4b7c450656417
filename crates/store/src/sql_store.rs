//! The store both engines share: statements written once with `$N` placeholders, sent through a
//! writer pool and a reader pool, with engine differences taken from [`Dialect`]. Each resource's
//! statements live in its own module (`flows.rs`, `runs.rs`, …); this file holds what they share.

use std::ops::Deref;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use mfstack_api_types::SchemaStatus;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::binds::{Arg, Statement};
use crate::coalesce::Writes;
use crate::dialect::Dialect;
use crate::migrate::{self, UpgradeOutcome};
use crate::pool::{DbPool, bind_args, with_pool};
use crate::{Page, Result, Store, StoreError, TaskRow};

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Epoch seconds now, the unit of heartbeat columns.
pub(crate) fn now_s() -> i64 {
    now_ms() / 1000
}

/// A writer pool and a reader pool, which may be the same. Cheap to clone, so coalesced writes can
/// run on their own tasks.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pub(crate) writer: DbPool,
    pub(crate) reader: DbPool,
    pub(crate) dialect: Dialect,
}

/// A store: the pools, and the queues that coalesce concurrent writes on them.
#[derive(Debug)]
pub(crate) struct SqlStore {
    pub(crate) db: Db,
    pub(crate) writes: Writes,
    pub(crate) description: String,
}

impl SqlStore {
    /// A store over `db`; `flushers` bounds how many coalesced writes of one kind run at once.
    pub(crate) fn new(db: Db, flushers: usize, description: String) -> Self {
        SqlStore {
            writes: Writes::new(&db, flushers),
            db,
            description,
        }
    }
}

impl Deref for SqlStore {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

/// Row types both drivers can decode.
pub(crate) trait Rows:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Rows for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

/// Placeholders per multi-row INSERT on SQLite. Far below its bind limit on purpose: sqlx's SQLite
/// driver binds `$N` parameters in time that grows with the square of their count (5,000 artifact
/// rows: 0.2 s at ~50 rows a statement, 3.5 s at 1,000, debug build).
pub(crate) const CHUNK_PLACEHOLDERS: usize = 1000;

/// Placeholders per multi-row batch INSERT on PostgreSQL, which binds in linear time: most groups
/// of batches are one statement, so one round trip and no transaction around it.
const PG_CHUNK_PLACEHOLDERS: usize = 8_000;

/// A batch insert: the statement for `n` rows and how one row binds its values.
pub(crate) struct BatchInsert<'a, R> {
    pub rows: &'a [R],
    pub sql: fn(usize) -> String,
    /// Placeholders per row, which sizes the chunks.
    pub columns: usize,
    pub bind: &'a (dyn Fn(&R, &mut Vec<Arg>) + Sync),
    pub what: &'a str,
}

impl Db {
    /// A statement with more values than the engine can bind is the caller's error, not the
    /// database's, so it never reaches the driver.
    fn check_binds(&self, args: &[Arg], what: &str) -> Result<()> {
        let max = self.dialect.max_binds();
        if args.len() > max {
            return Err(StoreError::Invalid(format!(
                "the {what} query has {} values, more than the database accepts ({max}); \
                 narrow the filters",
                args.len()
            )));
        }
        Ok(())
    }

    pub(crate) async fn all<T: Rows>(
        &self,
        pool: &DbPool,
        statement: Statement,
        what: &str,
    ) -> Result<Vec<T>> {
        self.check_binds(&statement.args, what)?;
        let Statement { text, args } = statement;
        with_pool!(pool, p => bind_args!(sqlx::query_as::<_, T>(AssertSqlSafe(text)), args)
            .fetch_all(p)
            .await)
        .map_err(|e| StoreError::from_sqlx(e, what))
    }

    pub(crate) async fn one<T: Rows>(
        &self,
        pool: &DbPool,
        statement: Statement,
        what: &str,
    ) -> Result<Option<T>> {
        self.check_binds(&statement.args, what)?;
        let Statement { text, args } = statement;
        with_pool!(pool, p => bind_args!(sqlx::query_as::<_, T>(AssertSqlSafe(text)), args)
            .fetch_optional(p)
            .await)
        .map_err(|e| StoreError::from_sqlx(e, what))
    }

    /// An INSERT … RETURNING on the writer, which must return its row.
    pub(crate) async fn inserted<T: Rows>(&self, statement: Statement, what: &str) -> Result<T> {
        self.one(&self.writer, statement, what)
            .await?
            .ok_or_else(|| StoreError::Other(format!("insert of {what} returned no row")))
    }

    /// Rows affected by a statement on the writer.
    pub(crate) async fn execute(&self, statement: Statement, what: &str) -> Result<u64> {
        self.check_binds(&statement.args, what)?;
        let Statement { text, args } = statement;
        with_pool!(&self.writer, p => bind_args!(sqlx::query(AssertSqlSafe(text)), args)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_sqlx(e, what))
    }

    /// Insert every row of a batch in one transaction, in multi-row chunks: all or nothing, so a
    /// failed batch leaves no rows and its retry finds none to collide with. Only one chunk's
    /// values are held at a time.
    pub(crate) async fn insert_batch<R: Sync>(&self, batch: BatchInsert<'_, R>) -> Result<u64> {
        if batch.rows.is_empty() {
            return Ok(0);
        }
        let chunk_rows = self.batch_chunk_rows(batch.columns);
        let err = |e| StoreError::from_sqlx(e, batch.what);
        with_pool!(&self.writer, p => {
            // One statement is all or nothing by itself.
            let mut tx = if batch.rows.len() > chunk_rows {
                Some(p.begin().await.map_err(err)?)
            } else {
                None
            };
            let mut created = 0;
            for chunk in batch.rows.chunks(chunk_rows) {
                let mut args = Vec::with_capacity(chunk.len() * batch.columns);
                for row in chunk {
                    (batch.bind)(row, &mut args);
                }
                let sql = (batch.sql)(chunk.len());
                let q = sqlx::query(AssertSqlSafe(sql)).persistent(cacheable(chunk.len(), batch.columns));
                let q = bind_args!(q, args);
                let done = match tx.as_mut() {
                    Some(tx) => q.execute(&mut **tx).await,
                    None => q.execute(p).await,
                };
                created += done.map_err(err)?.rows_affected();
            }
            if let Some(tx) = tx {
                tx.commit().await.map_err(err)?;
            }
            Ok(created)
        })
    }
}

/// Whether a statement of `rows` rows is kept prepared on its connection: each row count is its
/// own statement, and keeping every large one would hold megabytes of text per connection.
pub(crate) fn cacheable(rows: usize, columns: usize) -> bool {
    rows * columns <= CHUNK_PLACEHOLDERS
}

impl Db {
    /// Rows of `columns` placeholders in one statement of a batch insert.
    pub(crate) fn batch_chunk_rows(&self, columns: usize) -> usize {
        let placeholders = match self.dialect {
            Dialect::Sqlite => CHUNK_PLACEHOLDERS,
            Dialect::Postgres => PG_CHUNK_PLACEHOLDERS,
        };
        (placeholders / columns).max(1)
    }
}

impl SqlStore {
    /// Keep `limit` of the `limit + 1` rows fetched, and say whether another page follows.
    pub(crate) fn paged<T>(mut rows: Vec<T>, limit: Option<u32>) -> Page<T> {
        let has_more = matches!(limit, Some(limit) if rows.len() > limit as usize);
        if let Some(limit) = limit {
            rows.truncate(limit as usize);
        }
        Page { rows, has_more }
    }

    /// Open-time work: initialise an empty database and refuse one newer than this build.
    pub(crate) async fn prepare(&self) -> Result<()> {
        migrate::prepare(self).await
    }
}

/// The parent-task columns every artifact and metadata row starts with.
pub(crate) fn bind_task_key(task: &TaskRow, args: &mut Vec<Arg>) {
    args.extend([
        task.flow_id.as_str().into(),
        task.run_number.into(),
        task.run_id.clone().into(),
        task.step_name.as_str().into(),
        task.task_id.into(),
        task.task_name.clone().into(),
    ]);
}

/// `flow_id = $a AND run_number = $b AND step_name = $c AND task_id = $d` for one task.
pub(crate) fn task_scope(task: &TaskRow, s: &mut Statement) -> String {
    format!(
        "flow_id = ${} AND run_number = ${} AND step_name = ${} AND task_id = ${}",
        s.bind(task.flow_id.as_str()),
        s.bind(task.run_number),
        s.bind(task.step_name.as_str()),
        s.bind(task.task_id)
    )
}

#[async_trait]
impl Store for SqlStore {
    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn healthcheck(&self) -> Result<()> {
        let probe = Statement {
            text: "SELECT CAST(1 AS BIGINT)".into(),
            args: vec![],
        };
        let _: Option<(i64,)> = self.one(&self.writer, probe, "healthcheck").await?;
        Ok(())
    }

    async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        migrate::status(self).await
    }

    async fn upgrade(&self) -> Result<UpgradeOutcome> {
        migrate::upgrade(self).await
    }
}
