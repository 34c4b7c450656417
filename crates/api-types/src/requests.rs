//! Request bodies (spec sections 4 and 10.5). Keys the reference ignores (`flow_id`, `ts_epoch`, ids
//! that the path already gives) are not declared, so serde ignores them too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /flows/{f}` (spec 4.2.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateFlow {
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags, any JSON.
    #[serde(default)]
    pub tags: Option<Value>,
    /// System tags, any JSON.
    #[serde(default)]
    pub system_tags: Option<Value>,
}

/// `POST /flows/{f}/run` (spec 4.3.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateRun {
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// User tags.
    #[serde(default)]
    pub tags: Option<Value>,
    /// System tags; `metaflow_version:` decides whether the client heartbeats (spec 6.1).
    #[serde(default)]
    pub system_tags: Option<Value>,
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
    pub tags: Option<Value>,
    /// System tags (never returned either).
    #[serde(default)]
    pub system_tags: Option<Value>,
}

/// `POST /flows/{f}/runs/{r}/steps/{s}/task` (spec 4.5.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateTask {
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags (never returned: reads graft the run's).
    #[serde(default)]
    pub tags: Option<Value>,
    /// System tags; also decide heartbeat capability (spec 6.1).
    #[serde(default)]
    pub system_tags: Option<Value>,
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
    pub tags: Option<Value>,
    /// System tags (never returned either).
    #[serde(default)]
    pub system_tags: Option<Value>,
}

/// One element of `POST …/tasks/{t}/metadata` (spec 4.7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMetadata {
    /// Field name.
    #[serde(default = "blank")]
    pub field_name: Option<String>,
    /// Value: any JSON; see [`metadata_value_text`] for how it is stored.
    #[serde(default = "blank_value")]
    pub value: Value,
    /// Field type.
    #[serde(rename = "type", default = "blank")]
    pub type_: Option<String>,
    /// Creator.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Tags, e.g. `["attempt_id:0"]`.
    #[serde(default)]
    pub tags: Option<Value>,
    /// System tags.
    #[serde(default)]
    pub system_tags: Option<Value>,
}

fn blank_value() -> Value {
    Value::String(" ".to_owned())
}

/// `PATCH /flows/{f}/runs/{r}/tag/mutate` (spec 4.3.5). Kept as raw JSON because the reference answers
/// wrong types with its own messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagMutation {
    /// Tags to add; must be a list of strings.
    #[serde(default)]
    pub tags_to_add: Option<Value>,
    /// Tags to remove; must be a list of strings.
    #[serde(default)]
    pub tags_to_remove: Option<Value>,
}

/// The text a metadata value is stored as, or `None` when the reference's database driver would reject
/// it and the element is skipped (spec 4.7.1): strings verbatim, numbers and booleans as their text,
/// arrays as a PostgreSQL array literal (the client sends `foreach-stack` that way), objects and null
/// skipped.
pub fn metadata_value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => array_literal(items),
        Value::Null | Value::Object(_) => None,
    }
}

fn array_literal(items: &[Value]) -> Option<String> {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Value::String(s) => push_array_element(&mut out, s),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::Bool(b) => out.push_str(if *b { "t" } else { "f" }),
            Value::Null => out.push_str("NULL"),
            Value::Array(inner) => out.push_str(&array_literal(inner)?),
            Value::Object(_) => return None,
        }
    }
    out.push('}');
    Some(out)
}

/// PostgreSQL quotes an array element when it is empty, spells NULL, or holds a delimiter, brace,
/// quote, backslash or white space.
fn push_array_element(out: &mut String, s: &str) {
    let needs_quotes = s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if !needs_quotes {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_values_are_stored_as_postgres_would() {
        assert_eq!(metadata_value_text(&json!("x y")).as_deref(), Some("x y"));
        assert_eq!(metadata_value_text(&json!(5)).as_deref(), Some("5"));
        assert_eq!(metadata_value_text(&json!(1.5)).as_deref(), Some("1.5"));
        assert_eq!(metadata_value_text(&json!(true)).as_deref(), Some("true"));
        // spec 4.7.1's example.
        assert_eq!(
            metadata_value_text(&json!(["i=0", "j=a b"])).as_deref(),
            Some(r#"{i=0,"j=a b"}"#)
        );
        assert_eq!(
            metadata_value_text(&json!(["", "NULL", "a\"b", "c\\d", "{x}"])).as_deref(),
            Some(r#"{"","NULL","a\"b","c\\d","{x}"}"#)
        );
        assert_eq!(metadata_value_text(&json!({"a": 1})), None);
        assert_eq!(metadata_value_text(&Value::Null), None);
    }

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
