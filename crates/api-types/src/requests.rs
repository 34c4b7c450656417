//! Request bodies (spec sections 4 and 10.5). Keys the reference ignores (`flow_id`, `ts_epoch`, ids
//! that the path already gives) are not declared, so serde ignores them too. Tags must be lists of
//! strings (or null), which is all the client sends (spec 10.5); the reference stores any JSON there.

use serde::{Deserialize, Serialize};

use crate::metadata_value::MetadataValue;
use crate::tags::{TagArgument, TagList, present};

/// `POST /flows/{f}` (spec 4.2.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateFlow {
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags (the client sends none).
    #[serde(default)]
    pub tags: Option<TagList>,
    /// System tags.
    #[serde(default)]
    pub system_tags: Option<TagList>,
}

/// `POST /flows/{f}/run` (spec 4.3.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateRun {
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// User tags.
    #[serde(default)]
    pub tags: Option<TagList>,
    /// System tags; `metaflow_version:` decides whether the client heartbeats (spec 6.1).
    #[serde(default)]
    pub system_tags: Option<TagList>,
    /// Client-chosen run id, stored as `run_id`. Must not be all digits.
    #[serde(default)]
    pub run_number: Option<String>,
}

/// `POST /flows/{f}/runs/{r}/steps/{s}/step` (spec 4.4.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateStep {
    /// Creator; the reference stores `""` when absent.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags (never returned: reads graft the run's).
    #[serde(default)]
    pub tags: Option<TagList>,
    /// System tags (never returned either).
    #[serde(default)]
    pub system_tags: Option<TagList>,
}

/// `POST /flows/{f}/runs/{r}/steps/{s}/task` (spec 4.5.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateTask {
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags (never returned: reads graft the run's).
    #[serde(default)]
    pub tags: Option<TagList>,
    /// System tags; also decide heartbeat capability (spec 6.1).
    #[serde(default)]
    pub system_tags: Option<TagList>,
    /// Client-chosen task id, stored as `task_name`. Must not be all digits.
    #[serde(default)]
    pub task_id: Option<String>,
}

fn blank() -> Option<String> {
    Some(" ".to_owned())
}

/// One element of `POST …/tasks/{t}/artifact` (spec 4.6.1); missing text fields default to `" "`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewArtifact {
    /// Artifact name.
    #[serde(default = "blank")]
    pub name: Option<String>,
    /// Datastore location.
    #[serde(default = "blank")]
    pub location: Option<String>,
    /// Datastore type.
    #[serde(default = "blank")]
    pub ds_type: Option<String>,
    /// Content hash.
    #[serde(default = "blank")]
    pub sha: Option<String>,
    /// Artifact type.
    #[serde(rename = "type", default = "blank")]
    pub type_: Option<String>,
    /// Serialisation encoding.
    #[serde(default = "blank")]
    pub content_type: Option<String>,
    /// Attempt that wrote it.
    #[serde(default)]
    pub attempt_id: i64,
    /// Creator.
    #[serde(default = "blank")]
    pub user_name: Option<String>,
    /// Tags (never returned: reads graft the run's).
    #[serde(default)]
    pub tags: Option<TagList>,
    /// System tags (never returned either).
    #[serde(default)]
    pub system_tags: Option<TagList>,
}

/// One element of `POST …/tasks/{t}/metadata` (spec 4.7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMetadata {
    /// Field name.
    #[serde(default = "blank")]
    pub field_name: Option<String>,
    /// Value: any JSON, reduced to the text it is stored as.
    #[serde(default = "MetadataValue::blank")]
    pub value: MetadataValue,
    /// Field type.
    #[serde(rename = "type", default = "blank")]
    pub type_: Option<String>,
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags, e.g. `["attempt_id:0"]`.
    #[serde(default)]
    pub tags: Option<TagList>,
    /// System tags.
    #[serde(default)]
    pub system_tags: Option<TagList>,
}

/// `PATCH /flows/{f}/runs/{r}/tag/mutate` (spec 4.3.5). Wrong shapes are kept, not refused, because the
/// reference answers them with its own messages; an explicit `null` is a wrong shape, absence is not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagMutation {
    /// Tags to add; must be a list of strings.
    #[serde(default, deserialize_with = "present")]
    pub tags_to_add: Option<TagArgument>,
    /// Tags to remove; must be a list of strings.
    #[serde(default, deserialize_with = "present")]
    pub tags_to_remove: Option<TagArgument>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_defaults_are_single_spaces() {
        let a: NewArtifact = serde_json::from_str("{}").unwrap();
        assert_eq!(a.name.as_deref(), Some(" "));
        assert_eq!(a.type_.as_deref(), Some(" "));
        assert_eq!(a.attempt_id, 0);
        assert_eq!(a.tags, None);
    }

    #[test]
    fn ignored_keys_do_not_fail_a_body() {
        let r: CreateRun =
            serde_json::from_str(r#"{"flow_id":"F","ts_epoch":1,"user_name":"u","tags":[]}"#)
                .unwrap();
        assert_eq!(r.user_name.as_deref(), Some("u"));
        assert_eq!(r.run_number, None);
    }
}
