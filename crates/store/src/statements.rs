//! Statement text the store sends, shared with the benchmark so its database-only baseline runs
//! exactly the service's SQL.

/// Flow columns, as [`crate::FlowRow`] reads them.
pub const FLOW_COLS: &str = "flow_id, user_name, ts_epoch, tags, system_tags";
/// Run columns of alias `r`, as [`crate::RunRow`] reads them.
pub const RUN_COLS: &str = "r.flow_id, CAST(r.run_number AS BIGINT) AS run_number, r.run_id, r.user_name, \
     r.ts_epoch, r.tags, r.system_tags, r.last_heartbeat_ts";
/// Run columns for RETURNING, which on SQLite takes no table-qualified names.
pub const RUN_RETURNING: &str = "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, user_name, \
     ts_epoch, tags, system_tags, last_heartbeat_ts";
/// Step columns, as [`crate::StepRow`] reads them.
pub const STEP_COLS: &str =
    "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, step_name, user_name, ts_epoch";
/// Task columns, as [`crate::TaskRow`] reads them.
pub const TASK_COLS: &str = "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, step_name, \
     task_id, task_name, user_name, ts_epoch, last_heartbeat_ts";
/// Artifact columns, as [`crate::ArtifactRow`] reads them.
pub const ARTIFACT_COLS: &str = "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, step_name, \
     task_id, task_name, name, location, ds_type, sha, type, content_type, user_name, \
     CAST(attempt_id AS BIGINT) AS attempt_id, ts_epoch";
/// Metadata columns, as [`crate::MetadataRow`] reads them.
pub const METADATA_COLS: &str = "id, flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, \
     step_name, task_id, task_name, field_name, value, type, user_name, ts_epoch, tags, system_tags";

/// Seconds after the last heartbeat that a run without an end result still counts as running
/// (`RUN_INACTIVE_CUTOFF_TIME`, spec 6.3).
pub const RUN_INACTIVE_CUTOFF_SECONDS: i64 = 360;

/// Derived run status (spec 6.3) for run `r`; `$now` is epoch seconds.
pub fn status_sql(now: usize) -> String {
    let latest = |field: &str, col: &str| {
        format!(
            "(SELECT m.{col} FROM metadata_v3 m WHERE m.flow_id = r.flow_id \
             AND m.run_number = r.run_number AND m.step_name = 'end' AND m.field_name = '{field}' \
             ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1)"
        )
    };
    let ok_value = format!("LOWER({})", latest("attempt_ok", "value"));
    let truthy = "('true', 't', '1', 'yes', 'y', 'on')";
    let falsy = "('false', 'f', '0', 'no', 'n', 'off')";
    format!(
        "CASE \
         WHEN {ok} IN {falsy} AND {attempt_ts} > {ok_ts} THEN 'running' \
         WHEN {ok} IN {truthy} THEN 'completed' \
         WHEN {ok} IN {falsy} THEN 'failed' \
         WHEN r.last_heartbeat_ts IS NOT NULL AND ABS(${now} - r.last_heartbeat_ts) <= {cutoff} \
         THEN 'running' ELSE 'failed' END",
        ok = ok_value,
        ok_ts = latest("attempt_ok", "ts_epoch"),
        attempt_ts = latest("attempt", "ts_epoch"),
        cutoff = RUN_INACTIVE_CUTOFF_SECONDS,
    )
}
