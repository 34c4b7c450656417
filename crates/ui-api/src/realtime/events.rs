//! Changes become resource events: each re-reads its row through the store's UI queries, so an
//! event's `data` is the row exactly as the matching GET returns it.

use std::time::{SystemTime, UNIX_EPOCH};

use mfstack_store::{Change, RunKey, RunRow, Store, TaskScope, UiOrder, UiQuery, UiTask};
use serde::Serialize;
use serde_json::Value;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
        }
    }
}

/// One row event, with every resource path it belongs to.
#[derive(Debug)]
pub struct Event {
    pub op: Op,
    pub resources: Vec<String>,
    pub data: Value,
    /// The row as JSON text, written once for every subscriber.
    pub data_text: String,
    /// Epoch milliseconds when it was made.
    pub at_ms: i64,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Event {
    fn new(op: Op, resources: Vec<String>, row: &impl Serialize) -> Option<Self> {
        let data = serde_json::to_value(row).ok()?;
        Some(Event {
            op,
            resources,
            data_text: data.to_string(),
            data,
            at_ms: now_ms(),
        })
    }
}

/// A run's path segments: its number, and its id when it has one.
fn run_segments(flow_id: &str, run_number: i64, run_id: Option<&str>) -> Vec<String> {
    let mut runs = vec![format!("/flows/{flow_id}/runs/{run_number}")];
    runs.extend(run_id.map(|id| format!("/flows/{flow_id}/runs/{id}")));
    runs
}

pub fn run_resources(row: &mfstack_store::UiRun) -> Vec<String> {
    let mut out = vec!["/runs".to_owned(), format!("/flows/{}/runs", row.flow_id)];
    out.extend(run_segments(
        &row.flow_id,
        row.run_number,
        row.run_id.as_deref(),
    ));
    out
}

fn step_resources(row: &mfstack_store::UiStep) -> Vec<String> {
    run_segments(&row.flow_id, row.run_number, row.run_id.as_deref())
        .into_iter()
        .flat_map(|run| {
            [
                format!("{run}/steps"),
                format!("{run}/steps/{}", row.step_name),
            ]
        })
        .collect()
}

pub fn task_resources(row: &UiTask) -> Vec<String> {
    let mut out = Vec::new();
    for run in run_segments(&row.flow_id, row.run_number, row.run_id.as_deref()) {
        let step = format!("{run}/steps/{}", row.step_name);
        out.push(format!("{run}/tasks"));
        out.push(format!("{step}/tasks"));
        let ids = std::iter::once(row.task_id.to_string()).chain(row.task_name.clone());
        for id in ids {
            out.push(format!("{step}/tasks/{id}"));
            out.push(format!("{step}/tasks/{id}/attempts"));
        }
    }
    out
}

pub async fn run_row(store: &dyn Store, flow_id: &str, run_number: i64) -> Option<RunRow> {
    store
        .get_run(flow_id, &RunKey::Number(run_number))
        .await
        .ok()
        .flatten()
}

pub async fn run_event(store: &dyn Store, run: &RunRow, op: Op) -> Option<Event> {
    let row = store.ui_run(run).await.ok()??;
    Event::new(op, run_resources(&row), &row)
}

/// One attempt of a task, or its latest when `attempt_id` is `None`.
pub async fn task_attempt(
    store: &dyn Store,
    run: &RunRow,
    step_name: &str,
    task_id: i64,
    attempt_id: Option<i64>,
) -> Option<UiTask> {
    let scope = TaskScope {
        step_name: Some(step_name),
        task_id: Some(task_id),
    };
    let mut query = UiQuery::first(1);
    query.order = vec![UiOrder {
        column: "attempt_id".into(),
        ascending: false,
    }];
    if let Some(n) = attempt_id {
        query = query.with_eq("attempt_id", &n.to_string());
    }
    let rows = store.ui_tasks(run, scope, &query).await.ok()?;
    rows.into_iter().next()
}

pub fn task_event(row: &UiTask, op: Op) -> Option<Event> {
    Event::new(op, task_resources(row), row)
}

/// The run a change belongs to.
fn run_of(change: &Change) -> (&str, i64) {
    match change {
        Change::RunCreated {
            flow_id,
            run_number,
        }
        | Change::StepCreated {
            flow_id,
            run_number,
            ..
        }
        | Change::TaskCreated {
            flow_id,
            run_number,
            ..
        }
        | Change::MetadataWritten {
            flow_id,
            run_number,
            ..
        }
        | Change::ArtifactsWritten {
            flow_id,
            run_number,
            ..
        } => (flow_id, *run_number),
    }
}

/// The events one change makes (§9): new runs, steps and tasks; a new attempt; a finished task,
/// and a finished run when its `end` task finishes.
pub async fn resolve(store: &dyn Store, change: &Change) -> Vec<Event> {
    let mut events = Vec::new();
    let (flow_id, run_number) = run_of(change);
    let Some(run) = run_row(store, flow_id, run_number).await else {
        return events;
    };
    match change {
        Change::RunCreated { .. } => events.extend(run_event(store, &run, Op::Insert).await),
        Change::StepCreated { step_name, .. } => {
            let query = UiQuery::first(1);
            if let Ok(rows) = store.ui_steps(&run, Some(step_name), &query).await {
                let row = rows.into_iter().next();
                events.extend(row.and_then(|r| Event::new(Op::Insert, step_resources(&r), &r)));
            }
        }
        Change::TaskCreated {
            step_name, task_id, ..
        } => {
            let row = task_attempt(store, &run, step_name, *task_id, None).await;
            events.extend(row.and_then(|r| task_event(&r, Op::Insert)));
        }
        Change::MetadataWritten {
            step_name,
            task_id,
            fields,
            attempt_id,
            ..
        } => {
            let has = |f: &str| fields.iter().any(|n| n == f);
            if has("attempt") {
                let row = task_attempt(store, &run, step_name, *task_id, *attempt_id).await;
                let op = if attempt_id.unwrap_or(0) > 0 {
                    Op::Insert
                } else {
                    Op::Update
                };
                events.extend(row.and_then(|r| task_event(&r, op)));
            }
            if has("attempt_ok") {
                finished(store, &run, step_name, *task_id, *attempt_id, &mut events).await;
            }
        }
        Change::ArtifactsWritten {
            step_name,
            task_id,
            names,
            attempt_id,
            ..
        } => {
            if names.iter().any(|n| n == "_task_ok") {
                finished(store, &run, step_name, *task_id, *attempt_id, &mut events).await;
            }
        }
    }
    events
}

/// A task attempt finished: the attempt's UPDATE, and the run's when it is the `end` step.
async fn finished(
    store: &dyn Store,
    run: &RunRow,
    step_name: &str,
    task_id: i64,
    attempt_id: Option<i64>,
    events: &mut Vec<Event>,
) {
    let row = task_attempt(store, run, step_name, task_id, attempt_id).await;
    events.extend(row.and_then(|r| task_event(&r, Op::Update)));
    if step_name == "end" {
        events.extend(run_event(store, run, Op::Update).await);
    }
}
