//! Steps (`steps_v3`, spec 4.4): the row and its queries.

use async_trait::async_trait;
use mfstack_api_types as api;
use serde_json::Value;

use crate::binds::Statement;
use crate::coalesce::Insert;
use crate::sql_store::{SqlStore, now_ms};
use crate::{Result, RunRow, RunTags};

/// A row of `steps_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub flow_id: String,
    pub run_number: i64,
    /// Parent run id, or the run number as text for integer-only runs (spec 2.5, steps quirk).
    pub run_id: Option<String>,
    pub step_name: String,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
}

impl StepRow {
    /// Wire form with the run's tags.
    pub fn into_wire(self, run: &RunTags) -> api::Step {
        api::Step {
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            flow_id: self.flow_id,
            step_name: self.step_name,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: run.tags.clone(),
            system_tags: run.system_tags.clone(),
        }
    }
}

/// A step to insert under a resolved run.
#[derive(Debug, Clone)]
pub struct NewStep {
    pub step_name: String,
    pub user_name: Option<String>,
    pub tags: Option<Value>,
    pub system_tags: Option<Value>,
}

/// Statement text, shared with the benchmark.
pub mod sql {
    use crate::binds::values_list;

    /// Columns as [`super::StepRow`] reads them.
    pub const COLUMNS: &str =
        "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, step_name, user_name, ts_epoch";

    /// Placeholders per inserted step.
    pub const INSERT_COLUMNS: usize = 8;

    /// `$1` flow, `$2` run number, `$3` run id, `$4` step, `$5` user, `$6` ts_epoch, `$7` tags,
    /// `$8` system tags.
    pub fn insert() -> String {
        insert_many(1)
    }

    /// [`insert`] for `rows` steps, their values one after another.
    pub fn insert_many(rows: usize) -> String {
        format!(
            "INSERT INTO steps_v3 (flow_id, run_number, run_id, step_name, user_name, ts_epoch, tags, \
             system_tags) VALUES {} RETURNING {COLUMNS}",
            values_list(rows, INSERT_COLUMNS)
        )
    }

    /// `$1` flow, `$2` run number, `$3` step.
    pub fn get() -> String {
        format!(
            "SELECT {COLUMNS} FROM steps_v3 WHERE flow_id = $1 AND run_number = $2 AND step_name = $3"
        )
    }

    /// `$1` flow, `$2` run number.
    pub fn list() -> String {
        format!("SELECT {COLUMNS} FROM steps_v3 WHERE flow_id = $1 AND run_number = $2")
    }
}

/// What the service asks of steps.
#[async_trait]
pub trait StepStore: Send + Sync {
    /// Insert a step. `Duplicate` when it exists.
    async fn create_step(&self, run: &RunRow, step: NewStep) -> Result<StepRow>;
    async fn get_step(&self, run: &RunRow, step_name: &str) -> Result<Option<StepRow>>;
    async fn list_steps(&self, run: &RunRow) -> Result<Vec<StepRow>>;
}

#[async_trait]
impl StepStore for SqlStore {
    async fn create_step(&self, run: &RunRow, step: NewStep) -> Result<StepRow> {
        // Integer-only runs store the number as text here (spec 2.5, steps quirk).
        let run_id = run
            .run_id
            .clone()
            .unwrap_or_else(|| run.run_number.to_string());
        let what = format!("step {}", step.step_name);
        // The flow, run number and step name lead, in this order, to match rows back to requests.
        let args = vec![
            run.flow_id.as_str().into(),
            run.run_number.into(),
            run_id.into(),
            step.step_name.into(),
            step.user_name.unwrap_or_default().into(),
            now_ms().into(),
            step.tags.as_ref().into(),
            step.system_tags.as_ref().into(),
        ];
        self.writes.steps.submit(Insert { args, what }, 1).await
    }

    async fn get_step(&self, run: &RunRow, step_name: &str) -> Result<Option<StepRow>> {
        let statement = Statement {
            text: sql::get(),
            args: vec![
                run.flow_id.as_str().into(),
                run.run_number.into(),
                step_name.into(),
            ],
        };
        self.one(&self.reader, statement, "step").await
    }

    async fn list_steps(&self, run: &RunRow) -> Result<Vec<StepRow>> {
        let statement = Statement {
            text: sql::list(),
            args: vec![run.flow_id.as_str().into(), run.run_number.into()],
        };
        self.all(&self.reader, statement, "steps").await
    }
}
