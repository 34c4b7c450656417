//! Rows as stored (spec section 8), the keys that address them, and their wire form.

use mfstack_api_types as api;
use serde_json::Value;
use sqlx::types::Json;

/// A `{run_number}` path segment: digits address the integer column, anything else the string id
/// (spec 2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKey {
    /// Server-assigned run number.
    Number(i64),
    /// Client-chosen run id.
    Id(String),
}

impl RunKey {
    /// Read a path segment. Digit strings too large for an integer can name no run, so they are kept as
    /// string ids, which are never all digits, and find nothing.
    pub fn parse(segment: &str) -> Self {
        match parse_number(segment) {
            Some(n) => RunKey::Number(n),
            None => RunKey::Id(segment.to_owned()),
        }
    }
}

/// A `{task_id}` path segment, read like [`RunKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKey {
    /// Server-assigned task id.
    Number(i64),
    /// Client-chosen task name.
    Name(String),
}

impl TaskKey {
    /// Read a path segment.
    pub fn parse(segment: &str) -> Self {
        match parse_number(segment) {
            Some(n) => TaskKey::Number(n),
            None => TaskKey::Name(segment.to_owned()),
        }
    }
}

/// True when a client-chosen id would collide with the integer id space (spec 4.3.1, 4.5.1).
pub fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_number(s: &str) -> Option<i64> {
    if is_numeric_id(s) {
        s.parse().ok()
    } else {
        None
    }
}

fn json(v: Option<Json<Value>>) -> Option<Value> {
    v.map(|Json(v)| v)
}

/// A row of `flows_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlowRow {
    /// Flow name.
    pub flow_id: String,
    /// Creator.
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Tags.
    pub tags: Option<Json<Value>>,
    /// System tags.
    pub system_tags: Option<Json<Value>>,
}

impl FlowRow {
    /// Wire form (spec 3.1).
    pub fn into_wire(self) -> api::Flow {
        api::Flow {
            flow_id: self.flow_id,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: json(self.tags),
            system_tags: json(self.system_tags),
        }
    }
}

/// A row of `runs_v3`, plus the derived status when a listing asked for it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    /// Flow name.
    pub flow_id: String,
    /// Server-assigned number.
    pub run_number: i64,
    /// Client-chosen id.
    pub run_id: Option<String>,
    /// Creator.
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// User tags.
    pub tags: Option<Json<Value>>,
    /// System tags.
    pub system_tags: Option<Json<Value>>,
    /// Epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
    /// Derived status (spec 6.3), only selected by a status-filtered listing.
    #[sqlx(default)]
    pub status: Option<String>,
}

impl RunRow {
    /// The id clients see.
    pub fn exposed_id(&self) -> api::ExposedId {
        api::ExposedId::pick(self.run_id.as_deref(), self.run_number)
    }

    /// `user_name` when the system tags hold `user:<user_name>` (spec 3.2).
    pub fn verified_user(&self) -> Option<String> {
        let name = self.user_name.as_deref()?;
        let Json(Value::Array(tags)) = self.system_tags.as_ref()? else {
            return None;
        };
        let wanted = format!("user:{name}");
        tags.iter()
            .any(|t| t.as_str() == Some(wanted.as_str()))
            .then(|| name.to_owned())
    }

    /// Wire form; `with_user` is false only for the create response (spec 4.3.1).
    pub fn into_wire(self, with_user: bool) -> api::Run {
        let user = if with_user {
            self.verified_user()
        } else {
            None
        };
        api::Run {
            run_number: self.exposed_id(),
            flow_id: self.flow_id,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: json(self.tags),
            system_tags: json(self.system_tags),
            last_heartbeat_ts: self.last_heartbeat_ts,
            user,
            status: self.status,
        }
    }

    /// The run's tags, which steps, tasks and artifacts show as their own (spec 2.7).
    pub fn graft(&self) -> RunTags {
        RunTags {
            tags: json(self.tags.clone()),
            system_tags: json(self.system_tags.clone()),
        }
    }
}

/// A run's tags, copied onto its children's wire form (spec 2.7, run-tag grafting).
#[derive(Debug, Clone)]
pub struct RunTags {
    /// User tags.
    pub tags: Option<Value>,
    /// System tags.
    pub system_tags: Option<Value>,
}

/// A row of `steps_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    /// Flow name.
    pub flow_id: String,
    /// Parent run number.
    pub run_number: i64,
    /// Parent run id, or the run number as text for integer-only runs (spec 2.5, steps quirk).
    pub run_id: Option<String>,
    /// Step name.
    pub step_name: String,
    /// Creator.
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

/// A row of `tasks_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    /// Flow name.
    pub flow_id: String,
    /// Parent run number.
    pub run_number: i64,
    /// Parent run id.
    pub run_id: Option<String>,
    /// Step name.
    pub step_name: String,
    /// Server-assigned id.
    pub task_id: i64,
    /// Client-chosen id.
    pub task_name: Option<String>,
    /// Creator.
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
}

impl TaskRow {
    /// The exposed task id.
    pub fn exposed_id(&self) -> api::ExposedId {
        api::ExposedId::pick(self.task_name.as_deref(), self.task_id)
    }

    /// Wire form with the run's tags.
    pub fn into_wire(self, run: &RunTags) -> api::Task {
        api::Task {
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            task_id: self.exposed_id(),
            flow_id: self.flow_id,
            step_name: self.step_name,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: run.tags.clone(),
            system_tags: run.system_tags.clone(),
            last_heartbeat_ts: self.last_heartbeat_ts,
        }
    }
}

/// A row of `artifact_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactRow {
    /// Flow name.
    pub flow_id: String,
    /// Parent run number.
    pub run_number: i64,
    /// Parent run id.
    pub run_id: Option<String>,
    /// Step name.
    pub step_name: String,
    /// Parent task id.
    pub task_id: i64,
    /// Parent task name.
    pub task_name: Option<String>,
    /// Artifact name.
    pub name: String,
    /// Datastore location.
    pub location: String,
    /// Datastore type.
    pub ds_type: String,
    /// Content hash.
    pub sha: Option<String>,
    /// Artifact type.
    #[sqlx(rename = "type")]
    pub type_: Option<String>,
    /// Serialisation encoding.
    pub content_type: Option<String>,
    /// Creator.
    pub user_name: Option<String>,
    /// Attempt.
    pub attempt_id: i64,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
}

impl ArtifactRow {
    /// Borrowed wire form with the run's tags, for listings.
    pub fn as_wire<'a>(&'a self, run: &'a RunTags) -> api::ArtifactRef<'a> {
        api::ArtifactRef {
            flow_id: &self.flow_id,
            run_number: api::ExposedIdRef::pick(self.run_id.as_deref(), self.run_number),
            step_name: &self.step_name,
            task_id: api::ExposedIdRef::pick(self.task_name.as_deref(), self.task_id),
            name: &self.name,
            location: &self.location,
            ds_type: &self.ds_type,
            sha: self.sha.as_deref(),
            type_: self.type_.as_deref(),
            content_type: self.content_type.as_deref(),
            user_name: self.user_name.as_deref(),
            attempt_id: self.attempt_id,
            ts_epoch: self.ts_epoch,
            tags: run.tags.as_ref(),
            system_tags: run.system_tags.as_ref(),
        }
    }

    /// Wire form with the run's tags.
    pub fn into_wire(self, run: &RunTags) -> api::Artifact {
        api::Artifact {
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            task_id: api::ExposedId::pick(self.task_name.as_deref(), self.task_id),
            flow_id: self.flow_id,
            step_name: self.step_name,
            name: self.name,
            location: self.location,
            ds_type: self.ds_type,
            sha: self.sha,
            type_: self.type_,
            content_type: self.content_type,
            user_name: self.user_name,
            attempt_id: self.attempt_id,
            ts_epoch: self.ts_epoch,
            tags: run.tags.clone(),
            system_tags: run.system_tags.clone(),
        }
    }
}

/// A row of `metadata_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MetadataRow {
    /// Row id.
    pub id: i64,
    /// Flow name.
    pub flow_id: String,
    /// Parent run number.
    pub run_number: i64,
    /// Parent run id.
    pub run_id: Option<String>,
    /// Step name.
    pub step_name: String,
    /// Parent task id.
    pub task_id: i64,
    /// Parent task name.
    pub task_name: Option<String>,
    /// Field name.
    pub field_name: String,
    /// Value text.
    pub value: String,
    /// Field type.
    #[sqlx(rename = "type")]
    pub type_: String,
    /// Creator.
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Own tags (not grafted).
    pub tags: Option<Json<Value>>,
    /// Own system tags.
    pub system_tags: Option<Json<Value>>,
}

impl MetadataRow {
    /// Wire form (spec 3.6).
    pub fn into_wire(self) -> api::Metadata {
        api::Metadata {
            id: self.id,
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            task_id: api::ExposedId::pick(self.task_name.as_deref(), self.task_id),
            flow_id: self.flow_id,
            step_name: self.step_name,
            field_name: self.field_name,
            value: self.value,
            type_: self.type_,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: json(self.tags),
            system_tags: json(self.system_tags),
        }
    }
}

/// A run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Flow name.
    pub flow_id: String,
    /// Client-chosen id.
    pub run_id: Option<String>,
    /// Creator.
    pub user_name: Option<String>,
    /// Tags.
    pub tags: Option<Value>,
    /// System tags.
    pub system_tags: Option<Value>,
    /// Whether the client heartbeats, so the row starts alive (spec 6.1).
    pub heartbeat: bool,
}

/// A step to insert under a resolved run.
#[derive(Debug, Clone)]
pub struct NewStep {
    /// Step name.
    pub step_name: String,
    /// Creator.
    pub user_name: Option<String>,
    /// Tags.
    pub tags: Option<Value>,
    /// System tags.
    pub system_tags: Option<Value>,
}

/// A task to insert under a resolved run.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Step name.
    pub step_name: String,
    /// Client-chosen id.
    pub task_name: Option<String>,
    /// Creator.
    pub user_name: Option<String>,
    /// Tags.
    pub tags: Option<Value>,
    /// System tags.
    pub system_tags: Option<Value>,
    /// Whether the client heartbeats (spec 6.1).
    pub heartbeat: bool,
}

/// An artifact to insert under a resolved task.
#[derive(Debug, Clone)]
pub struct NewArtifactRow {
    /// Name.
    pub name: String,
    /// Location.
    pub location: String,
    /// Datastore type.
    pub ds_type: String,
    /// Hash.
    pub sha: Option<String>,
    /// Type.
    pub type_: Option<String>,
    /// Encoding.
    pub content_type: Option<String>,
    /// Attempt.
    pub attempt_id: i64,
    /// Creator.
    pub user_name: Option<String>,
    /// Tags.
    pub tags: Option<Value>,
    /// System tags.
    pub system_tags: Option<Value>,
}

/// A metadata row to insert under a resolved task.
#[derive(Debug, Clone)]
pub struct NewMetadataRow {
    /// Field name.
    pub field_name: String,
    /// Value text.
    pub value: String,
    /// Type.
    pub type_: String,
    /// Creator.
    pub user_name: Option<String>,
    /// Tags.
    pub tags: Option<Value>,
    /// System tags.
    pub system_tags: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_pick_the_id_column() {
        assert_eq!(RunKey::parse("12"), RunKey::Number(12));
        assert_eq!(RunKey::parse("sfn-12"), RunKey::Id("sfn-12".into()));
        assert_eq!(RunKey::parse("-1"), RunKey::Id("-1".into()));
        assert_eq!(RunKey::parse("²"), RunKey::Id("²".into()));
        assert_eq!(
            RunKey::parse("99999999999999999999999"),
            RunKey::Id("99999999999999999999999".into())
        );
        assert_eq!(TaskKey::parse("7"), TaskKey::Number(7));
        assert!(is_numeric_id("123") && !is_numeric_id("") && !is_numeric_id("1a"));
    }

    #[test]
    fn verified_user_needs_the_exact_system_tag() {
        let mut run = RunRow {
            flow_id: "F".into(),
            run_number: 1,
            run_id: None,
            user_name: Some("ana".into()),
            ts_epoch: 0,
            tags: None,
            system_tags: Some(Json(serde_json::json!(["user:ana", "runtime:dev"]))),
            last_heartbeat_ts: None,
            status: None,
        };
        assert_eq!(run.verified_user().as_deref(), Some("ana"));
        run.system_tags = Some(Json(serde_json::json!(["user:bob"])));
        assert_eq!(run.verified_user(), None);
    }
}
