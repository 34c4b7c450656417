//! Task attempts as the UI lists them (§6 "Task attempt"): one row per attempt, with its start,
//! end, result and status derived from the attempt's metadata and `_task_ok` artifact.

use serde::{Serialize, Serializer};
use serde_json::Value;
use sqlx::types::Json;

use super::engine::{attempt_tag, attempt_value, greatest, ok_flag};
use super::listing::{DerivedLayer, build};
use super::{HEARTBEAT_THRESHOLD_SECONDS, OLD_RUN_FAILURE_CUTOFF_MS, TaskScope, UiQuery, catalog};
use crate::binds::Statement;
use crate::dialect::Dialect;
use crate::{Result, RunRow};

/// One attempt of a task.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UiTask {
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    pub task_id: i64,
    pub task_name: Option<String>,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
    pub attempt_id: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration: Option<i64>,
    /// 1, 0 or NULL in SQL; `true`, `false` or `null` on the wire.
    #[serde(serialize_with = "flag")]
    pub attempt_ok: Option<i64>,
    /// Location of the `_task_ok` artifact when `attempt_ok` is unknown, for refinement.
    pub task_ok: Option<String>,
    pub status: String,
    /// Content address of the `_task_ok` artifact, to read it for refinement.
    #[serde(skip)]
    #[sqlx(rename = "_task_ok_sha")]
    pub task_ok_sha: Option<String>,
    #[serde(serialize_with = "super::objects::tags")]
    pub tags: Option<Json<Value>>,
    #[serde(serialize_with = "super::objects::tags")]
    pub system_tags: Option<Json<Value>>,
}

fn flag<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    v.map(|n| n != 0).serialize(s)
}

/// Per attempt of the scoped tasks: start, end markers and result, from metadata and artifacts.
fn attempts(dialect: Dialect, scope: &str) -> String {
    let value = attempt_value(dialect, "m.value");
    let tag = attempt_tag(dialect, "m.tags");
    let nulls = |n: usize| ", CAST(NULL AS BIGINT)".repeat(n);
    let meta = |attempt: &str, cols: &str, field: &str| {
        format!(
            "SELECT m.step_name, m.task_id, {attempt} AS attempt_id{cols} FROM metadata_v3 m \
             WHERE {} AND m.field_name = '{field}'",
            scope.replace("{t}", "m")
        )
    };
    let parts = [
        meta(
            &value,
            &format!(
                ", m.ts_epoch AS started_at{}, CAST(NULL AS TEXT) AS ok_value{}, \
                 CAST(NULL AS TEXT) AS task_ok_location, CAST(NULL AS TEXT) AS task_ok_sha",
                ", CAST(NULL AS BIGINT) AS done_at, CAST(NULL AS BIGINT) AS ok_at",
                ", CAST(NULL AS BIGINT) AS task_ok_at"
            ),
            "attempt",
        ),
        meta(
            &value,
            &format!(
                "{}, m.ts_epoch{}, CAST(NULL AS TEXT){}, CAST(NULL AS TEXT), CAST(NULL AS TEXT)",
                nulls(1),
                nulls(1),
                nulls(1)
            ),
            "attempt-done",
        ),
        meta(
            &tag,
            &format!(
                "{}, m.ts_epoch, LOWER(m.value){}, CAST(NULL AS TEXT), CAST(NULL AS TEXT)",
                nulls(2),
                nulls(1)
            ),
            "attempt_ok",
        ),
        format!(
            "SELECT a.step_name, a.task_id, CAST(a.attempt_id AS BIGINT){}, CAST(NULL AS TEXT), \
             a.ts_epoch, a.location, a.sha FROM artifact_v3 a WHERE {} AND a.name = '_task_ok'",
            nulls(3),
            scope.replace("{t}", "a")
        ),
    ];
    format!(
        "SELECT u.step_name, u.task_id, u.attempt_id, MAX(u.started_at) AS started_at, \
         MIN(u.started_at) AS first_start, \
         MAX(u.done_at) AS done_at, MAX(u.ok_at) AS ok_at, MAX(u.ok_value) AS ok_value, \
         MAX(u.task_ok_at) AS task_ok_at, MAX(u.task_ok_location) AS task_ok_location, \
         MAX(u.task_ok_sha) AS task_ok_sha \
         FROM ({}) u WHERE u.attempt_id IS NOT NULL GROUP BY u.step_name, u.task_id, u.attempt_id",
        parts.join(" UNION ALL ")
    )
}

/// The stored task columns joined with their attempts (a task with none yet is attempt 0).
fn source(dialect: Dialect, run: &RunRow, scope: TaskScope<'_>, s: &mut Statement) -> String {
    let mut clauses = vec![
        format!("{{t}}.flow_id = ${}", s.bind(run.flow_id.as_str())),
        format!("{{t}}.run_number = ${}", s.bind(run.run_number)),
    ];
    if let Some(step) = scope.step_name {
        clauses.push(format!("{{t}}.step_name = ${}", s.bind(step)));
    }
    if let Some(task) = scope.task_id {
        clauses.push(format!("{{t}}.task_id = ${}", s.bind(task)));
    }
    let scope = clauses.join(" AND ");
    // An attempt ended when the next one started: a window over each task's joined attempts finds
    // that start in one pass, where a lookup per row was quadratic on SQLite for wide steps.
    let next = "OVER (PARTITION BY t.step_name, t.task_id ORDER BY a.attempt_id)";
    format!(
        "SELECT t.flow_id, CAST(t.run_number AS BIGINT) AS run_number, t.run_id, t.step_name, \
         CAST(t.task_id AS BIGINT) AS task_id, t.task_name, t.user_name, t.ts_epoch, \
         t.last_heartbeat_ts, CAST(COALESCE(a.attempt_id, 0) AS BIGINT) AS attempt_id, \
         a.started_at, a.done_at AS _done_at, a.ok_at AS _ok_at, a.ok_value AS _ok_value, \
         a.task_ok_at AS _task_ok_at, a.task_ok_location AS _task_ok_location, \
         a.task_ok_sha AS _task_ok_sha, \
         CASE WHEN LEAD(a.attempt_id) {next} = a.attempt_id + 1 THEN LEAD(a.first_start) {next} END \
         AS _next_start, rr.tags, rr.system_tags \
         FROM tasks_v3 t JOIN runs_v3 rr ON rr.flow_id = t.flow_id AND rr.run_number = t.run_number \
         LEFT JOIN ({attempts}) a ON a.step_name = t.step_name AND a.task_id = t.task_id \
         WHERE {task_scope}",
        attempts = attempts(dialect, &scope),
        task_scope = scope.replace("{t}", "t"),
    )
}

fn layers(now_s: usize, now_ms: usize) -> Vec<DerivedLayer> {
    let done = greatest(&greatest("b._done_at", "b._ok_at"), "b._task_ok_at");
    let raw = vec![("_done", done), ("attempt_ok", ok_flag("b._ok_value"))];
    let stale = format!(
        "b.last_heartbeat_ts IS NOT NULL AND ${now_s} - b.last_heartbeat_ts > \
         {HEARTBEAT_THRESHOLD_SECONDS}"
    );
    let abandoned = format!(
        "b.last_heartbeat_ts IS NULL AND ${now_ms} - COALESCE(b.started_at, b.ts_epoch) > \
         {OLD_RUN_FAILURE_CUTOFF_MS}"
    );
    let status = format!(
        "CASE WHEN b.attempt_ok = 1 THEN 'completed' WHEN b.attempt_ok = 0 THEN 'failed' \
         WHEN b._done IS NOT NULL THEN 'unknown' WHEN b._next_start IS NOT NULL THEN 'failed' \
         WHEN {stale} THEN 'failed' WHEN {abandoned} THEN 'failed' \
         WHEN b.last_heartbeat_ts IS NULL AND b.started_at IS NULL THEN 'pending' \
         ELSE 'running' END"
    );
    let finished = format!(
        "COALESCE(b._done, b._next_start, CASE WHEN {stale} THEN b.last_heartbeat_ts * 1000 END)"
    );
    let duration = format!(
        "(CASE WHEN b._done IS NULL AND b._next_start IS NULL AND {abandoned} THEN NULL \
         ELSE COALESCE({finished}, ${now_ms}) - COALESCE(b.started_at, b.ts_epoch) END)"
    );
    let task_ok = "(CASE WHEN b.attempt_ok IS NULL THEN b._task_ok_location END)".to_owned();
    vec![
        raw,
        vec![
            ("status", status),
            ("finished_at", finished),
            ("duration", duration),
            ("task_ok", task_ok),
        ],
    ]
}

/// A page of task attempts of a run, a step or one task.
pub(crate) fn list(
    dialect: Dialect,
    run: &RunRow,
    scope: TaskScope<'_>,
    query: &UiQuery,
    now_ms: i64,
) -> Result<Statement> {
    let mut s = Statement::default();
    s.text = source(dialect, run, scope, &mut s);
    let layers = layers(s.bind(now_ms / 1000), s.bind(now_ms));
    build(dialect, &catalog::TASKS, s, &layers, query)
}
