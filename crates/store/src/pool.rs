//! The two engines behind one enum. Query code is written once and expanded per engine by
//! [`with_pool!`], which keeps it free of sqlx's generic bounds.

use serde_json::Value;
use sqlx::{PgPool, SqlitePool};

/// A connection pool of either engine.
#[derive(Debug, Clone)]
pub(crate) enum DbPool {
    /// Embedded SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl DbPool {
    pub(crate) async fn close(&self) {
        match self {
            DbPool::Sqlite(p) => p.close().await,
            DbPool::Postgres(p) => p.close().await,
        }
    }
}

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    Text(String),
    OptText(Option<String>),
    OptI64(Option<i64>),
    Json(Option<Value>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_owned))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}

impl From<Option<&Value>> for Arg {
    fn from(v: Option<&Value>) -> Self {
        Arg::Json(v.cloned())
    }
}

/// Run `$body` with `$p` bound to the concrete pool of `$pool`.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::pool::DbPool::Sqlite($p) => $body,
            $crate::pool::DbPool::Postgres($p) => $body,
        }
    };
}

/// Bind every [`Arg`] of `$args` to the query `$q`, in order.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for arg in $args {
            q = match arg {
                $crate::pool::Arg::I64(v) => q.bind(v),
                $crate::pool::Arg::Text(v) => q.bind(v),
                $crate::pool::Arg::OptText(v) => q.bind(v),
                $crate::pool::Arg::OptI64(v) => q.bind(v),
                $crate::pool::Arg::Json(v) => q.bind(v.map(sqlx::types::Json)),
            };
        }
        q
    }};
}

pub(crate) use bind_args;
pub(crate) use with_pool;
