//! What the run and task pages read besides the store's rows, looked up as the UI API does: the
//! `_parameters` task's artifacts (parameters and `_graph_info`), and a task's datastore place.

use mfstack_datastore::{ArtifactRef, Datastore, DatastoreRoot, TaskPath};
use mfstack_store::{RunKey, RunRow, TaskKey, TaskRow, TaskScope, UiArtifact, UiOrder, UiQuery};

use crate::WebState;
use crate::error::WebError;

pub async fn run(state: &WebState, flow: &str, run: &str) -> Result<RunRow, WebError> {
    state
        .store
        .get_run(flow, &RunKey::parse(run))
        .await?
        .ok_or(WebError::NotFound)
}

pub async fn task(
    state: &WebState,
    run: &RunRow,
    step: &str,
    task: &str,
) -> Result<TaskRow, WebError> {
    state
        .store
        .get_task(run, step, &TaskKey::parse(task))
        .await?
        .ok_or(WebError::NotFound)
}

pub fn artifact_ref(row: &UiArtifact) -> ArtifactRef {
    ArtifactRef {
        flow: row.flow_id.clone(),
        name: row.name.clone(),
        location: row.location.clone(),
        sha: row.sha.clone().unwrap_or_default(),
    }
}

/// The latest attempt's artifacts of the run's `_parameters` step.
async fn parameter_artifacts(state: &WebState, run: &RunRow) -> Result<Vec<ArtifactRef>, WebError> {
    let scope = TaskScope {
        step_name: Some("_parameters"),
        task_id: None,
    };
    let mut q = UiQuery::first(1000);
    q.order = vec![UiOrder {
        column: "attempt_id".into(),
        ascending: false,
    }];
    let rows = state.store.ui_artifacts(run, scope, &q).await?;
    let latest = rows.first().map(|r| (r.task_id, r.attempt_id));
    Ok(rows
        .iter()
        .filter(|r| Some((r.task_id, r.attempt_id)) == latest)
        .map(artifact_ref)
        .collect())
}

/// The run's parameters as `(name, value)`, and its `_graph_info` DAG when readable.
pub async fn parameters_and_dag(
    state: &WebState,
    datastore: &Datastore,
    run: &RunRow,
) -> Result<(Vec<(String, String)>, Option<serde_json::Value>), WebError> {
    let artifacts = parameter_artifacts(state, run).await?;
    let params = datastore
        .parameters(&artifacts)
        .await
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(s) => (name, s),
            other => (name, other.to_string()),
        })
        .collect();
    let dag = match artifacts.iter().find(|a| a.name == "_graph_info") {
        Some(graph) => datastore.dag(graph).await.ok(),
        None => None,
    };
    Ok((params, dag))
}

/// Where a task's logs and cards are, when its datastore root is known.
pub async fn place(
    state: &WebState,
    datastore: &Datastore,
    run: &RunRow,
    task: &TaskRow,
) -> Result<Option<(DatastoreRoot, TaskPath)>, WebError> {
    let found = state
        .store
        .ui_task_datastore(run, &task.step_name, task.task_id)
        .await?;
    let Some(root) = datastore.root_for(found.ds_type.as_deref(), found.ds_root.as_deref()) else {
        return Ok(None);
    };
    let path = TaskPath {
        flow: run.flow_id.clone(),
        run: run
            .run_id
            .clone()
            .unwrap_or_else(|| run.run_number.to_string()),
        step: task.step_name.clone(),
        task: task
            .task_name
            .clone()
            .unwrap_or_else(|| task.task_id.to_string()),
    };
    Ok(Some((root, path)))
}
