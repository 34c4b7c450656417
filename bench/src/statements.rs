//! The statements the service issues for each benchmarked request. Column lists and the status
//! expression come from `mfstack_store::statements`, the text the store itself sends; the rest
//! mirrors `crates/store/src/sql.rs` (placeholders `$N` on both engines).

use mfstack_store::statements::{ARTIFACT_COLS, RUN_COLS, RUN_RETURNING, TASK_COLS, status_sql};

/// Every statement text, built once.
pub struct Statements {
    /// `create_run`.
    pub insert_run: String,
    /// `get_run` by number (`resolve::run`).
    pub get_run: String,
    /// `create_task`.
    pub insert_task: String,
    /// `heartbeat_run`.
    pub heartbeat_run: &'static str,
    /// `get_task` by number.
    pub get_task: String,
    /// `heartbeat_task`.
    pub heartbeat_task: &'static str,
    /// `create_artifacts` for one batch of [`crate::scenarios::BATCH`] rows.
    pub insert_artifacts: String,
    /// `create_metadata` for one batch.
    pub insert_metadata: String,
    /// `list_tasks`, legacy form.
    pub list_tasks: String,
    /// `list_artifacts` over a run, legacy form.
    pub list_run_artifacts: String,
    /// `list_runs` with a `status` equality filter; `$2` is now in epoch seconds.
    pub list_runs_by_status: String,
}

/// `rows` groups of `cols` placeholders, numbered on from `$1`.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Statements {
    /// The statements, with batch inserts of `batch` rows.
    pub fn new(batch: usize) -> Self {
        Statements {
            insert_run: format!(
                "INSERT INTO runs_v3 (flow_id, run_id, user_name, ts_epoch, tags, system_tags, last_heartbeat_ts) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {RUN_RETURNING}"
            ),
            get_run: format!(
                "SELECT {RUN_COLS} FROM runs_v3 r WHERE r.flow_id = $1 AND r.run_number = $2"
            ),
            insert_task: format!(
                "INSERT INTO tasks_v3 (flow_id, run_number, run_id, step_name, task_name, user_name, ts_epoch, \
                 tags, system_tags, last_heartbeat_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 RETURNING {TASK_COLS}"
            ),
            heartbeat_run: "UPDATE runs_v3 SET last_heartbeat_ts = $3 WHERE flow_id = $1 AND run_number = $2 \
                   AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $4)",
            get_task: format!(
                "SELECT {TASK_COLS} FROM tasks_v3 WHERE flow_id = $1 AND run_number = $2 AND step_name = $3 AND task_id = $4"
            ),
            heartbeat_task: "UPDATE tasks_v3 SET last_heartbeat_ts = $2 WHERE task_id = $1 \
                   AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $3)",
            insert_artifacts: format!(
                "INSERT INTO artifact_v3 (flow_id, run_number, run_id, step_name, task_id, task_name, name, \
                 location, ds_type, sha, type, content_type, user_name, attempt_id, ts_epoch, tags, system_tags) \
                 VALUES {} ON CONFLICT DO NOTHING",
                values(batch, 17)
            ),
            insert_metadata: format!(
                "INSERT INTO metadata_v3 (flow_id, run_number, run_id, step_name, task_id, task_name, field_name, \
                 value, type, user_name, ts_epoch, tags, system_tags) VALUES {}",
                values(batch, 13)
            ),
            list_tasks: format!(
                "SELECT {TASK_COLS} FROM tasks_v3 WHERE flow_id = $1 AND run_number = $2 AND step_name = $3"
            ),
            list_run_artifacts: format!(
                "SELECT {ARTIFACT_COLS} FROM artifact_v3 WHERE flow_id = $1 AND run_number = $2"
            ),
            list_runs_by_status: format!(
                "SELECT {RUN_COLS}, r.status FROM (SELECT r.*, {} AS status FROM runs_v3 r WHERE r.flow_id = $1) r \
                 WHERE r.flow_id = $1 AND (r.status = $3) ORDER BY r.ts_epoch DESC, r.run_number DESC LIMIT $4",
                status_sql(2)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_placeholders_number_on() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
