//! Routes that read the Metaflow datastore (§7): artifact content, parameters, the DAG, logs and
//! cards. Locations come from the rows and the task's `ds-type`/`ds-root` metadata.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfstack_datastore::{
    ArtifactError, ArtifactRef, Datastore, DatastoreError, DatastoreRoot, LogOrder, LogPageRequest,
    LogStream, TaskPath,
};
use mfstack_store::{RunRow, TaskRow, TaskScope, UiArtifact, UiOrder, UiQuery};
use serde::Serialize;

use crate::UiState;
use crate::envelope::{self, Listing, Request};
use crate::error::UiError;
use crate::grammar::{self, Limits};
use crate::paths;
use crate::resources::listed;

type Answer = Result<Response, UiError>;
type TaskPathParams = Path<(String, String, String, String)>;

/// Logs and cards page by up to 10,000 rows (§4).
const LOG_LIMITS: Limits = Limits {
    default: 1000,
    max: 10_000,
};

pub fn router() -> Router<UiState> {
    let run = "/flows/{flow_id}/runs/{run_number}";
    let task = format!("{run}/steps/{{step_name}}/tasks/{{task_id}}");
    Router::new()
        .route(&format!("{run}/parameters"), get(parameters))
        .route(&format!("{run}/dag"), get(dag))
        .route(&format!("{task}/logs/out"), get(logs_out))
        .route(&format!("{task}/logs/err"), get(logs_err))
        .route(&format!("{task}/logs/out/download"), get(download_out))
        .route(&format!("{task}/logs/err/download"), get(download_err))
        .route(&format!("{task}/cards"), get(cards))
        .route(&format!("{task}/cards/{{hash}}"), get(card_html))
        .route(&format!("{task}/cards/{{hash}}/data"), get(card_data))
}

fn datastore(state: &UiState) -> Result<&Datastore, UiError> {
    state.datastore.as_ref().ok_or(UiError::NoDatastore)
}

fn failed(id: &'static str, err: DatastoreError) -> UiError {
    let status = match err {
        DatastoreError::NotFound(_) => StatusCode::NOT_FOUND,
        DatastoreError::InvalidLocation(_) | DatastoreError::TooLarge { .. } => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    UiError::Datastore {
        id,
        status,
        detail: err.to_string(),
    }
}

/// An artifact row with its decoded content when `postprocess=true` asked for it.
#[derive(Serialize)]
struct ArtifactWithContent {
    #[serde(flatten)]
    row: UiArtifact,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postprocess_error: Option<ArtifactError>,
}

/// What the datastore needs to find an artifact row's blob.
pub fn artifact_ref(row: &UiArtifact) -> ArtifactRef {
    ArtifactRef {
        flow: row.flow_id.clone(),
        name: row.name.clone(),
        location: row.location.clone(),
        sha: row.sha.clone().unwrap_or_default(),
    }
}

/// An artifact listing (run, step or task); `postprocess=true` adds each one's content.
pub async fn artifacts(
    state: &UiState,
    request: &Request,
    run: &RunRow,
    scope: TaskScope<'_>,
) -> Answer {
    let q = grammar::query(request, Limits::LIST, &[])?;
    let rows = state.store.ui_artifacts(run, scope, &q).await?;
    if !grammar::flag(request, "postprocess") {
        return Ok(listed(request, &q, rows));
    }
    let datastore = datastore(state)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let artifact = artifact_ref(&row);
        let (content, postprocess_error) = match datastore.artifact_content(&artifact).await {
            Ok(text) => (Some(text), None),
            Err(e) => (None, Some(e)),
        };
        out.push(ArtifactWithContent {
            row,
            content,
            postprocess_error,
        });
    }
    Ok(listed(request, &q, out))
}

/// The latest attempt's artifacts of the run's `_parameters` step.
async fn parameter_artifacts(state: &UiState, run: &RunRow) -> Result<Vec<ArtifactRef>, UiError> {
    let scope = TaskScope {
        step_name: Some("_parameters"),
        task_id: None,
    };
    let mut q = UiQuery::first(grammar::MAX_LIMIT);
    q.order = vec![UiOrder {
        column: "attempt_id".into(),
        ascending: false,
    }];
    let rows = state.store.ui_artifacts(run, scope, &q).await?;
    let latest = rows.first().map(|r| (r.task_id, r.attempt_id));
    Ok(rows
        .into_iter()
        .filter(|r| Some((r.task_id, r.attempt_id)) == latest)
        .map(|r| artifact_ref(&r))
        .collect())
}

async fn parameters(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let datastore = datastore(&state)?;
    let artifacts = parameter_artifacts(&state, &run).await?;
    let values = datastore.parameters(&artifacts).await;
    let wrapped: serde_json::Map<String, serde_json::Value> = values
        .into_iter()
        .map(|(name, value)| {
            let mut entry = serde_json::Map::new();
            entry.insert("value".into(), value);
            (name, serde_json::Value::Object(entry))
        })
        .collect();
    Ok(envelope::single(&request, wrapped))
}

async fn dag(
    State(state): State<UiState>,
    Path((flow_id, run)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let run = paths::run(&state, &flow_id, &run).await?;
    let datastore = datastore(&state)?;
    let graph = parameter_artifacts(&state, &run)
        .await?
        .into_iter()
        .find(|a| a.name == "_graph_info")
        .ok_or(UiError::NotFound)?;
    let dag = datastore
        .dag(&graph)
        .await
        .map_err(|e| failed("DAGParsingFailed", e))?;
    Ok(envelope::single(&request, dag))
}

/// A task's datastore location and path, and the attempt asked for (else its latest).
async fn locate(
    state: &UiState,
    params: &(String, String, String, String),
    request: &Request,
) -> Result<(DatastoreRoot, TaskPath, u32, RunRow, TaskRow), UiError> {
    let (flow_id, run_key, step, task_key) = params;
    let (run, task) = paths::task(state, flow_id, run_key, step, task_key).await?;
    let attempt = match request.get("attempt_id").filter(|v| !v.is_empty()) {
        Some(v) => v.parse::<u32>().map_err(|_| {
            UiError::BadRequest(format!("attempt_id must be a small integer, not {v:?}"))
        })?,
        None => latest_attempt(state, &run, &task).await?,
    };
    let found = state
        .store
        .ui_task_datastore(&run, step, task.task_id)
        .await?;
    let root = datastore(state)?
        .root_for(found.ds_type.as_deref(), found.ds_root.as_deref())
        .ok_or_else(|| UiError::Datastore {
            id: "log-error",
            status: StatusCode::NOT_FOUND,
            detail: "the task's datastore root is unknown".into(),
        })?;
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
    Ok((root, path, attempt, run, task))
}

async fn latest_attempt(state: &UiState, run: &RunRow, task: &TaskRow) -> Result<u32, UiError> {
    let scope = TaskScope {
        step_name: Some(&task.step_name),
        task_id: Some(task.task_id),
    };
    let mut q = UiQuery::first(1);
    q.order = vec![UiOrder {
        column: "attempt_id".into(),
        ascending: false,
    }];
    let rows = state.store.ui_tasks(run, scope, &q).await?;
    Ok(rows
        .first()
        .map(|r| u32::try_from(r.attempt_id).unwrap_or(0))
        .unwrap_or(0))
}

async fn logs(
    state: UiState,
    params: (String, String, String, String),
    request: Request,
    stream: LogStream,
) -> Answer {
    let limit = grammar::limit(&request, LOG_LIMITS)?;
    let page = grammar::page(&request)?;
    let order = match request.get("_order") {
        Some(o) if o.starts_with('-') => LogOrder::Descending,
        _ => LogOrder::Ascending,
    };
    let (root, path, attempt, ..) = locate(&state, &params, &request).await?;
    let log = datastore(&state)?
        .log_page(
            &root,
            &path,
            attempt,
            stream,
            LogPageRequest {
                page: u64::from(page),
                limit: u64::from(limit),
                order,
            },
        )
        .await
        .map_err(|e| failed("log-error", e))?;
    let pages = log.total_rows.div_ceil(u64::from(limit)).max(1);
    Ok(envelope::list(
        &request,
        Listing {
            full: u64::from(page) < pages,
            data: log.lines,
            page: u64::from(page),
            last: Some(pages),
        },
    ))
}

async fn logs_out(
    State(state): State<UiState>,
    Path(p): TaskPathParams,
    request: Request,
) -> Answer {
    logs(state, p, request, LogStream::Stdout).await
}

async fn logs_err(
    State(state): State<UiState>,
    Path(p): TaskPathParams,
    request: Request,
) -> Answer {
    logs(state, p, request, LogStream::Stderr).await
}

async fn download(
    state: UiState,
    params: (String, String, String, String),
    request: Request,
    stream: LogStream,
) -> Answer {
    let (root, path, attempt, ..) = locate(&state, &params, &request).await?;
    let bytes = datastore(&state)?
        .log_download(&root, &path, attempt, stream)
        .await
        .map_err(|e| failed("log-error", e))?;
    let name = format!(
        "{}_{}_{}_{}_{}-{attempt}.txt",
        stream.name(),
        path.flow,
        path.run,
        path.step,
        path.task
    )
    .replace(['"', '\\', '\r', '\n'], "_");
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(bytes),
    )
        .into_response())
}

async fn download_out(
    State(state): State<UiState>,
    Path(p): TaskPathParams,
    request: Request,
) -> Answer {
    download(state, p, request, LogStream::Stdout).await
}

async fn download_err(
    State(state): State<UiState>,
    Path(p): TaskPathParams,
    request: Request,
) -> Answer {
    download(state, p, request, LogStream::Stderr).await
}

async fn cards(State(state): State<UiState>, Path(p): TaskPathParams, request: Request) -> Answer {
    let (root, path, ..) = locate(&state, &p, &request).await?;
    let cards = datastore(&state)?
        .cards(&root, &path)
        .await
        .map_err(|e| failed("card-error", e))?;
    let q = grammar::query(&request, LOG_LIMITS, &["attempt_id"])?;
    // Like logs, a card list knows its page count (§2), so `last` is set.
    let pages = (cards.len() as u64).div_ceil(u64::from(q.limit)).max(1);
    let start = (q.page as usize - 1).saturating_mul(q.limit as usize);
    let page: Vec<_> = cards
        .into_iter()
        .skip(start)
        .take(q.limit as usize)
        .collect();
    Ok(envelope::list(
        &request,
        Listing {
            full: u64::from(q.page) < pages,
            data: page,
            page: u64::from(q.page),
            last: Some(pages),
        },
    ))
}

async fn card_html(
    State(state): State<UiState>,
    Path((flow, run, step, task, hash)): Path<(String, String, String, String, String)>,
    request: Request,
) -> Answer {
    let (root, path, ..) = locate(&state, &(flow, run, step, task), &request).await?;
    let html = datastore(&state)?
        .card_html(&root, &path, &hash)
        .await
        .map_err(|e| failed("card-error", e))?
        .ok_or(UiError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

async fn card_data(
    State(state): State<UiState>,
    Path((flow, run, step, task, hash)): Path<(String, String, String, String, String)>,
    request: Request,
) -> Answer {
    let (root, path, ..) = locate(&state, &(flow, run, step, task), &request).await?;
    let data = datastore(&state)?
        .card_data(&root, &path, &hash)
        .await
        .map_err(|e| failed("card-error", e))?
        .ok_or(UiError::NotFound)?;
    Ok(axum::Json(data).into_response())
}
