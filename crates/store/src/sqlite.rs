//! The embedded default: one SQLite file in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::dialect::Dialect;
use crate::pool::DbPool;
use crate::sql_store::SqlStore;
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
        // Another process on the same file (a second service, `mfstack migrate`) waits its turn.
        .busy_timeout(Duration::from_secs(30));
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.acquire_timeout.max(Duration::from_secs(30)))
        .connect_with(connect.clone())
        .await
        .map_err(|e| StoreError::Config(format!("cannot open SQLite database {url}: {e}")))?;
    // An in-memory database exists only on its one connection, so it serves reads too.
    let reader = if in_memory {
        writer.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(options.pool_max.max(2))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::Config(format!("cannot open SQLite database {url}: {e}")))?
    };
    Ok(SqlStore {
        writer: DbPool::Sqlite(writer),
        reader: DbPool::Sqlite(reader),
        dialect: Dialect::Sqlite,
        description: url.to_owned(),
    })
}
