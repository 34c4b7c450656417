//! Path ids → rows. Routes under a run look the run up first (numeric segments by number,
//! others by string id, spec 2.5), so children are then queried by the integer key alone;
//! heartbeats and batch posts read their task by id and check the path on the row.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use mfstack_store::{RunKey, RunRow, TaskKey, TaskRow};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::extract::check_name;

/// Path parameters, with a JSON 400 when a segment cannot be decoded.
pub struct Ids<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(v) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ServiceError::BadRequest(format!("invalid path: {}", e.body_text())))?;
        Ok(Ids(v))
    }
}

/// The run named by `flow_id` and a run path segment.
pub async fn run(state: &AppState, flow_id: &str, run: &str) -> ApiResult<Option<RunRow>> {
    check_name("flow name", flow_id)?;
    check_name("run id", run)?;
    Ok(state.store.get_run(flow_id, &RunKey::parse(run)).await?)
}

/// The task named by a task path, for a request that needs the task row alone (heartbeats and
/// batch posts, what a large step sends most). With numeric run and task segments the task is
/// read by id and checked against the path: one read where [`task`] makes two.
pub async fn task_only(
    state: &AppState,
    flow_id: &str,
    run_seg: &str,
    step_name: &str,
    task_seg: &str,
) -> ApiResult<Option<TaskRow>> {
    let (RunKey::Number(run_number), TaskKey::Number(task_id)) =
        (RunKey::parse(run_seg), TaskKey::parse(task_seg))
    else {
        return Ok(task(state, flow_id, run_seg, step_name, task_seg)
            .await?
            .map(|(_, t)| t));
    };
    check_name("flow name", flow_id)?;
    check_name("step name", step_name)?;
    let found = state.store.get_task_by_id(task_id).await?;
    Ok(found.filter(|t| t.is_of(flow_id, run_number, step_name)))
}

/// The run and task named by a task path.
pub async fn task(
    state: &AppState,
    flow_id: &str,
    run_seg: &str,
    step_name: &str,
    task_seg: &str,
) -> ApiResult<Option<(RunRow, TaskRow)>> {
    check_name("step name", step_name)?;
    check_name("task id", task_seg)?;
    let Some(run) = run(state, flow_id, run_seg).await? else {
        return Ok(None);
    };
    let task = state
        .store
        .get_task(&run, step_name, &TaskKey::parse(task_seg))
        .await?;
    Ok(task.map(|t| (run, t)))
}
