//! Steps as the UI lists them (§6 "Step"): the stored row plus `duration`.

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use super::engine::greatest;
use super::listing::build;
use super::{OLD_RUN_FAILURE_CUTOFF_MS, UiQuery, catalog};
use crate::binds::Statement;
use crate::dialect::Dialect;
use crate::{Result, RunRow};

/// A step row of the UI API.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UiStep {
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    pub duration: Option<i64>,
    #[serde(serialize_with = "super::objects::tags")]
    pub tags: Option<Json<Value>>,
    #[serde(serialize_with = "super::objects::tags")]
    pub system_tags: Option<Json<Value>>,
}

/// Latest sign of life of step `b`'s tasks: a `_task_ok` artifact, an end-of-attempt metadata
/// row, or a heartbeat.
fn last_activity() -> String {
    let scope = |t: &str| {
        format!(
            "{t}.flow_id = b.flow_id AND {t}.run_number = b.run_number AND {t}.step_name = b.step_name"
        )
    };
    let task_ok = format!(
        "(SELECT MAX(a.ts_epoch) FROM artifact_v3 a WHERE {} AND a.name = '_task_ok')",
        scope("a")
    );
    let attempt_end = format!(
        "(SELECT MAX(m.ts_epoch) FROM metadata_v3 m WHERE {} \
         AND m.field_name IN ('attempt_ok', 'attempt-done'))",
        scope("m")
    );
    let heartbeat = format!(
        "(SELECT MAX(t.last_heartbeat_ts) * 1000 FROM tasks_v3 t WHERE {})",
        scope("t")
    );
    greatest(&greatest(&task_ok, &attempt_end), &heartbeat)
}

/// A page of a run's steps, or the one named.
pub(crate) fn list(
    dialect: Dialect,
    run: &RunRow,
    step_name: Option<&str>,
    query: &UiQuery,
    now_ms: i64,
) -> Result<Statement> {
    let mut s = Statement::default();
    let mut scope = format!(
        "s.flow_id = ${} AND s.run_number = ${}",
        s.bind(run.flow_id.as_str()),
        s.bind(run.run_number)
    );
    if let Some(step) = step_name {
        scope += &format!(" AND s.step_name = ${}", s.bind(step));
    }
    s.text = format!(
        "SELECT s.flow_id, CAST(s.run_number AS BIGINT) AS run_number, s.run_id, s.step_name, \
         s.user_name, s.ts_epoch, rr.tags, rr.system_tags FROM steps_v3 s JOIN runs_v3 rr \
         ON rr.flow_id = s.flow_id AND rr.run_number = s.run_number WHERE {scope}"
    );
    let now = s.bind(now_ms);
    let duration = format!(
        "(CASE WHEN b._last IS NOT NULL THEN b._last - b.ts_epoch \
         WHEN ${now} - b.ts_epoch > {OLD_RUN_FAILURE_CUTOFF_MS} THEN NULL \
         ELSE ${now} - b.ts_epoch END)"
    );
    let layers = vec![
        vec![("_last", last_activity())],
        vec![("duration", duration)],
    ];
    build(dialect, &catalog::STEPS, s, &layers, query)
}

/// A run's step names, as column `step_name`.
pub(crate) fn names(dialect: Dialect, run: &RunRow, query: &UiQuery) -> Result<Statement> {
    let mut s = Statement::default();
    s.text = format!(
        "SELECT s.step_name FROM steps_v3 s WHERE s.flow_id = ${} AND s.run_number = ${}",
        s.bind(run.flow_id.as_str()),
        s.bind(run.run_number)
    );
    build(dialect, &catalog::STEP_NAMES, s, &[], query)
}
