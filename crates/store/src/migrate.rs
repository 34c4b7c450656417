//! Schema migrations, tracked in goose's `goose_db_version` table with goose's version ids, so the
//! reference migration service and mfstack each see the other's migrations as applied (spec 9,
//! DECISIONS.md Compatibility 1). No goose binary: the files are embedded and run here.

use mfstack_api_types::SchemaStatus;

use crate::dialect::Dialect;
use crate::pool::with_pool;
use crate::sql_store::SqlStore;
use crate::{Result, StoreError};

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

impl Migration {
    /// Files marked `NO TRANSACTION` build indexes concurrently, which PostgreSQL forbids in a
    /// transaction.
    fn transactional(&self) -> bool {
        !self.sql.contains("-- +goose NO TRANSACTION")
    }

    /// The statements of the `Up` section, one per `;` at a line end.
    fn statements(&self) -> Vec<String> {
        let up = self.sql.split("-- +goose Down").next().unwrap_or_default();
        let mut out = Vec::new();
        let mut current = String::new();
        for line in up.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("--") || trimmed.is_empty() {
                continue;
            }
            current.push_str(line);
            current.push('\n');
            if trimmed.ends_with(';') {
                out.push(std::mem::take(&mut current));
            }
        }
        if !current.trim().is_empty() {
            out.push(current);
        }
        out
    }
}

macro_rules! migrations {
    ($dir:literal: $($version:literal => $file:literal),* $(,)?) => {
        &[$(Migration { version: $version, sql: include_str!(concat!("../migrations/", $dir, "/", $file)) }),*]
    };
}

/// PostgreSQL: the reference's 13 migrations, in goose order.
const POSTGRES: &[Migration] = migrations!("postgres":
    1 => "1_create_tables.sql",
    20200603104139 => "20200603104139_add_str_id_cols.sql",
    20201002000616 => "20201002000616_update_metadata_primary_key.sql",
    20210202145952 => "20210202145952_add_runs_idx_ts_epoch_flow_id.sql",
    20210260056859 => "20210260056859_add_tasks_idx_on_.sql",
    20211202100726 => "20211202100726_add_str_id_indices.sql",
    20220503175500 => "20220503175500_add_run_epoch_index.sql",
    20230118020300 => "20230118020300_drop_partial_indexes.sql",
    20260615000000 => "20260615000000_add_runs_cursor_composite_index.sql",
    20260706000000 => "20260706000000_add_artifact_latest_composite_index.sql",
    20260706000001 => "20260706000001_add_flow_cursor_composite_index.sql",
    20260706000002 => "20260706000002_add_task_cursor_composite_index.sql",
    20260706000003 => "20260706000003_add_metadata_cursor_composite_index.sql",
    20261202000000 => "20261202000000_add_metadata_step_field_index.sql",
);

/// SQLite has no history to stay compatible with: the first file creates the schema, later ones
/// add what the UI listings need to databases created before them.
const SQLITE: &[Migration] = migrations!("sqlite":
    1 => "1_create_tables.sql",
    2 => "2_add_ui_listing_indexes.sql",
);

/// Key of the PostgreSQL advisory lock that serialises upgrades across service instances.
const UPGRADE_LOCK_KEY: i64 = 0x006d_6673_7461_636b; // "mfstack" in ASCII

fn known(dialect: Dialect) -> &'static [Migration] {
    match dialect {
        Dialect::Postgres => POSTGRES,
        Dialect::Sqlite => SQLITE,
    }
}

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOutcome {
    /// Versions applied by this call, in order; empty when already up to date.
    pub applied: Vec<i64>,
    /// Version after the upgrade.
    pub current_version: i64,
}

/// goose's current version: the newest applied row not later rolled back.
fn current_version(rows_newest_first: &[(i64, bool)]) -> i64 {
    let mut rolled_back = Vec::new();
    for &(version, applied) in rows_newest_first {
        if !applied {
            rolled_back.push(version);
        } else if !rolled_back.contains(&version) {
            return version;
        }
    }
    0
}

fn status_of(dialect: Dialect, current: i64) -> SchemaStatus {
    let all = known(dialect);
    let versions: Vec<String> = all.iter().map(|m| m.version.to_string()).collect();
    let unapplied: Vec<String> = match all.iter().position(|m| m.version == current) {
        Some(i) => versions[i + 1..].to_vec(),
        None if current == 0 => versions.clone(),
        None => versions.clone(),
    };
    SchemaStatus {
        is_up_to_date: unapplied.is_empty(),
        current_version: current.to_string(),
        migration_in_progress: !unapplied.is_empty(),
        db_schema_versions: versions,
        unapplied_migrations: unapplied,
    }
}

/// The answer of the migration service's `GET /version` for a schema version (spec 7).
pub fn version_name(status: &SchemaStatus) -> Option<String> {
    let newest = status.db_schema_versions.last()?;
    let current = &status.current_version;
    if current == newest {
        Some("latest".into())
    } else if current == "0" || current == "1" {
        Some("v_1_0_1".into())
    } else if status.db_schema_versions.contains(current) {
        Some(current.clone())
    } else {
        None
    }
}

fn table_exists_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name = $1 AND table_schema = current_schema()"
        }
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
    }
}

fn sql_err(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e, "schema")
}

async fn table_exists(store: &SqlStore, table: &str) -> Result<bool> {
    let sql = table_exists_sql(store.dialect);
    let n: i64 =
        with_pool!(&store.writer, p => sqlx::query_scalar(sql).bind(table).fetch_one(p).await)
            .map_err(sql_err)?;
    Ok(n > 0)
}

async fn read_current(store: &SqlStore) -> Result<i64> {
    if !table_exists(store, "goose_db_version").await? {
        return Ok(0);
    }
    let sql = "SELECT version_id, is_applied FROM goose_db_version ORDER BY id DESC";
    let rows: Vec<(i64, bool)> =
        with_pool!(&store.writer, p => sqlx::query_as(sql).fetch_all(p).await).map_err(sql_err)?;
    Ok(current_version(&rows))
}

/// The schema version and whether the flows table exists, read without the statement timeout:
/// opening is schema work, and a tight request timeout on a busy machine must not stop a start.
async fn probe_at_open(store: &SqlStore) -> Result<(i64, bool)> {
    let dialect = store.dialect;
    let exists_sql = table_exists_sql(dialect);
    let versions_sql = "SELECT version_id, is_applied FROM goose_db_version ORDER BY id DESC";
    with_pool!(&store.writer, p => {
        let mut conn = p.acquire().await.map_err(sql_err)?;
        conn.lift_statement_timeout().await.map_err(sql_err)?;
        let result: Result<(i64, bool)> = async {
            let has_versions: i64 = sqlx::query_scalar(exists_sql).bind("goose_db_version")
                .fetch_one(&mut *conn).await.map_err(sql_err)?;
            let current = if has_versions > 0 {
                let rows: Vec<(i64, bool)> = sqlx::query_as(versions_sql)
                    .fetch_all(&mut *conn).await.map_err(sql_err)?;
                current_version(&rows)
            } else {
                0
            };
            let has_flows: i64 = sqlx::query_scalar(exists_sql).bind("flows_v3")
                .fetch_one(&mut *conn).await.map_err(sql_err)?;
            Ok((current, has_flows > 0))
        }.await;
        if dialect == Dialect::Postgres {
            let _ = sqlx::query("RESET statement_timeout").execute(&mut *conn).await;
        }
        result
    })
}

/// Where the schema stands.
pub(crate) async fn status(store: &SqlStore) -> Result<SchemaStatus> {
    Ok(status_of(store.dialect, read_current(store).await?))
}

/// Apply every migration after the current version, holding the upgrade lock throughout.
pub(crate) async fn upgrade(store: &SqlStore) -> Result<UpgradeOutcome> {
    let dialect = store.dialect;
    let create_version_table = match dialect {
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, \
             is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now(), PRIMARY KEY (id))"
        }
        Dialect::Sqlite => {
            "CREATE TABLE IF NOT EXISTS goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, \
             version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, \
             tstamp TIMESTAMP DEFAULT (datetime('now')))"
        }
    };
    with_pool!(&store.writer, p => {
        let mut conn = p.acquire().await.map_err(sql_err)?;
        // Building an index on a big table takes as long as it takes.
        conn.lift_statement_timeout().await.map_err(sql_err)?;
        if dialect == Dialect::Postgres {
            // Poll instead of blocking in pg_advisory_lock: a waiting statement holds a snapshot,
            // and CREATE INDEX CONCURRENTLY in the holder would wait for it, a deadlock.
            loop {
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(UPGRADE_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(sql_err)?;
                if got {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        let result: Result<UpgradeOutcome> = async {
            let fresh = sqlx::query_scalar::<_, i64>(table_exists_sql(dialect))
                .bind("goose_db_version").fetch_one(&mut *conn).await.map_err(sql_err)? == 0;
            if fresh {
                sqlx::query(create_version_table).execute(&mut *conn).await.map_err(sql_err)?;
                // goose records version 0 when it creates its table.
                sqlx::query("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)")
                    .execute(&mut *conn).await.map_err(sql_err)?;
            }
            let rows: Vec<(i64, bool)> = sqlx::query_as("SELECT version_id, is_applied FROM goose_db_version ORDER BY id DESC")
                .fetch_all(&mut *conn).await.map_err(sql_err)?;
            let start = current_version(&rows);
            check_not_ahead(dialect, start)?;
            let mut current = start;
            let mut applied = Vec::new();
            for m in known(dialect).iter().filter(|m| m.version > start) {
                let record = "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)";
                if m.transactional() {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(sql_err)?;
                    for stmt in m.statements() {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&mut *tx).await.map_err(|e| migration_err(m, e))?;
                    }
                    sqlx::query(record).bind(m.version).execute(&mut *tx).await.map_err(sql_err)?;
                    tx.commit().await.map_err(sql_err)?;
                } else {
                    for stmt in m.statements() {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&mut *conn).await.map_err(|e| migration_err(m, e))?;
                    }
                    sqlx::query(record).bind(m.version).execute(&mut *conn).await.map_err(sql_err)?;
                }
                tracing::info!(version = m.version, "applied migration");
                applied.push(m.version);
                current = m.version;
            }
            Ok(UpgradeOutcome { applied, current_version: current })
        }.await;
        if dialect == Dialect::Postgres {
            // Unlock even after a failed step; a dropped connection releases the lock as well.
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(UPGRADE_LOCK_KEY).execute(&mut *conn).await;
            let _ = sqlx::query("RESET statement_timeout").execute(&mut *conn).await;
        }
        result
    })
}

/// Migrations run without the statement timeout that bounds requests. On SQLite the pool arms it
/// again at the next checkout; on PostgreSQL `RESET` restores the connection's start-up value.
trait LiftStatementTimeout {
    async fn lift_statement_timeout(&mut self) -> std::result::Result<(), sqlx::Error>;
}

impl LiftStatementTimeout for sqlx::pool::PoolConnection<sqlx::Sqlite> {
    async fn lift_statement_timeout(&mut self) -> std::result::Result<(), sqlx::Error> {
        self.lock_handle().await?.remove_progress_handler();
        Ok(())
    }
}

impl LiftStatementTimeout for sqlx::pool::PoolConnection<sqlx::Postgres> {
    async fn lift_statement_timeout(&mut self) -> std::result::Result<(), sqlx::Error> {
        sqlx::query("SET statement_timeout = 0")
            .execute(&mut **self)
            .await
            .map(|_| ())
    }
}

fn migration_err(m: &Migration, e: sqlx::Error) -> StoreError {
    match StoreError::from_sqlx(e, "schema") {
        StoreError::Unavailable(msg) => StoreError::Unavailable(msg),
        other => StoreError::Schema(format!("migration {} failed: {other}", m.version)),
    }
}

fn check_not_ahead(dialect: Dialect, current: i64) -> Result<()> {
    let newest = known(dialect).last().map_or(0, |m| m.version);
    if current > newest {
        return Err(StoreError::Schema(format!(
            "the database schema is at version {current}, newer than the newest this mfstack build \
             knows ({newest}); run a newer mfstack against it"
        )));
    }
    Ok(())
}

/// At open: create the schema in an empty database, refuse one newer than this build, bring an
/// embedded SQLite file up to date, and only report a PostgreSQL database that is behind, since
/// upgrading a shared database is an operator's decision (`PATCH /upgrade`, `mfstack migrate up`).
pub(crate) async fn prepare(store: &SqlStore) -> Result<()> {
    let (current, has_flows) = probe_at_open(store).await?;
    check_not_ahead(store.dialect, current)?;
    let empty = current == 0 && !has_flows;
    if empty || store.dialect == Dialect::Sqlite {
        let outcome = upgrade(store).await?;
        if !outcome.applied.is_empty() {
            tracing::info!(
                version = outcome.current_version,
                "database schema initialised"
            );
        }
        return Ok(());
    }
    let status = status_of(store.dialect, current);
    if !status.is_up_to_date {
        tracing::warn!(
            current = %status.current_version,
            pending = status.unapplied_migrations.len(),
            "the database schema is behind this build; run `mfstack migrate up` or PATCH /upgrade"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_history_is_the_goose_versions_in_order() {
        assert_eq!(POSTGRES.len(), 14);
        assert!(POSTGRES.windows(2).all(|w| w[0].version < w[1].version));
        assert_eq!(POSTGRES.last().unwrap().version, 20261202000000);
        assert!(POSTGRES[0].transactional() && !POSTGRES[4].transactional());
    }

    #[test]
    fn current_version_skips_rolled_back_rows() {
        assert_eq!(current_version(&[]), 0);
        assert_eq!(current_version(&[(3, true), (2, true), (0, true)]), 3);
        assert_eq!(current_version(&[(3, false), (3, true), (2, true)]), 2);
    }

    #[test]
    fn status_lists_what_is_pending() {
        let s = status_of(Dialect::Postgres, 20230118020300);
        assert!(!s.is_up_to_date && s.migration_in_progress);
        assert_eq!(s.unapplied_migrations.len(), 6);
        assert_eq!(s.db_schema_versions.len(), 14);
        assert_eq!(
            status_of(Dialect::Postgres, 0).unapplied_migrations.len(),
            14
        );
        assert!(status_of(Dialect::Postgres, 20261202000000).is_up_to_date);
    }

    #[test]
    fn version_names_follow_the_reference_mapping() {
        let name = |v| version_name(&status_of(Dialect::Postgres, v));
        assert_eq!(name(0).as_deref(), Some("v_1_0_1"));
        assert_eq!(name(1).as_deref(), Some("v_1_0_1"));
        assert_eq!(name(20230118020300).as_deref(), Some("20230118020300"));
        assert_eq!(name(20260706000003).as_deref(), Some("20260706000003"));
        assert_eq!(name(20261202000000).as_deref(), Some("latest"));
        assert_eq!(name(42), None);
    }

    #[test]
    fn statements_split_at_line_end_semicolons() {
        let stmts = POSTGRES[7].statements();
        assert_eq!(stmts.len(), 12);
        assert!(stmts.iter().all(|s| !s.contains("--")));
    }
}
