//! Task attempts (§5, §6): run and step listings with one row per attempt, a task's latest
//! attempt, and all its attempts newest first. `postprocess=true` refines an `unknown` status from
//! the `_task_ok` artifact and labels tasks inside a foreach from their `_foreach_stack` artifact.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use mfstack_datastore::{ArtifactRef, Datastore};
use mfstack_store::{FilterOp, RunRow, TaskScope, UiFilter, UiOp, UiOrder, UiQuery, UiTask};
use serde::Serialize;

use crate::UiState;
use crate::datastore::artifact_ref;
use crate::envelope::{self, Request};
use crate::error::UiError;
use crate::grammar::{self, Limits};
use crate::paths;
use crate::resources::listed;

type Answer = Result<Response, UiError>;

/// A task attempt as listed: its row and, with `postprocess=true`, its foreach label.
#[derive(Serialize)]
struct TaskAttempt {
    #[serde(flatten)]
    row: UiTask,
    /// `<task_id>[<index>]` with the innermost foreach's index, as Metaflow's `Task.index` (§6).
    #[serde(skip_serializing_if = "Option::is_none")]
    foreach_label: Option<String>,
}

/// Tasks looked up by one `_foreach_stack` query: few enough that all their attempts fit its page.
const TASKS_PER_QUERY: usize = 100;

pub fn router() -> Router<UiState> {
    let run = "/flows/{flow_id}/runs/{run_number}";
    let task = format!("{run}/steps/{{step_name}}/tasks/{{task_id}}");
    Router::new()
        .route(&format!("{run}/tasks"), get(run_tasks))
        .route(&format!("{run}/steps/{{step_name}}/tasks"), get(step_tasks))
        .route(&task, get(latest_attempt))
        .route(&format!("{task}/attempts"), get(attempts))
}

async fn list(
    state: &UiState,
    request: &Request,
    run: &str,
    flow: &str,
    scope: TaskScope<'_>,
) -> Answer {
    let run = paths::run(state, flow, run).await?;
    let q = grammar::query(request, Limits::LIST, &[])?;
    let rows = state.store.ui_tasks(&run, scope, &q).await?;
    let rows = postprocess(state, request, &run, rows).await?;
    Ok(listed(request, &q, rows))
}

async fn run_tasks(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    list(&state, &request, &run, &flow_id, TaskScope::default()).await
}

async fn step_tasks(
    State(state): State<UiState>,
    Path((flow_id, run, step)): Path<(String, String, String)>,
    request: Request,
) -> Answer {
    let scope = TaskScope {
        step_name: Some(&step),
        task_id: None,
    };
    list(&state, &request, &run, &flow_id, scope).await
}

/// Every attempt of one task, newest first.
async fn task_attempts(
    state: &UiState,
    path: &(String, String, String, String),
    request: &Request,
    limit: u32,
) -> Result<Vec<TaskAttempt>, UiError> {
    let (flow_id, run, step, task) = path;
    let (run, task) = paths::task(state, flow_id, run, step, task).await?;
    let scope = TaskScope {
        step_name: Some(step),
        task_id: Some(task.task_id),
    };
    let mut q = UiQuery::first(limit);
    q.order = vec![UiOrder {
        column: "attempt_id".into(),
        ascending: false,
    }];
    let rows = state.store.ui_tasks(&run, scope, &q).await?;
    postprocess(state, request, &run, rows).await
}

async fn latest_attempt(
    State(state): State<UiState>,
    Path(path): Path<(String, String, String, String)>,
    request: Request,
) -> Answer {
    let rows = task_attempts(&state, &path, &request, 1).await?;
    let row = rows.into_iter().next().ok_or(UiError::NotFound)?;
    Ok(envelope::single(&request, row))
}

async fn attempts(
    State(state): State<UiState>,
    Path(path): Path<(String, String, String, String)>,
    request: Request,
) -> Answer {
    let q = grammar::query(&request, Limits::LIST, &[])?;
    let rows = task_attempts(&state, &path, &request, grammar::MAX_LIMIT).await?;
    Ok(listed(
        &request,
        &UiQuery {
            limit: grammar::MAX_LIMIT,
            ..q
        },
        rows,
    ))
}

/// The rows as listed; with `postprocess=true`, refined and labelled from their artifacts.
async fn postprocess(
    state: &UiState,
    request: &Request,
    run: &RunRow,
    mut rows: Vec<UiTask>,
) -> Result<Vec<TaskAttempt>, UiError> {
    let mut indices = HashMap::new();
    if grammar::flag(request, "postprocess") {
        refine(state, &mut rows).await;
        if let Some(datastore) = &state.datastore {
            indices = foreach_indices(state, datastore, run, &rows).await?;
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let foreach_label = indices
                .get(&attempt_key(&row))
                .map(|index| format!("{}[{index}]", row.task_id));
            TaskAttempt { row, foreach_label }
        })
        .collect())
}

/// Step name, task id and attempt id.
type AttemptKey = (String, i64, i64);

fn attempt_key(row: &UiTask) -> AttemptKey {
    (row.step_name.clone(), row.task_id, row.attempt_id)
}

/// The innermost foreach index of each listed attempt that runs inside a foreach, from the
/// attempt's `_foreach_stack` artifact (upstream joins it by attempt too).
async fn foreach_indices(
    state: &UiState,
    datastore: &Datastore,
    run: &RunRow,
    rows: &[UiTask],
) -> Result<HashMap<AttemptKey, i64>, UiError> {
    let wanted: HashSet<AttemptKey> = rows.iter().map(attempt_key).collect();
    let mut tasks_by_step: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for row in rows {
        tasks_by_step
            .entry(&row.step_name)
            .or_default()
            .insert(row.task_id);
    }
    let mut indices = HashMap::new();
    for (step, tasks) in tasks_by_step {
        let tasks: Vec<String> = tasks.iter().map(i64::to_string).collect();
        for chunk in tasks.chunks(TASKS_PER_QUERY) {
            let mut q = UiQuery::first(grammar::MAX_LIMIT).with_eq("name", "_foreach_stack");
            q.filters.push(UiFilter {
                field: "task_id".into(),
                op: UiOp::Op(FilterOp::Eq),
                values: chunk.to_vec(),
            });
            let scope = TaskScope {
                step_name: Some(step),
                task_id: None,
            };
            for artifact in state.store.ui_artifacts(run, scope, &q).await? {
                let key = (
                    artifact.step_name.clone(),
                    artifact.task_id,
                    artifact.attempt_id,
                );
                if !wanted.contains(&key) {
                    continue;
                }
                if let Some(index) = datastore.foreach_index(&artifact_ref(&artifact)).await {
                    indices.insert(key, index);
                }
            }
        }
    }
    Ok(indices)
}

/// `unknown` attempts become `completed` or `failed` from their `_task_ok` artifact's value.
async fn refine(state: &UiState, rows: &mut [UiTask]) {
    let Some(datastore) = &state.datastore else {
        return;
    };
    for row in rows.iter_mut().filter(|r| r.status == "unknown") {
        let Some(location) = row.task_ok.clone() else {
            continue;
        };
        let artifact = ArtifactRef {
            flow: row.flow_id.clone(),
            name: "_task_ok".into(),
            location,
            sha: row.task_ok_sha.clone().unwrap_or_default(),
        };
        match datastore.artifact_content(&artifact).await.as_deref() {
            Ok("True") => row.status = "completed".into(),
            Ok("False") => row.status = "failed".into(),
            _ => {}
        }
    }
}
