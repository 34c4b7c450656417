//! The two engines behind one enum. Query code is written once and expanded per engine by
//! [`with_pool!`], which keeps it free of sqlx's generic bounds.

use sqlx::{PgPool, SqlitePool};

/// A connection pool of either engine.
#[derive(Debug, Clone)]
pub(crate) enum DbPool {
    Sqlite(SqlitePool),
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

/// Run `$body` with `$p` bound to the concrete pool of `$pool`.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::pool::DbPool::Sqlite($p) => $body,
            $crate::pool::DbPool::Postgres($p) => $body,
        }
    };
}

/// Bind every [`crate::Arg`] of `$args` to the query `$q`, in order.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for arg in $args {
            q = match arg {
                $crate::binds::Arg::I64(v) => q.bind(v),
                $crate::binds::Arg::Text(v) => q.bind(v),
                $crate::binds::Arg::OptText(v) => q.bind(v),
                $crate::binds::Arg::OptI64(v) => q.bind(v),
                $crate::binds::Arg::Json(v) => q.bind(v.map(sqlx::types::Json)),
            };
        }
        q
    }};
}

pub(crate) use bind_args;
pub(crate) use with_pool;
