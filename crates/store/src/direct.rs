//! Statements sent straight to the store's own pools, with no store logic around them: the
//! benchmark's database-only baseline, so it runs the service's SQL on exactly the service's pools.

use std::sync::Arc;

use sqlx::AssertSqlSafe;

use crate::binds::Statement;
use crate::pool::{bind_args, with_pool};
use crate::sql_store::SqlStore;
use crate::{OpenOptions, Result, StoreError};

/// Which pool a statement goes to: SQLite has one writer connection beside a reader pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Reader,
    Writer,
}

/// How a statement's result is read, as the store reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// `execute`: rows affected.
    Execute,
    /// `fetch_optional`: at most one row.
    Optional,
    /// `fetch_all`: every row, fetched but not decoded.
    All,
}

/// The pools of an opened database.
#[derive(Debug, Clone)]
pub struct DirectPools(Arc<SqlStore>);

impl DirectPools {
    /// Open pools on `url` as [`crate::open`] would, without creating or checking the schema.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self> {
        Ok(DirectPools(Arc::new(crate::connect(url, options).await?)))
    }

    /// The engine, for statements that differ between them.
    pub fn dialect(&self) -> crate::Dialect {
        self.0.dialect
    }

    /// Run one statement; rows affected or rows read.
    pub async fn run(&self, side: Side, fetch: Fetch, statement: Statement) -> Result<u64> {
        let pool = match side {
            Side::Reader => &self.0.reader,
            Side::Writer => &self.0.writer,
        };
        let Statement { text, args } = statement;
        with_pool!(pool, p => {
            let q = bind_args!(sqlx::query(AssertSqlSafe(text)), args);
            match fetch {
                Fetch::Execute => q.execute(p).await.map(|r| r.rows_affected()),
                Fetch::Optional => q.fetch_optional(p).await.map(|r| u64::from(r.is_some())),
                Fetch::All => q.fetch_all(p).await.map(|r| r.len() as u64),
            }
        })
        .map_err(|e| StoreError::from_sqlx(e, "direct statement"))
    }

    /// Close every connection.
    pub async fn close(&self) {
        self.0.writer.close().await;
        self.0.reader.close().await;
    }
}
