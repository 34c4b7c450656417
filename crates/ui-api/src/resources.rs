//! Flows, runs, steps, artifacts, metadata and the autocompletes (§5): each handler parses the
//! grammar, asks the store, and wraps the rows in the envelope.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use mfstack_store::{Autocomplete, TaskScope, UiQuery};
use serde::Serialize;

use crate::UiState;
use crate::envelope::{self, Listing, Request};
use crate::error::UiError;
use crate::grammar::{self, Limits};
use crate::paths;

type Answer = Result<Response, UiError>;

pub fn router() -> Router<UiState> {
    let run = "/flows/{flow_id}/runs/{run_number}";
    Router::new()
        .route("/flows", get(flows))
        .route("/flows/autocomplete", get(flow_names))
        .route("/flows/{flow_id}", get(flow))
        .route("/tags", get(tags))
        .route("/tags/autocomplete", get(tags))
        .route("/runs", get(all_runs))
        .route("/flows/{flow_id}/runs", get(runs))
        .route("/flows/{flow_id}/runs/autocomplete", get(run_names))
        .route(run, get(run_one))
        .route(&format!("{run}/metadata"), get(run_metadata))
        .route(&format!("{run}/artifacts"), get(run_artifacts))
        .route(
            &format!("{run}/artifacts/autocomplete"),
            get(artifact_names),
        )
        .route(&format!("{run}/steps"), get(steps))
        .route(&format!("{run}/steps/autocomplete"), get(step_names))
        .route(&format!("{run}/steps/{{step_name}}"), get(step))
        .route(
            &format!("{run}/steps/{{step_name}}/artifacts"),
            get(step_artifacts),
        )
        .route(
            &format!("{run}/steps/{{step_name}}/tasks/{{task_id}}/metadata"),
            get(task_metadata),
        )
        .route(
            &format!("{run}/steps/{{step_name}}/tasks/{{task_id}}/artifacts"),
            get(task_artifacts),
        )
}

/// A page of rows in the envelope; a full page may have a successor.
pub fn listed<T: Serialize>(request: &Request, query: &UiQuery, rows: Vec<T>) -> Response {
    let full = rows.len() >= query.limit as usize;
    envelope::list(
        request,
        Listing {
            data: rows,
            page: u64::from(query.page),
            full,
            last: None,
        },
    )
}

fn list_query(request: &Request) -> Result<UiQuery, UiError> {
    grammar::query(request, Limits::LIST, &[])
}

async fn flows(State(state): State<UiState>, request: Request) -> Answer {
    let q = list_query(&request)?;
    Ok(listed(&request, &q, state.store.ui_flows(&q).await?))
}

async fn flow(
    State(state): State<UiState>,
    Path(flow_id): Path<String>,
    request: Request,
) -> Answer {
    let flow = state
        .store
        .ui_flow(&flow_id)
        .await?
        .ok_or(UiError::NotFound)?;
    Ok(envelope::single(&request, flow))
}

async fn names(state: &UiState, request: &Request, what: Autocomplete<'_>) -> Answer {
    let q = list_query(request)?;
    Ok(listed(
        request,
        &q,
        state.store.ui_autocomplete(what, &q).await?,
    ))
}

async fn flow_names(State(state): State<UiState>, request: Request) -> Answer {
    names(&state, &request, Autocomplete::Flows).await
}

async fn tags(State(state): State<UiState>, request: Request) -> Answer {
    names(&state, &request, Autocomplete::Tags).await
}

async fn run_names(
    State(state): State<UiState>,
    Path(flow_id): Path<String>,
    request: Request,
) -> Answer {
    names(&state, &request, Autocomplete::Runs(&flow_id)).await
}

async fn all_runs(State(state): State<UiState>, request: Request) -> Answer {
    let q = list_query(&request)?;
    Ok(listed(&request, &q, state.store.ui_runs(None, &q).await?))
}

async fn runs(
    State(state): State<UiState>,
    Path(flow_id): Path<String>,
    request: Request,
) -> Answer {
    let q = list_query(&request)?;
    Ok(listed(
        &request,
        &q,
        state.store.ui_runs(Some(&flow_id), &q).await?,
    ))
}

async fn run_one(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let row = state.store.ui_run(&run).await?.ok_or(UiError::NotFound)?;
    Ok(envelope::single(&request, row))
}

async fn run_metadata(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let q = list_query(&request)?;
    let rows = state
        .store
        .ui_metadata(&run, TaskScope::default(), &q)
        .await?;
    Ok(listed(&request, &q, rows))
}

async fn run_artifacts(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    crate::datastore::artifacts(&state, &request, &run, TaskScope::default()).await
}

async fn artifact_names(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    names(&state, &request, Autocomplete::Artifacts(&run)).await
}

async fn steps(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let q = list_query(&request)?;
    Ok(listed(
        &request,
        &q,
        state.store.ui_steps(&run, None, &q).await?,
    ))
}

async fn step_names(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    names(&state, &request, Autocomplete::Steps(&run)).await
}

async fn step(
    State(state): State<UiState>,
    Path((flow_id, run, step)): Path<(String, String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let rows = state
        .store
        .ui_steps(&run, Some(&step), &UiQuery::first(1))
        .await?;
    let row = rows.into_iter().next().ok_or(UiError::NotFound)?;
    Ok(envelope::single(&request, row))
}

async fn step_artifacts(
    State(state): State<UiState>,
    Path((flow_id, run, step)): Path<(String, String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let scope = TaskScope {
        step_name: Some(&step),
        task_id: None,
    };
    crate::datastore::artifacts(&state, &request, &run, scope).await
}

async fn task_metadata(
    State(state): State<UiState>,
    Path((flow_id, run, step, task)): Path<(String, String, String, String)>,
    request: Request,
) -> Answer {
    let (run, task) = paths::task(&state, &flow_id, &run, &step, &task).await?;
    let q = list_query(&request)?;
    let scope = TaskScope {
        step_name: Some(&step),
        task_id: Some(task.task_id),
    };
    Ok(listed(
        &request,
        &q,
        state.store.ui_metadata(&run, scope, &q).await?,
    ))
}

async fn task_artifacts(
    State(state): State<UiState>,
    Path((flow_id, run, step, task)): Path<(String, String, String, String)>,
    request: Request,
) -> Answer {
    let (run, task) = paths::task(&state, &flow_id, &run, &step, &task).await?;
    let scope = TaskScope {
        step_name: Some(&step),
        task_id: Some(task.task_id),
    };
    crate::datastore::artifacts(&state, &request, &run, scope).await
}
