//! The database-only driver: the service's statements sent straight through sqlx, with the pools
//! the store opens (SQLite: one writer connection and a reader pool; PostgreSQL: one pool).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

/// A value bound to a placeholder, typed as the store binds it.
#[derive(Debug, Clone)]
pub enum Bind {
    I64(i64),
    Text(String),
    OptText(Option<String>),
    OptI64(Option<i64>),
    Json(Option<Value>),
}

impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::I64(v)
    }
}

impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(v.to_owned())
    }
}

impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(v)
    }
}

/// How a statement's result is read, as the store reads it.
#[derive(Debug, Clone, Copy)]
pub enum Fetch {
    /// `execute`: rows affected.
    Execute,
    /// `fetch_optional`: at most one row.
    Optional,
    /// `fetch_all`: every row.
    All,
}

/// Which pool a statement goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Reader,
    Writer,
}

/// Pools on the benchmarked database.
#[derive(Clone)]
pub enum Pools {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

macro_rules! on_pool {
    ($pool:expr, $fetch:expr, $sql:expr, $args:expr) => {{
        let mut q = sqlx::query(AssertSqlSafe($sql));
        for arg in $args {
            q = match arg {
                Bind::I64(v) => q.bind(v),
                Bind::Text(v) => q.bind(v),
                Bind::OptText(v) => q.bind(v),
                Bind::OptI64(v) => q.bind(v),
                Bind::Json(v) => q.bind(v.map(Json)),
            };
        }
        match $fetch {
            Fetch::Execute => q.execute($pool).await.map(|r| r.rows_affected()),
            Fetch::Optional => q
                .fetch_optional($pool)
                .await
                .map(|r| u64::from(r.is_some())),
            Fetch::All => q.fetch_all($pool).await.map(|r| r.len() as u64),
        }
    }};
}

impl Pools {
    /// Open pools on the SQLite file at `url` with the store's settings.
    pub async fn sqlite(url: &str, pool_max: u32) -> anyhow::Result<Pools> {
        let connect = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL {url}"))?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // One writer, as the store has, so writes queue in the pool instead of on the file lock.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect.clone())
            .await
            .with_context(|| format!("cannot open {url}"))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(pool_max.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .with_context(|| format!("cannot open {url}"))?;
        Ok(Pools::Sqlite { writer, reader })
    }

    /// Open a pool of `pool_max` connections on the PostgreSQL database at `url`.
    pub async fn postgres(url: &str, pool_max: u32) -> anyhow::Result<Pools> {
        let connect = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_max.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .context("cannot connect to PostgreSQL")?;
        Ok(Pools::Postgres(pool))
    }

    /// Run one statement; returns rows affected or rows read.
    pub async fn run(
        &self,
        side: Side,
        fetch: Fetch,
        sql: &str,
        args: Vec<Bind>,
    ) -> Result<u64, String> {
        let result = match self {
            Pools::Sqlite { writer, reader } => {
                let pool = if side == Side::Writer { writer } else { reader };
                on_pool!(pool, fetch, sql, args)
            }
            Pools::Postgres(pool) => on_pool!(pool, fetch, sql, args),
        };
        result.map_err(|e| e.to_string())
    }

    /// Close every connection.
    pub async fn close(&self) {
        match self {
            Pools::Sqlite { writer, reader } => {
                writer.close().await;
                reader.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}
