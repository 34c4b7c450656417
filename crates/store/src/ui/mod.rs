//! What the UI backend (spec `ui-api.md`) asks of the database: listings of flows, runs, steps,
//! task attempts, artifacts and metadata with the §4 grammar, and the §6 derived fields computed in
//! SQL the same way on both engines.
//!
//! Each listing is built from a resource's own statement (its scope and columns) by
//! [`listing::build`], which applies filters, order, groups and pages. Derived columns are computed
//! in outer layers, so a page that filters and sorts on stored columns only derives its own rows.
//!
//! Run status tells the truth sooner than upstream: a run whose heartbeat stopped more than
//! [`RUN_DEAD_AFTER_SECONDS`] ago and that holds a failed final task attempt (an `attempt_ok` of
//! false with no newer attempt) is `failed` at once, where upstream shows `running` until the
//! 6-minute inactivity cutoff.

mod catalog;
mod engine;
mod listing;
mod objects;
mod runs;
mod steps;
mod store;
mod tasks;

use async_trait::async_trait;
use serde::Serialize;

use crate::filters::{FilterOp, TagFilter};
use crate::{Result, RunRow};

pub use objects::{UiArtifact, UiFlow, UiMetadata};
pub use runs::UiRun;
pub use steps::UiStep;
pub use tasks::UiTask;

/// Seconds a heartbeat may lag before a run holding a failed final attempt counts as failed: three
/// missed 10-second beats.
pub const RUN_DEAD_AFTER_SECONDS: i64 = 30;
/// `HEARTBEAT_THRESHOLD`: a task whose heartbeat is older has failed (6 × the 10 s beat).
pub const HEARTBEAT_THRESHOLD_SECONDS: i64 = 60;
/// `RUN_INACTIVE_CUTOFF_TIME`: a run without an end result and with an older heartbeat has failed.
pub const RUN_INACTIVE_CUTOFF_SECONDS: i64 = 360;
/// `OLD_RUN_FAILURE_CUTOFF_TIME`: heartbeat-less work older than this has failed.
pub const OLD_RUN_FAILURE_CUTOFF_MS: i64 = 24 * 3600 * 1000;

/// A filter operator of the UI grammar: the metadata API's operators plus `re`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiOp {
    Op(FilterOp),
    /// Regular expression match; only the tag autocomplete offers it.
    Regex,
}

impl UiOp {
    /// The operator named in a query key (`field:op`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "re" => Some(UiOp::Regex),
            other => FilterOp::parse(other).map(UiOp::Op),
        }
    }
}

/// `field:op=v1,v2` as received; the store drops fields its listing does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiFilter {
    pub field: String,
    pub op: UiOp,
    /// OR-ed values; `null` means IS NULL.
    pub values: Vec<String>,
}

/// One `_order` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiOrder {
    pub column: String,
    pub ascending: bool,
}

/// A listing request in the §4 grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiQuery {
    pub filters: Vec<UiFilter>,
    pub tags: Vec<TagFilter>,
    pub order: Vec<UiOrder>,
    pub group: Vec<String>,
    pub group_limit: u32,
    pub limit: u32,
    /// 1-based.
    pub page: u32,
}

impl Default for UiQuery {
    fn default() -> Self {
        UiQuery {
            filters: Vec::new(),
            tags: Vec::new(),
            order: Vec::new(),
            group: Vec::new(),
            group_limit: 10,
            limit: 10,
            page: 1,
        }
    }
}

impl UiQuery {
    /// Every row up to `limit`, in the listing's default order.
    pub fn first(limit: u32) -> Self {
        UiQuery {
            limit,
            ..UiQuery::default()
        }
    }

    /// This query with one more `field=value` filter.
    pub fn with_eq(mut self, field: &str, value: &str) -> Self {
        self.filters.push(UiFilter {
            field: field.into(),
            op: UiOp::Op(FilterOp::Eq),
            values: vec![value.into()],
        });
        self
    }
}

/// Which part of a run a task, artifact or metadata listing covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskScope<'a> {
    pub step_name: Option<&'a str>,
    /// Internal task id.
    pub task_id: Option<i64>,
}

/// Which names an autocomplete lists.
#[derive(Debug, Clone, Copy)]
pub enum Autocomplete<'a> {
    /// Flow names (`flow_id:co`).
    Flows,
    /// Distinct run tags and system tags (`tag:co`, `tag:re`).
    Tags,
    /// A flow's run ids or numbers as text (`run:co`).
    Runs(&'a str),
    /// A run's step names (`step_name:co`).
    Steps(&'a RunRow),
    /// A run's distinct artifact names (`name:co`).
    Artifacts(&'a RunRow),
}

/// A task's datastore, from its `ds-type` and `ds-root` metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskDatastore {
    pub ds_type: Option<String>,
    pub ds_root: Option<String>,
}

/// The UI backend's queries (spec `ui-api.md` §4–6). Listings return one page; the caller knows
/// another may follow when the page is full.
#[async_trait]
pub trait UiStore: Send + Sync {
    async fn ui_flows(&self, query: &UiQuery) -> Result<Vec<UiFlow>>;
    async fn ui_flow(&self, flow_id: &str) -> Result<Option<UiFlow>>;
    /// Runs of every flow (`None`) or of one.
    async fn ui_runs(&self, flow_id: Option<&str>, query: &UiQuery) -> Result<Vec<UiRun>>;
    async fn ui_run(&self, run: &RunRow) -> Result<Option<UiRun>>;
    /// A run's steps, or the one named.
    async fn ui_steps(
        &self,
        run: &RunRow,
        step_name: Option<&str>,
        query: &UiQuery,
    ) -> Result<Vec<UiStep>>;
    /// One row per task attempt.
    async fn ui_tasks(
        &self,
        run: &RunRow,
        scope: TaskScope<'_>,
        query: &UiQuery,
    ) -> Result<Vec<UiTask>>;
    async fn ui_artifacts(
        &self,
        run: &RunRow,
        scope: TaskScope<'_>,
        query: &UiQuery,
    ) -> Result<Vec<UiArtifact>>;
    async fn ui_metadata(
        &self,
        run: &RunRow,
        scope: TaskScope<'_>,
        query: &UiQuery,
    ) -> Result<Vec<UiMetadata>>;
    async fn ui_autocomplete(&self, what: Autocomplete<'_>, query: &UiQuery)
    -> Result<Vec<String>>;
    /// The latest `ds-type` and `ds-root` of a task.
    async fn ui_task_datastore(
        &self,
        run: &RunRow,
        step_name: &str,
        task_id: i64,
    ) -> Result<TaskDatastore>;
}
