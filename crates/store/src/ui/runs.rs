//! Runs as the UI lists them (§6 "Run"): stored columns plus `user`, `run`, and the derived
//! `status`, `finished_at` and `duration`.

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use super::engine::{FALSY, ok_flag};
use super::listing::{DerivedLayer, build};
use super::{
    OLD_RUN_FAILURE_CUTOFF_MS, RUN_DEAD_AFTER_SECONDS, RUN_INACTIVE_CUTOFF_SECONDS, UiQuery,
    catalog,
};
use crate::binds::Statement;
use crate::dialect::Dialect;
use crate::{Result, RunRow};

/// A run row of the UI API.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UiRun {
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub user_name: Option<String>,
    /// `user_name` when the system tags hold `user:<user_name>`.
    pub user: Option<String>,
    /// `run_id`, else the number as text.
    pub run: String,
    pub status: String,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    pub finished_at: Option<i64>,
    pub duration: Option<i64>,
    /// Epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
    #[serde(serialize_with = "super::objects::tags")]
    pub tags: Option<Json<Value>>,
    #[serde(serialize_with = "super::objects::tags")]
    pub system_tags: Option<Json<Value>>,
}

/// The stored columns of runs (alias `r` inside), scoped by `scope` (SQL over `r`).
fn source(dialect: Dialect, scope: &str) -> String {
    format!(
        "SELECT r.flow_id, CAST(r.run_number AS BIGINT) AS run_number, r.run_id, r.user_name, \
         r.ts_epoch, r.last_heartbeat_ts, r.tags, r.system_tags, {user} AS \"user\", \
         COALESCE(r.run_id, CAST(r.run_number AS TEXT)) AS run FROM runs_v3 r WHERE {scope}",
        user = dialect.verified_user(),
    )
}

/// Latest value or timestamp of an `end`-step metadata field of run `b`.
fn end_field(field: &str, col: &str) -> String {
    format!(
        "(SELECT m.{col} FROM metadata_v3 m WHERE m.flow_id = b.flow_id \
         AND m.run_number = b.run_number AND m.step_name = 'end' AND m.field_name = '{field}' \
         ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1)"
    )
}

/// Some task of run `b` holds a failed attempt that no newer attempt followed.
fn failed_final_attempt() -> String {
    format!(
        "EXISTS (SELECT 1 FROM metadata_v3 f WHERE f.flow_id = b.flow_id \
         AND f.run_number = b.run_number AND f.field_name = 'attempt_ok' \
         AND LOWER(f.value) IN {FALSY} AND NOT EXISTS (SELECT 1 FROM metadata_v3 n \
         WHERE n.flow_id = f.flow_id AND n.run_number = f.run_number \
         AND n.step_name = f.step_name AND n.task_id = f.task_id AND n.field_name = 'attempt' \
         AND n.ts_epoch > f.ts_epoch))"
    )
}

/// The three derived layers; `now_s` and `now_ms` are placeholders.
fn layers(now_s: usize, now_ms: usize) -> Vec<DerivedLayer> {
    let dead = format!(
        "(CASE WHEN b.last_heartbeat_ts IS NOT NULL AND ${now_s} - b.last_heartbeat_ts > \
         {RUN_DEAD_AFTER_SECONDS} THEN (CASE WHEN {} THEN 1 ELSE 0 END) ELSE 0 END)",
        failed_final_attempt()
    );
    let raw = vec![
        ("_end_ok", ok_flag(&end_field("attempt_ok", "value"))),
        ("_end_ok_ts", end_field("attempt_ok", "ts_epoch")),
        ("_end_attempt_ts", end_field("attempt", "ts_epoch")),
        ("_dead", dead),
    ];
    let status = format!(
        "CASE \
         WHEN b._end_ok IS NOT NULL AND b._end_attempt_ts > b._end_ok_ts THEN 'running' \
         WHEN b._end_ok = 1 THEN 'completed' \
         WHEN b._end_ok = 0 THEN 'failed' \
         WHEN b._dead = 1 THEN 'failed' \
         WHEN b.last_heartbeat_ts IS NOT NULL \
              AND ABS(${now_s} - b.last_heartbeat_ts) <= {RUN_INACTIVE_CUTOFF_SECONDS} THEN 'running' \
         WHEN b.last_heartbeat_ts IS NOT NULL THEN 'failed' \
         WHEN ${now_ms} - b.ts_epoch > {OLD_RUN_FAILURE_CUTOFF_MS} THEN 'failed' \
         ELSE 'running' END"
    );
    let finished = "(CASE WHEN b.status = 'running' THEN NULL \
         WHEN b._end_ok IS NOT NULL THEN b._end_ok_ts \
         WHEN b.last_heartbeat_ts IS NOT NULL THEN b.last_heartbeat_ts * 1000 END)";
    let duration = format!(
        "(CASE WHEN b.status = 'running' THEN ${now_ms} - b.ts_epoch \
         ELSE {finished} - b.ts_epoch END)"
    );
    vec![
        raw,
        vec![("status", status)],
        vec![("finished_at", finished.to_owned()), ("duration", duration)],
    ]
}

/// A page of runs of every flow or of one.
pub(crate) fn list(
    dialect: Dialect,
    flow_id: Option<&str>,
    query: &UiQuery,
    now_ms: i64,
) -> Result<Statement> {
    let mut s = Statement::default();
    let scope = match flow_id {
        Some(f) => format!("r.flow_id = ${}", s.bind(f)),
        None => "1 = 1".to_owned(),
    };
    s.text = source(dialect, &scope);
    let layers = layers(s.bind(now_ms / 1000), s.bind(now_ms));
    build(dialect, &catalog::RUNS, s, &layers, query)
}

/// One run, as the listing renders it.
pub(crate) fn one(dialect: Dialect, run: &RunRow, now_ms: i64) -> Result<Statement> {
    let mut s = Statement::default();
    let scope = format!(
        "r.flow_id = ${} AND r.run_number = ${}",
        s.bind(run.flow_id.as_str()),
        s.bind(run.run_number)
    );
    s.text = source(dialect, &scope);
    let layers = layers(s.bind(now_ms / 1000), s.bind(now_ms));
    build(dialect, &catalog::RUNS, s, &layers, &UiQuery::first(1))
}

/// Run ids or numbers of a flow, newest first, as column `run`.
pub(crate) fn names(flow_id: &str, query: &UiQuery, dialect: Dialect) -> Result<Statement> {
    let mut s = Statement::default();
    s.text = format!(
        "SELECT COALESCE(r.run_id, CAST(r.run_number AS TEXT)) AS run, r.ts_epoch \
         FROM runs_v3 r WHERE r.flow_id = ${}",
        s.bind(flow_id)
    );
    build(dialect, &catalog::RUN_NAMES, s, &[], query)
}
