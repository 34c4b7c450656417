//! The statements the service issues for each benchmarked request, taken from the store's own
//! statement text (`mfstack_store::statements`), so the database-only baseline runs exactly the
//! service's SQL.

use mfstack_store::statements::{artifacts, metadata, runs, tasks};
use mfstack_store::{
    ArtifactScope, Dialect, Filter, FilterOp, FilterValue, PageRequest, RunField, RunQuery, RunRow,
};

/// Every statement text, built once.
pub struct Statements {
    pub insert_run: String,
    /// `get_run` by number (`resolve::run`).
    pub get_run: String,
    pub insert_task: String,
    pub heartbeat_run: &'static str,
    /// `get_task` by number.
    pub get_task: String,
    pub heartbeat_task: &'static str,
    /// `create_artifacts` for one batch of [`crate::scenarios::BATCH`] rows.
    pub insert_artifacts: String,
    /// `create_metadata` for one batch.
    pub insert_metadata: String,
    /// `list_tasks`, legacy form.
    pub list_tasks: String,
    /// `list_artifacts` over a run, legacy form.
    pub list_run_artifacts: String,
    /// `list_runs` with a `status` equality filter: `$1` flow, `$2` now in epoch seconds, `$3` the
    /// status, `$4` the limit.
    pub list_runs_by_status: String,
}

impl Statements {
    /// The statements, with batch inserts of `batch` rows.
    pub fn new(batch: usize) -> Self {
        // Only the text is kept; the scenarios bind their own values in the same order. A status
        // filter renders the same on both engines.
        let by_status = RunQuery {
            filters: vec![Filter {
                field: RunField::Status,
                op: FilterOp::Eq,
                values: vec![FilterValue::Text(String::new())],
            }],
            tags: vec![],
            page: PageRequest {
                limit: 1,
                after: None,
            },
        };
        let run = RunRow {
            flow_id: String::new(),
            run_number: 0,
            run_id: None,
            user_name: None,
            ts_epoch: 0,
            tags: None,
            system_tags: None,
            last_heartbeat_ts: None,
            status: None,
        };
        Statements {
            insert_run: runs::insert(),
            get_run: runs::get_by_number(),
            insert_task: tasks::insert(),
            heartbeat_run: runs::HEARTBEAT,
            get_task: tasks::get_by_id(),
            heartbeat_task: tasks::HEARTBEAT,
            insert_artifacts: artifacts::insert(batch),
            insert_metadata: metadata::insert(batch),
            list_tasks: tasks::list(),
            list_run_artifacts: artifacts::list(ArtifactScope::Run(&run)).text,
            list_runs_by_status: runs::list_page(Dialect::Postgres, "", &by_status, 0).text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_listing_binds_flow_now_status_limit() {
        let s = Statements::new(2);
        assert!(s.list_runs_by_status.contains("r.flow_id = $1"));
        assert!(s.list_runs_by_status.contains("(r.status = $3)"));
        assert!(s.list_runs_by_status.ends_with("LIMIT $4"));
        assert!(s.insert_metadata.contains("($14, "));
    }
}
