//! Path ids → rows. Every route under a run looks the run up first (numeric segments by number,
//! others by string id, spec 2.5), so children are then queried by the integer key alone.

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
