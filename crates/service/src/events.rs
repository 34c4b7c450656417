//! What the handlers announce after a successful write, for the UI API's realtime channel (spec
//! `ui-api.md` §9): in process through a broadcast channel, or to another process through
//! PostgreSQL `NOTIFY`. With no sink, or no one listening in process, a write costs nothing more.

use mfstack_store::{NewArtifactRow, NewMetadataRow, TaskRow};
use serde_json::Value;
use tokio::sync::broadcast;

pub use mfstack_store::{Change, ChangeNotifier};

/// Metadata fields the UI turns into events; listed first so they survive shortening.
const ATTEMPT_FIELDS: &[&str] = &["attempt", "attempt_ok", "attempt-done"];
/// Most names one change carries, and the longest name kept.
const MAX_NAMES: usize = 16;
const MAX_NAME_CHARS: usize = 64;

/// Where changes go.
#[derive(Debug, Clone)]
pub enum ChangeSink {
    /// A UI API in the same process subscribes to this channel.
    InProcess(broadcast::Sender<Change>),
    /// A UI API elsewhere listens on PostgreSQL.
    Notify(ChangeNotifier),
}

impl ChangeSink {
    /// Whether a change would reach anyone; building one is skipped otherwise.
    pub fn wanted(&self) -> bool {
        match self {
            ChangeSink::InProcess(tx) => tx.receiver_count() > 0,
            ChangeSink::Notify(_) => true,
        }
    }

    pub fn publish(&self, change: Change) {
        match self {
            ChangeSink::InProcess(tx) => {
                let _ = tx.send(change);
            }
            ChangeSink::Notify(notifier) => notifier.publish(change),
        }
    }
}

/// `attempt_id:N` among a row's tags.
fn tagged_attempt(tags: &[&Option<Value>]) -> Option<i64> {
    tags.iter()
        .filter_map(|t| t.as_ref()?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|t| t.strip_prefix("attempt_id:")?.parse().ok())
}

/// Distinct names, those in `first` ahead, at most [`MAX_NAMES`] of at most [`MAX_NAME_CHARS`].
fn names<'a>(all: impl Iterator<Item = &'a str> + Clone, first: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let preferred = all.clone().filter(|n| first.contains(n));
    for name in preferred.chain(all) {
        if out.len() == MAX_NAMES {
            break;
        }
        if name.len() <= MAX_NAME_CHARS && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// The change a metadata post made to `task`.
pub fn metadata_written(task: &TaskRow, rows: &[NewMetadataRow]) -> Change {
    let attempt_id = rows
        .iter()
        .find(|r| r.field_name == "attempt")
        .and_then(|r| r.value.trim().parse().ok())
        .or_else(|| {
            rows.iter()
                .filter(|r| ATTEMPT_FIELDS.contains(&r.field_name.as_str()))
                .find_map(|r| tagged_attempt(&[&r.system_tags, &r.tags]))
        });
    Change::MetadataWritten {
        flow_id: task.flow_id.clone(),
        run_number: task.run_number,
        step_name: task.step_name.clone(),
        task_id: task.task_id,
        fields: names(rows.iter().map(|r| r.field_name.as_str()), ATTEMPT_FIELDS),
        attempt_id,
    }
}

/// The change an artifact post made to `task`.
pub fn artifacts_written(task: &TaskRow, rows: &[NewArtifactRow]) -> Change {
    let task_ok = rows.iter().find(|r| r.name == "_task_ok");
    Change::ArtifactsWritten {
        flow_id: task.flow_id.clone(),
        run_number: task.run_number,
        step_name: task.step_name.clone(),
        task_id: task.task_id,
        names: names(rows.iter().map(|r| r.name.as_str()), &["_task_ok"]),
        attempt_id: task_ok.or(rows.first()).map(|r| r.attempt_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskRow {
        TaskRow {
            flow_id: "F".into(),
            run_number: 3,
            run_id: None,
            step_name: "end".into(),
            task_id: 7,
            task_name: None,
            user_name: None,
            ts_epoch: 0,
            last_heartbeat_ts: None,
        }
    }

    fn row(field: &str, value: &str, tags: Value) -> NewMetadataRow {
        NewMetadataRow {
            field_name: field.into(),
            value: value.into(),
            type_: field.into(),
            user_name: None,
            tags: None,
            system_tags: Some(tags),
        }
    }

    #[test]
    fn attempt_ids_come_from_the_attempt_value_or_the_tag() {
        let started = metadata_written(
            &task(),
            &[
                row("ds-type", "local", Value::Null),
                row("attempt", "2", Value::Null),
            ],
        );
        assert!(matches!(
            started,
            Change::MetadataWritten { attempt_id: Some(2), ref fields, .. } if fields[0] == "attempt"
        ));
        let ended = metadata_written(
            &task(),
            &[row(
                "attempt_ok",
                "True",
                serde_json::json!(["attempt_id:1"]),
            )],
        );
        assert!(matches!(
            ended,
            Change::MetadataWritten {
                attempt_id: Some(1),
                ..
            }
        ));
    }

    #[test]
    fn names_are_few_short_and_distinct() {
        let long = "x".repeat(100);
        let many: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        let all = many
            .iter()
            .map(String::as_str)
            .chain([long.as_str(), "n1", "_task_ok"]);
        let kept = names(all, &["_task_ok"]);
        assert_eq!(kept.len(), MAX_NAMES);
        assert_eq!(kept[0], "_task_ok");
        assert!(!kept.contains(&long));
    }
}
