//! Storage for the metadata service: one [`Store`] trait with SQLite and PostgreSQL behind it.
//!
//! The tables are the reference schema (spec section 8), so a PostgreSQL database is interchangeable
//! with the reference service's. Migrations are tracked in goose's own `goose_db_version` table on
//! both engines (DECISIONS.md, Compatibility 1).

mod dialect;
mod error;
mod migrate;
mod model;
mod pool;
mod postgres;
mod query;
mod sql;
mod sqlite;
pub mod statements;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mfstack_api_types::SchemaStatus;
use serde_json::Value;

pub use error::StoreError;
pub use migrate::{UpgradeOutcome, version_name};
pub use model::*;
pub use postgres::PostgresConfig;
pub use query::*;

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which artifacts a listing covers.
#[derive(Debug, Clone, Copy)]
pub enum ArtifactScope<'a> {
    /// Every artifact of a run (`GET /flows/{f}/runs/{r}/artifacts`).
    Run(&'a RunRow),
    /// Every artifact of a step.
    Step(&'a RunRow, &'a str),
    /// Every artifact of a task.
    Task(&'a TaskRow),
    /// A task's artifacts of one attempt.
    TaskAttempt(&'a TaskRow, i64),
}

/// Which metadata a listing covers.
#[derive(Debug, Clone, Copy)]
pub enum MetadataScope<'a> {
    /// Every metadata row of a run.
    Run(&'a RunRow),
    /// Every metadata row of a task.
    Task(&'a TaskRow),
}

/// Everything the metadata service asks of its database. One method per query; rows come back as
/// stored and the service builds the wire form.
#[async_trait]
pub trait Store: Send + Sync {
    /// The database, password redacted, for logs and errors.
    fn describe(&self) -> String;
    /// A round trip to the database (`GET /healthcheck`).
    async fn healthcheck(&self) -> Result<()>;
    /// Close every connection after in-flight queries finish.
    async fn close(&self);

    /// Insert a flow. `Duplicate` when it exists.
    async fn create_flow(
        &self,
        flow_id: &str,
        user_name: Option<&str>,
        tags: Option<&Value>,
        system_tags: Option<&Value>,
    ) -> Result<FlowRow>;
    /// One flow.
    async fn get_flow(&self, flow_id: &str) -> Result<Option<FlowRow>>;
    /// Every flow (`None`) or one keyset page.
    async fn list_flows(&self, page: Option<&PageRequest<FlowCursor>>) -> Result<Page<FlowRow>>;

    /// Insert a run. `MissingParent` without the flow, `Duplicate` for a taken run id.
    async fn create_run(&self, run: NewRun) -> Result<RunRow>;
    /// One run by number or id.
    async fn get_run(&self, flow_id: &str, key: &RunKey) -> Result<Option<RunRow>>;
    /// Every run of a flow (`None`) or a filtered page.
    async fn list_runs(&self, flow_id: &str, query: Option<&RunQuery>) -> Result<Page<RunRow>>;
    /// Set the run's heartbeat to now unless it beat within the last 10 s; true when it was set.
    async fn heartbeat_run(&self, flow_id: &str, run_number: i64) -> Result<bool>;
    /// Replace the run's user tags if they still equal `expected`; false when they changed meanwhile.
    async fn replace_run_tags(
        &self,
        run: &RunRow,
        expected: Option<&Value>,
        tags: &Value,
    ) -> Result<bool>;

    /// Insert a step. `Duplicate` when it exists.
    async fn create_step(&self, run: &RunRow, step: NewStep) -> Result<StepRow>;
    /// One step.
    async fn get_step(&self, run: &RunRow, step_name: &str) -> Result<Option<StepRow>>;
    /// Every step of a run.
    async fn list_steps(&self, run: &RunRow) -> Result<Vec<StepRow>>;

    /// Insert a task. `MissingParent` without the step, `Duplicate` for a taken task name.
    async fn create_task(&self, run: &RunRow, task: NewTask) -> Result<TaskRow>;
    /// One task by id or name.
    async fn get_task(
        &self,
        run: &RunRow,
        step_name: &str,
        key: &TaskKey,
    ) -> Result<Option<TaskRow>>;
    /// Every task of a step (`None`) or a filtered page.
    async fn list_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        query: Option<&TaskQuery>,
    ) -> Result<Page<TaskRow>>;
    /// Heartbeat a task, as [`Store::heartbeat_run`].
    async fn heartbeat_task(&self, task_id: i64) -> Result<bool>;
    /// Tasks of a step with a metadata row matching the field name and regular expression, by id.
    async fn filtered_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        field_name: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<TaskRow>>;

    /// Insert artifacts, skipping duplicates; the number inserted.
    async fn create_artifacts(&self, task: &TaskRow, items: &[NewArtifactRow]) -> Result<u64>;
    /// Artifacts of a scope. Without a page: every row. With one: the newest row per (task, name),
    /// keyset-paged (spec 4.6.6).
    async fn list_artifacts(
        &self,
        scope: ArtifactScope<'_>,
        page: Option<&PageRequest<ArtifactCursor>>,
    ) -> Result<Page<ArtifactRow>>;
    /// One artifact of a task at an attempt.
    async fn get_artifact(
        &self,
        task: &TaskRow,
        name: &str,
        attempt_id: i64,
    ) -> Result<Option<ArtifactRow>>;
    /// Highest attempt of the task's artifact literally called `name` (spec 4.6.4).
    async fn latest_attempt(&self, task: &TaskRow) -> Result<Option<i64>>;

    /// Insert metadata rows (duplicates allowed); the number inserted.
    async fn create_metadata(&self, task: &TaskRow, items: &[NewMetadataRow]) -> Result<u64>;
    /// Metadata of a scope, newest first; every row or one page.
    async fn list_metadata(
        &self,
        scope: MetadataScope<'_>,
        page: Option<&PageRequest<MetadataCursor>>,
    ) -> Result<Page<MetadataRow>>;

    /// Where the schema stands against this build's migrations (spec 7).
    async fn schema_status(&self) -> Result<SchemaStatus>;
    /// Apply pending migrations; serialised across processes, a no-op when up to date.
    async fn upgrade(&self) -> Result<UpgradeOutcome>;
}

/// How to open a database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Minimum connections kept open.
    pub pool_min: u32,
    /// Maximum connections.
    pub pool_max: u32,
    /// How long a request waits for a connection before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
    /// How long one statement may run (PostgreSQL `statement_timeout`) before it fails.
    pub statement_timeout: Option<Duration>,
    /// A read replica for listings and gets (PostgreSQL).
    pub reader_url: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            pool_min: 1,
            pool_max: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: None,
            reader_url: None,
        }
    }
}

/// Open a database by URL (`sqlite://PATH` or `postgres://…`), create and migrate it when empty, and
/// refuse one whose schema is newer than this build knows.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    let store = if url.starts_with("sqlite:") {
        sqlite::open(url, options).await?
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::open(url, options).await?
    } else {
        return Err(StoreError::Config(format!(
            "unsupported database URL {}: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB",
            redact(url)
        )));
    };
    store.prepare().await?;
    Ok(Arc::new(store))
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparsable database URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_print_without_passwords() {
        assert_eq!(
            redact("postgres://mf:s3cret@db:5432/metaflow"),
            "postgres://mf:***@db:5432/metaflow"
        );
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        assert!(!redact("postgres://mf:s3cret@[bad").contains("s3cret"));
    }
}
