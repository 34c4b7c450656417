//! The embedded default: one SQLite file in WAL mode.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Sqlite;
use sqlx::pool::PoolOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

use crate::dialect::Dialect;
use crate::pool::DbPool;
use crate::sql_store::{Db, SqlStore};
use crate::{OpenOptions, Result, StoreError};

/// Open (creating if needed) the SQLite database at `url`.
///
/// Writes go through a pool of one connection, so concurrent requests queue in the service instead
/// of meeting SQLite's database lock; reads use their own pool and, in WAL mode, never wait for the
/// writer.
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<SqlStore> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid SQLite URL {url}: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .with_regexp()
        // Another process on the same file (a second service, `mfstack migrate`) waits its turn, as
        // long as a request would wait for the writer.
        .busy_timeout(options.acquire_timeout);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    // A write that waits longer than the acquire timeout for the one writer answers 503.
    let writer = pool_options(options)
        .max_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect.clone())
        .await
        .map_err(|e| StoreError::Config(format!("cannot open SQLite database {url}: {e}")))?;
    // An in-memory database exists only on its one connection, so it serves reads too.
    let reader = if in_memory {
        writer.clone()
    } else {
        pool_options(options)
            .max_connections(options.pool_max.max(2))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::Config(format!("cannot open SQLite database {url}: {e}")))?
    };
    let db = Db {
        writer: DbPool::Sqlite(writer),
        reader: DbPool::Sqlite(reader),
        dialect: Dialect::Sqlite,
    };
    // One writer connection: a second flusher of the same kind would only wait for it.
    Ok(SqlStore::new(db, 1, url.to_owned()))
}

/// Pool options that bound how long a connection may run statements, when a statement timeout is
/// set. SQLite has no statement timeout of its own, so each checkout arms a progress handler with a
/// deadline; a statement still running past it is interrupted (`SQLITE_INTERRUPT`), which the store
/// reports as the database being unavailable. The deadline covers the whole checkout, so a batch's
/// transaction counts as one statement.
fn pool_options(options: &OpenOptions) -> PoolOptions<Sqlite> {
    let pool = SqlitePoolOptions::new();
    let Some(limit) = options.statement_timeout else {
        return pool;
    };
    pool.after_connect(move |conn, _| Box::pin(arm_deadline(conn, limit)))
        .before_acquire(move |conn, _| {
            Box::pin(async move {
                arm_deadline(conn, limit).await?;
                Ok(true)
            })
        })
}

/// How many virtual-machine steps pass between deadline checks: often enough to stop within
/// milliseconds, rarely enough to cost nothing measurable.
const PROGRESS_STEPS: i32 = 10_000;

async fn arm_deadline(conn: &mut SqliteConnection, limit: Duration) -> Result<(), sqlx::Error> {
    let deadline = Instant::now() + limit;
    conn.lock_handle()
        .await?
        .set_progress_handler(PROGRESS_STEPS, move || Instant::now() < deadline);
    Ok(())
}
