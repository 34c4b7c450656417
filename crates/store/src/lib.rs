//! Storage for the metadata service: one [`Store`] trait with SQLite and PostgreSQL behind it.
//!
//! The tables are the reference schema (spec section 8), so a PostgreSQL database is interchangeable
//! with the reference service's. Migrations are tracked in goose's own `goose_db_version` table on
//! both engines (DECISIONS.md, Compatibility 1).

mod artifacts;
mod binds;
mod coalesce;
mod dialect;
mod direct;
mod error;
mod filters;
mod flows;
mod keys;
mod metadata;
mod migrate;
mod notify;
mod page;
mod pool;
mod postgres;
mod runs;
mod sql_store;
mod sqlite;
mod steps;
mod tasks;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mfstack_api_types::SchemaStatus;
use serde_json::Value;
use sqlx::types::Json;

pub use artifacts::{ArtifactCursor, ArtifactRow, ArtifactScope, ArtifactStore, NewArtifactRow};
pub use binds::{Arg, Statement};
pub use dialect::Dialect;
pub use direct::{DirectPools, Fetch, Side};
pub use error::StoreError;
pub use filters::{Filter, FilterOp, FilterValue, TagFilter};
pub use flows::{FlowCursor, FlowRow, FlowStore};
pub use keys::{RunKey, TaskKey, is_numeric_id};
pub use metadata::{MetadataCursor, MetadataRow, MetadataScope, MetadataStore, NewMetadataRow};
pub use migrate::{UpgradeOutcome, version_name};
pub use notify::{CHANGE_CHANNEL, Change, ChangeNotifier, decode_changes, listen_changes};
pub use page::{Page, PageRequest};
pub use postgres::PostgresConfig;
pub use runs::{NewRun, RunCursor, RunField, RunQuery, RunRow, RunStore, RunTags};
pub use steps::{NewStep, StepRow, StepStore};
pub use tasks::{NewTask, TaskCursor, TaskField, TaskQuery, TaskRow, TaskStore};
pub use ui::{
    Autocomplete, TaskDatastore, TaskScope, UiArtifact, UiFilter, UiFlow, UiMetadata, UiOp,
    UiOrder, UiQuery, UiRun, UiStep, UiStore, UiTask,
};

/// The statement text the store sends, by resource, so the benchmark's database-only baseline runs
/// exactly the service's SQL.
pub mod statements {
    pub use crate::artifacts::sql as artifacts;
    pub use crate::binds::values_list;
    pub use crate::flows::sql as flows;
    pub use crate::metadata::sql as metadata;
    pub use crate::runs::sql as runs;
    pub use crate::steps::sql as steps;
    pub use crate::tasks::sql as tasks;
}

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the metadata service asks of its database: one method per query, grouped by resource
/// in the supertraits (each in its resource's module). Rows come back as stored and the service
/// builds the wire form.
#[async_trait]
pub trait Store:
    FlowStore + RunStore + StepStore + TaskStore + ArtifactStore + MetadataStore + UiStore + Send + Sync
{
    /// The database, password redacted, for logs and errors.
    fn describe(&self) -> String;
    /// A round trip to the database (`GET /healthcheck`).
    async fn healthcheck(&self) -> Result<()>;
    /// Close every connection after in-flight queries finish.
    async fn close(&self);
    /// Where the schema stands against this build's migrations (spec 7).
    async fn schema_status(&self) -> Result<SchemaStatus>;
    /// Apply pending migrations; serialised across processes, a no-op when up to date.
    async fn upgrade(&self) -> Result<UpgradeOutcome>;
}

fn json(v: Option<Json<Value>>) -> Option<Value> {
    v.map(|Json(v)| v)
}

/// Longer than any statement of a healthy service takes, short enough that a runaway one cannot
/// hold a connection for long.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to open a database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Minimum connections kept open.
    pub pool_min: u32,
    /// Maximum connections.
    pub pool_max: u32,
    /// How long a request waits for a connection before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
    /// How long one statement may run before it is cancelled and the request answers 503
    /// (PostgreSQL's `statement_timeout`; on SQLite, a progress-handler deadline per checkout).
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
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
            reader_url: None,
        }
    }
}

/// Open a database by URL (`sqlite://PATH` or `postgres://…`), create and migrate it when empty, and
/// refuse one whose schema is newer than this build knows.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    let store = connect(url, options).await?;
    store.prepare().await?;
    Ok(Arc::new(store))
}

/// The pools for `url`, by scheme, or the schemes it accepts.
async fn connect(url: &str, options: &OpenOptions) -> Result<sql_store::SqlStore> {
    if url.starts_with("sqlite:") {
        sqlite::open(url, options).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::open(url, options).await
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL {}: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB",
            redact(url)
        )))
    }
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
