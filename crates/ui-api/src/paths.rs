//! Path keys (§3): run and task segments resolved to rows, 404 when absent.

use mfstack_store::{RunKey, RunRow, TaskKey, TaskRow};

use crate::UiState;
use crate::error::UiError;

pub async fn run(state: &UiState, flow_id: &str, run: &str) -> Result<RunRow, UiError> {
    state
        .store
        .get_run(flow_id, &RunKey::parse(run))
        .await?
        .ok_or(UiError::NotFound)
}

pub async fn task(
    state: &UiState,
    flow_id: &str,
    run_key: &str,
    step: &str,
    task: &str,
) -> Result<(RunRow, TaskRow), UiError> {
    let run = run(state, flow_id, run_key).await?;
    let task = state
        .store
        .get_task(&run, step, &TaskKey::parse(task))
        .await?
        .ok_or(UiError::NotFound)?;
    Ok((run, task))
}
