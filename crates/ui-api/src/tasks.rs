//! Task attempts (§5, §6): run and step listings with one row per attempt, a task's latest
//! attempt, and all its attempts newest first. `postprocess=true` refines an `unknown` status from
//! the `_task_ok` artifact.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use mfstack_datastore::ArtifactRef;
use mfstack_store::{TaskScope, UiOrder, UiQuery, UiTask};

use crate::UiState;
use crate::envelope::{self, Request};
use crate::error::UiError;
use crate::grammar::{self, Limits};
use crate::paths;
use crate::resources::listed;

type Answer = Result<Response, UiError>;

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
    let mut rows = state.store.ui_tasks(&run, scope, &q).await?;
    if grammar::flag(request, "postprocess") {
        refine(state, &mut rows).await;
    }
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
) -> Result<Vec<UiTask>, UiError> {
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
    let mut rows = state.store.ui_tasks(&run, scope, &q).await?;
    if grammar::flag(request, "postprocess") {
        refine(state, &mut rows).await;
    }
    Ok(rows)
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
