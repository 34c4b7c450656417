//! Response bodies (spec sections 3 and 4).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::HEARTBEAT_WAIT_SECONDS;

/// A run or task id as exposed on the wire: the client-chosen string id when there is one, else the
/// server-assigned integer (spec 2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExposedId {
    /// Server-assigned integer id.
    Int(i64),
    /// Client-chosen string id.
    Str(String),
}

impl ExposedId {
    /// The exposed id: `name` when present, else `number`.
    pub fn pick(name: Option<&str>, number: i64) -> Self {
        match name {
            Some(s) => ExposedId::Str(s.to_owned()),
            None => ExposedId::Int(number),
        }
    }
}

impl std::fmt::Display for ExposedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExposedId::Int(n) => write!(f, "{n}"),
            ExposedId::Str(s) => f.write_str(s),
        }
    }
}

/// A flow (spec 3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub flow_id: String,
    /// Creator, when given.
    pub user_name: Option<String>,
    /// Creation time, epoch milliseconds, set by the server.
    pub ts_epoch: i64,
    /// Tags as sent (the client sends none).
    pub tags: Option<Value>,
    /// System tags as sent.
    pub system_tags: Option<Value>,
}

/// A run (spec 3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub flow_id: String,
    /// Exposed run id.
    pub run_number: ExposedId,
    /// Creator.
    pub user_name: Option<String>,
    /// Creation time, epoch milliseconds.
    pub ts_epoch: i64,
    /// Mutable user tags.
    pub tags: Option<Value>,
    /// Immutable system tags.
    pub system_tags: Option<Value>,
    /// Last heartbeat, epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
    /// Verified owner: `user_name` when the system tags hold `user:<user_name>`. Omitted when null and
    /// on the create response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Derived status, only on a runs listing filtered by `status` (spec 6.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A step (spec 3.3). Tags are the parent run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub flow_id: String,
    /// Exposed run id; the digit string for integer-only runs, as the reference sends it.
    pub run_number: ExposedId,
    pub step_name: String,
    /// Creator.
    pub user_name: Option<String>,
    /// Creation time, epoch milliseconds.
    pub ts_epoch: i64,
    /// The run's tags.
    pub tags: Option<Value>,
    /// The run's system tags.
    pub system_tags: Option<Value>,
}

/// A task (spec 3.4). Tags are the parent run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub flow_id: String,
    /// Exposed run id.
    pub run_number: ExposedId,
    pub step_name: String,
    /// Exposed task id.
    pub task_id: ExposedId,
    /// Creator.
    pub user_name: Option<String>,
    /// Creation time, epoch milliseconds.
    pub ts_epoch: i64,
    /// The run's tags.
    pub tags: Option<Value>,
    /// The run's system tags.
    pub system_tags: Option<Value>,
    /// Last heartbeat, epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
}

/// An artifact (spec 3.5). Tags are the parent run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub flow_id: String,
    /// Exposed run id.
    pub run_number: ExposedId,
    pub step_name: String,
    /// Exposed task id.
    pub task_id: ExposedId,
    /// Artifact name.
    pub name: String,
    /// Where the datastore keeps the value.
    pub location: String,
    /// Datastore type (`local`, `s3`, …).
    pub ds_type: String,
    /// Content hash.
    pub sha: Option<String>,
    /// Artifact type, `metaflow.artifact` from the client.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Serialisation encoding.
    pub content_type: Option<String>,
    /// Creator.
    pub user_name: Option<String>,
    /// Attempt that wrote it.
    pub attempt_id: i64,
    /// Creation time, epoch milliseconds.
    pub ts_epoch: i64,
    /// The run's tags.
    pub tags: Option<Value>,
    /// The run's system tags.
    pub system_tags: Option<Value>,
}

/// A metadata row (spec 3.6). Its tags are its own (`attempt_id:<n>`), never grafted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Row id.
    pub id: i64,
    pub flow_id: String,
    /// Exposed run id.
    pub run_number: ExposedId,
    pub step_name: String,
    /// Exposed task id.
    pub task_id: ExposedId,
    pub field_name: String,
    /// Value, always text.
    pub value: String,
    /// Field type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Creator.
    pub user_name: Option<String>,
    /// Creation time, epoch milliseconds.
    pub ts_epoch: i64,
    /// Tags as sent.
    pub tags: Option<Value>,
    /// System tags as sent.
    pub system_tags: Option<Value>,
}

/// Answer to a batch artifact post (spec 4.6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactsCreated {
    /// How many rows were inserted; duplicates are skipped.
    pub artifacts_created: u64,
}

/// Answer to a batch metadata post (spec 4.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataCreated {
    /// How many rows were inserted.
    pub metadata_created: u64,
}

/// Answer to a run tag mutation (spec 4.3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagsResponse {
    /// The run's user tags after the mutation.
    pub tags: Vec<String>,
}

/// Error body for failures the reference has no shape for (DECISIONS.md, Improvements).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// What went wrong and, where it helps, what to do.
    pub message: String,
}

/// `GET /db_schema_status` on the migration port (spec 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaStatus {
    /// True when no migration is pending.
    pub is_up_to_date: bool,
    /// Newest applied migration version, `"0"` on an empty version table.
    pub current_version: String,
    /// True when some migration is unapplied (the reference's meaning, not a lock).
    pub migration_in_progress: bool,
    /// Every known version, ascending.
    pub db_schema_versions: Vec<String>,
    /// Known versions after `current_version`.
    pub unapplied_migrations: Vec<String>,
}

/// The heartbeat answer, whatever the status: a JSON string whose content is JSON text. The client
/// decodes it twice and its heartbeat thread dies on a plain object (spec 2.4 D, 10.4, 11.1).
pub fn heartbeat_body() -> String {
    serde_json::to_string(&format!(
        "{{\"wait_time_in_seconds\": {HEARTBEAT_WAIT_SECONDS}}}"
    ))
    .expect("a string always serialises")
}

/// `GET /healthcheck` body: double-encoded like the heartbeat (spec 4.1.3).
pub fn healthcheck_body() -> String {
    serde_json::to_string("{\"status\": \"UP\"}").expect("a string always serialises")
}

/// A handler validation message, sent as a JSON string (spec 2.4 B).
pub fn message_string_body(message: &str) -> String {
    serde_json::to_string(message).expect("a string always serialises")
}

/// Body of a single-object GET that finds nothing: `{}` (spec 2.4 F).
pub const NOT_FOUND_BODY: &str = "{}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_body_is_double_encoded_exactly() {
        // spec 2.4 D: these exact bytes, which Python's json.loads(json.loads(..)) accepts.
        assert_eq!(heartbeat_body(), r#""{\"wait_time_in_seconds\": 10}""#);
        let inner: String = serde_json::from_str(&heartbeat_body()).unwrap();
        let obj: Value = serde_json::from_str(&inner).unwrap();
        assert_eq!(obj["wait_time_in_seconds"], 10);
    }

    #[test]
    fn healthcheck_body_is_double_encoded_exactly() {
        assert_eq!(healthcheck_body(), r#""{\"status\": \"UP\"}""#);
    }

    #[test]
    fn exposed_ids_are_numbers_or_strings() {
        assert_eq!(serde_json::to_string(&ExposedId::Int(12)).unwrap(), "12");
        assert_eq!(
            serde_json::to_string(&ExposedId::Str("sfn-1".into())).unwrap(),
            r#""sfn-1""#
        );
        assert_eq!(ExposedId::pick(None, 7), ExposedId::Int(7));
        assert_eq!(ExposedId::pick(Some("x"), 7), ExposedId::Str("x".into()));
    }

    #[test]
    fn run_omits_user_and_status_when_absent_and_keeps_reference_key_order() {
        let run = Run {
            flow_id: "F".into(),
            run_number: ExposedId::Int(3),
            user_name: Some("u".into()),
            ts_epoch: 1,
            tags: Some(serde_json::json!([])),
            system_tags: None,
            last_heartbeat_ts: None,
            user: None,
            status: None,
        };
        assert_eq!(
            serde_json::to_string(&run).unwrap(),
            r#"{"flow_id":"F","run_number":3,"user_name":"u","ts_epoch":1,"tags":[],"system_tags":null,"last_heartbeat_ts":null}"#
        );
    }

    #[test]
    fn message_string_is_a_json_string() {
        assert_eq!(message_string_body("Invalid cursor"), r#""Invalid cursor""#);
    }
}

/// A borrowed view of an [`ExposedId`], for serialising without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ExposedIdRef<'a> {
    /// Server-assigned integer id.
    Int(i64),
    /// Client-chosen string id.
    Str(&'a str),
}

impl<'a> ExposedIdRef<'a> {
    /// The exposed id: `name` when present, else `number`.
    pub fn pick(name: Option<&'a str>, number: i64) -> Self {
        match name {
            Some(s) => ExposedIdRef::Str(s),
            None => ExposedIdRef::Int(number),
        }
    }
}

/// An [`Artifact`] that borrows its fields, so large listings serialise without copying every row
/// and its run's tags. Same keys, same order, same bytes.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactRef<'a> {
    pub flow_id: &'a str,
    /// Exposed run id.
    pub run_number: ExposedIdRef<'a>,
    pub step_name: &'a str,
    /// Exposed task id.
    pub task_id: ExposedIdRef<'a>,
    /// Artifact name.
    pub name: &'a str,
    /// Datastore location.
    pub location: &'a str,
    /// Datastore type.
    pub ds_type: &'a str,
    /// Content hash.
    pub sha: Option<&'a str>,
    /// Artifact type.
    #[serde(rename = "type")]
    pub type_: Option<&'a str>,
    /// Serialisation encoding.
    pub content_type: Option<&'a str>,
    /// Creator.
    pub user_name: Option<&'a str>,
    /// Attempt that wrote it.
    pub attempt_id: i64,
    /// Creation time, epoch milliseconds.
    pub ts_epoch: i64,
    /// The run's tags.
    pub tags: Option<&'a Value>,
    /// The run's system tags.
    pub system_tags: Option<&'a Value>,
}

#[cfg(test)]
mod ref_tests {
    use super::*;

    #[test]
    fn artifact_ref_serialises_like_artifact() {
        let tags = serde_json::json!(["a"]);
        let owned = Artifact {
            flow_id: "F".into(),
            run_number: ExposedId::Int(4),
            step_name: "s".into(),
            task_id: ExposedId::Str("pod-1".into()),
            name: "x".into(),
            location: "l".into(),
            ds_type: "local".into(),
            sha: Some("h".into()),
            type_: None,
            content_type: Some("c".into()),
            user_name: None,
            attempt_id: 2,
            ts_epoch: 9,
            tags: Some(tags.clone()),
            system_tags: None,
        };
        let borrowed = ArtifactRef {
            flow_id: "F",
            run_number: ExposedIdRef::pick(None, 4),
            step_name: "s",
            task_id: ExposedIdRef::pick(Some("pod-1"), 0),
            name: "x",
            location: "l",
            ds_type: "local",
            sha: Some("h"),
            type_: None,
            content_type: Some("c"),
            user_name: None,
            attempt_id: 2,
            ts_epoch: 9,
            tags: Some(&tags),
            system_tags: None,
        };
        assert_eq!(
            serde_json::to_string(&owned).unwrap(),
            serde_json::to_string(&borrowed).unwrap()
        );
    }
}
