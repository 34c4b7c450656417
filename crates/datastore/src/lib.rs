//! Reads Metaflow's datastore, local or S3: artifact content rendered as Python's `str()`, run
//! parameters, the DAG from `_graph_info`, a task's foreach index, task logs (both MFLog sources
//! merged by time, paged and streamed) and cards. Blob locations come from metadata rows (spec
//! `ui-api.md` §7), never guessed.
//!
//! A value that cannot be decoded is an [`ArtifactError`] entry, never a failed call; hostile blobs
//! are bounded by the compressed size limit, a decompressed size limit and a limit on the decoded
//! value's size and depth.

mod artifacts;
mod blob;
mod cards;
mod config;
mod foreach;
mod location;
mod logs;
mod pickle_guard;
mod pyjson;
mod pyrepr;
mod pyvalue;
mod storage;

use std::sync::Arc;

pub use artifacts::{ArtifactContent, ArtifactError, ArtifactErrorKind, ArtifactRef};
pub use cards::{CardData, CardInfo};
pub use config::DatastoreConfig;
pub use location::{DatastoreRoot, Location};
pub use logs::{LogByteStream, LogLine, LogOrder, LogPage, LogPageRequest, LogStream};
pub use pyrepr::python_str;
pub use pyvalue::PyValue;

use storage::Storage;

/// What went wrong reading the datastore (not decoding a value: that is an [`ArtifactError`]).
#[derive(Debug, thiserror::Error)]
pub enum DatastoreError {
    /// The object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A location or root that is neither a local path nor an `s3://` URL.
    #[error("invalid location {0:?}")]
    InvalidLocation(String),
    /// The object exists but is over a configured limit.
    #[error("{location} is larger than the {limit}-byte limit")]
    TooLarge {
        /// Where the object is.
        location: String,
        /// The limit it went over, in bytes.
        limit: u64,
    },
    /// The object exists but its content cannot be decoded.
    #[error("cannot decode {location}: {reason}")]
    Decode {
        /// Where the object is.
        location: String,
        /// Why it cannot be decoded.
        reason: String,
    },
    /// The object store failed (network, credentials, permissions, I/O).
    #[error("datastore: {0}")]
    Storage(#[from] object_store::Error),
}

/// A task in the datastore: `<root>/<flow>/<run>/<step>/<task>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPath {
    /// The flow name.
    pub flow: String,
    /// The run id (`run_id` if set, else the run number).
    pub run: String,
    /// The step name.
    pub step: String,
    /// The task id (`task_name` if set, else the task id).
    pub task: String,
}

/// The datastore reader. Cheap to clone; clones share the S3 clients and the blob cache.
#[derive(Clone)]
pub struct Datastore {
    storage: Arc<Storage>,
}

impl Datastore {
    /// A reader with these settings. Fails only on an invalid S3 endpoint or client setting.
    pub fn new(config: DatastoreConfig) -> Result<Self, DatastoreError> {
        Ok(Self {
            storage: Arc::new(Storage::new(config)?),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &DatastoreConfig {
        self.storage.config()
    }

    /// The datastore root of a task from its `ds-type` and `ds-root` metadata, falling back to the
    /// configured root for that type (or for the configured default type when `ds-type` is absent).
    /// `None` when no root is known.
    pub fn root_for(&self, ds_type: Option<&str>, ds_root: Option<&str>) -> Option<DatastoreRoot> {
        self.storage.config().root_for(ds_type, ds_root)
    }

    /// The content of an artifact, rendered as Python's `str()`. Never fails: anything
    /// unreadable is an [`ArtifactError`] entry.
    pub async fn artifact_content(&self, artifact: &ArtifactRef) -> ArtifactContent {
        artifacts::content(&self.storage, artifact).await
    }

    /// The index of the innermost foreach a task runs in, from its `_foreach_stack` artifact, as
    /// Metaflow's `Task.index` gives it. `None` outside a foreach, and when the artifact cannot be
    /// read or decoded within the artifact limits.
    pub async fn foreach_index(&self, foreach_stack: &ArtifactRef) -> Option<i64> {
        foreach::innermost_index(&self.storage, foreach_stack).await
    }

    /// The run's parameters from the artifacts of its `_parameters` task, as JSON values by name;
    /// internal names (`_…`, `name`, `script_name`) are left out. A value that cannot be decoded
    /// becomes its error message as a JSON string, as upstream does.
    pub async fn parameters(
        &self,
        artifacts: &[ArtifactRef],
    ) -> serde_json::Map<String, serde_json::Value> {
        artifacts::parameters(&self.storage, artifacts).await
    }

    /// The `_graph_info` artifact as JSON
    /// (`{file, parameters, constants, steps, graph_structure, doc}`).
    pub async fn dag(&self, graph_info: &ArtifactRef) -> Result<serde_json::Value, DatastoreError> {
        artifacts::dag(&self.storage, graph_info).await
    }

    /// One page of a task attempt's log: both sources merged by time. Memory is bounded by the
    /// page (the log is streamed, never loaded whole). Each source's line count is kept per
    /// version, so the newest page of a log already counted reads only the tails. A missing log
    /// is an empty page.
    pub async fn log_page(
        &self,
        root: &DatastoreRoot,
        task: &TaskPath,
        attempt: u32,
        stream: LogStream,
        request: LogPageRequest,
    ) -> Result<LogPage, DatastoreError> {
        logs::page(&self.storage, root, task, attempt, stream, request).await
    }

    /// A task attempt's whole log as text (merged lines, each ending in `\n`), streamed.
    pub async fn log_download(
        &self,
        root: &DatastoreRoot,
        task: &TaskPath,
        attempt: u32,
        stream: LogStream,
    ) -> Result<LogByteStream, DatastoreError> {
        logs::download(&self.storage, root, task, attempt, stream).await
    }

    /// The task's cards, from the layout with `steps/<step>` or else the older one without.
    pub async fn cards(
        &self,
        root: &DatastoreRoot,
        task: &TaskPath,
    ) -> Result<Vec<CardInfo>, DatastoreError> {
        cards::list(&self.storage, root, task).await
    }

    /// The HTML of the task's card with this hash; `None` when there is none.
    pub async fn card_html(
        &self,
        root: &DatastoreRoot,
        task: &TaskPath,
        hash: &str,
    ) -> Result<Option<String>, DatastoreError> {
        cards::html(&self.storage, root, task, hash).await
    }

    /// The runtime data (`…/runtime/<type>[-<id>]-<hash>.data.json`) of the card with this hash;
    /// `None` while there is none.
    pub async fn card_data(
        &self,
        root: &DatastoreRoot,
        task: &TaskPath,
        hash: &str,
    ) -> Result<Option<CardData>, DatastoreError> {
        cards::data(&self.storage, root, task, hash).await
    }
}
