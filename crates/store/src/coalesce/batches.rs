//! Artifact and metadata batches of several requests written together: on PostgreSQL one
//! `UNNEST` insert of column arrays, on SQLite multi-row statements in one transaction.

use std::collections::HashMap;

use sqlx::AssertSqlSafe;

use super::creates::shared;
use crate::binds::{Arg, ArrayArg, columns_of, unnest_source};
use crate::pool::{DbPool, bind_args, with_pool};
use crate::sql_store::{BatchInsert, Db, cacheable};
use crate::{NewArtifactRow, NewMetadataRow, Result, StoreError, TaskRow, artifacts, metadata};

/// Bind each column array of an `UNNEST` insert, in order.
macro_rules! bind_arrays {
    ($q:expr, $columns:expr) => {{
        let mut q = $q;
        for column in $columns {
            q = match column {
                ArrayArg::Text(v) => q.bind(v),
                ArrayArg::I64(v) => q.bind(v),
                ArrayArg::Json(v) => q.bind(v),
            };
        }
        q
    }};
}

/// One request's batch: its task and rows.
pub(crate) type Batch<R> = (TaskRow, Vec<R>);

/// Each request's count, from the keys of the rows written.
type Credit<R> = fn(&[Batch<R>], Vec<ArtifactKey>) -> Vec<u64>;

/// How one resource's rows are inserted.
pub(crate) struct Table<R: 'static> {
    /// An n-row INSERT.
    pub sql: fn(usize) -> String,
    /// The INSERT with its rows from a given source (PostgreSQL's `UNNEST` of column arrays).
    pub sql_from: fn(&str) -> String,
    pub columns: usize,
    pub bind: fn(&TaskRow, &R, &mut Vec<Arg>),
    pub what: &'static str,
    /// For a table that skips duplicates, how the keys of the rows written become each
    /// request's count.
    pub credit: Option<Credit<R>>,
}

pub(crate) const ARTIFACTS: Table<NewArtifactRow> = Table {
    sql: artifacts::sql::insert,
    sql_from: artifacts::sql::insert_from,
    columns: artifacts::sql::INSERT_COLUMNS,
    bind: artifacts::sql::bind_row,
    what: "artifacts",
    credit: Some(attribute),
};

pub(crate) const METADATA: Table<NewMetadataRow> = Table {
    sql: metadata::sql::insert,
    sql_from: metadata::sql::insert_from,
    columns: metadata::sql::INSERT_COLUMNS,
    bind: metadata::sql::bind_row,
    what: "metadata",
    credit: None,
};

/// The key the artifact insert returns for each row it wrote: task, attempt, name.
pub(crate) type ArtifactKey = (i64, i64, String);

/// Write the group's batches in one transaction and answer each request with its own count. When
/// the transaction fails for a reason that may be one request's, each batch is written on its own,
/// as a request alone would be.
pub(crate) async fn insert_batches<R: Sync>(
    db: &Db,
    table: &Table<R>,
    batches: Vec<Batch<R>>,
) -> Vec<Result<u64>> {
    if batches.len() > 1 {
        match insert_together(db, table, &batches).await {
            Ok(counts) => return counts.into_iter().map(Ok).collect(),
            Err(StoreError::Unavailable(fault)) => return shared(&fault, batches.len()),
            Err(_) => {}
        }
    }
    let mut answers = Vec::with_capacity(batches.len());
    for (task, rows) in &batches {
        let bind = |row: &R, args: &mut Vec<Arg>| (table.bind)(task, row, args);
        let batch = BatchInsert {
            rows,
            sql: table.sql,
            columns: table.columns,
            bind: &bind,
            what: table.what,
        };
        answers.push(db.insert_batch(batch).await);
    }
    answers
}

async fn insert_together<R: Sync>(
    db: &Db,
    table: &Table<R>,
    batches: &[Batch<R>],
) -> Result<Vec<u64>> {
    let rows: Vec<(&TaskRow, &R)> = batches
        .iter()
        .flat_map(|(task, rows)| rows.iter().map(move |r| (task, r)))
        .collect();
    let written = match &db.writer {
        DbPool::Postgres(p) => insert_unnest(p, table, &rows).await?,
        DbPool::Sqlite(_) => None,
    };
    let written = match written {
        Some(written) => written,
        None => insert_values(db, table, &rows).await?,
    };
    Ok(match table.credit {
        Some(credit) => credit(batches, written),
        None => batches.iter().map(|(_, rows)| rows.len() as u64).collect(),
    })
}

/// What an insert returns of the rows it wrote, for a table whose requests are credited by key.
fn returning<R>(table: &Table<R>) -> &'static str {
    if table.credit.is_some() {
        " RETURNING task_id, CAST(attempt_id AS BIGINT) AS attempt_id, name"
    } else {
        ""
    }
}

/// The whole group in one `UNNEST` statement, all or nothing without a transaction; the keys
/// written when the table credits by key. `None` when the rows cannot be put in column arrays.
async fn insert_unnest<R: Sync>(
    p: &sqlx::PgPool,
    table: &Table<R>,
    rows: &[(&TaskRow, &R)],
) -> Result<Option<Vec<ArtifactKey>>> {
    let mut args = Vec::with_capacity(rows.len() * table.columns);
    for (task, row) in rows {
        (table.bind)(task, row, &mut args);
    }
    let Some(columns) = columns_of(args, table.columns) else {
        return Ok(None);
    };
    let sql = (table.sql_from)(&unnest_source(&columns)) + returning(table);
    let err = |e| StoreError::from_sqlx(e, table.what);
    if table.credit.is_some() {
        let q = bind_arrays!(
            sqlx::query_as::<_, ArtifactKey>(AssertSqlSafe(sql)),
            columns
        );
        Ok(Some(q.fetch_all(p).await.map_err(err)?))
    } else {
        let q = bind_arrays!(sqlx::query(AssertSqlSafe(sql)), columns);
        q.execute(p).await.map_err(err)?;
        Ok(Some(Vec::new()))
    }
}

/// Multi-row `VALUES` statements of at most the engine's placeholders each, in one transaction
/// when there is more than one; the keys written when the table credits by key.
async fn insert_values<R: Sync>(
    db: &Db,
    table: &Table<R>,
    rows: &[(&TaskRow, &R)],
) -> Result<Vec<ArtifactKey>> {
    let chunk_rows = db.batch_chunk_rows(table.columns);
    let err = |e| StoreError::from_sqlx(e, table.what);
    let mut written: Vec<ArtifactKey> = Vec::new();
    with_pool!(&db.writer, p => {
        // One statement is all or nothing by itself: no transaction round trips around it.
        let mut tx = if rows.len() > chunk_rows {
            Some(p.begin().await.map_err(err)?)
        } else {
            None
        };
        for chunk in rows.chunks(chunk_rows) {
            let mut args = Vec::with_capacity(chunk.len() * table.columns);
            for (task, row) in chunk {
                (table.bind)(task, row, &mut args);
            }
            let sql = (table.sql)(chunk.len()) + returning(table);
            let keep = cacheable(chunk.len(), table.columns);
            if table.credit.is_some() {
                let q = sqlx::query_as::<_, ArtifactKey>(AssertSqlSafe(sql)).persistent(keep);
                let q = bind_args!(q, args);
                let keys = match tx.as_mut() {
                    Some(tx) => q.fetch_all(&mut **tx).await,
                    None => q.fetch_all(p).await,
                };
                written.extend(keys.map_err(err)?);
            } else {
                let q = bind_args!(sqlx::query(AssertSqlSafe(sql)).persistent(keep), args);
                match tx.as_mut() {
                    Some(tx) => q.execute(&mut **tx).await,
                    None => q.execute(p).await,
                }
                .map_err(err)?;
            }
        }
        if let Some(tx) = tx {
            tx.commit().await.map_err(err)?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(written)
}

/// Credit each written row to the first request in the group that sent it, as writing the requests
/// one after another would.
fn attribute(batches: &[Batch<NewArtifactRow>], written: Vec<ArtifactKey>) -> Vec<u64> {
    let mut first_sender: HashMap<(i64, i64, &str), usize> = HashMap::new();
    for (i, (task, rows)) in batches.iter().enumerate() {
        for row in rows {
            let key = (task.task_id, row.attempt_id, row.name.as_str());
            first_sender.entry(key).or_insert(i);
        }
    }
    let mut counts = vec![0; batches.len()];
    for (task_id, attempt_id, name) in &written {
        if let Some(&i) = first_sender.get(&(*task_id, *attempt_id, name.as_str())) {
            counts[i] += 1;
        }
    }
    counts
}
